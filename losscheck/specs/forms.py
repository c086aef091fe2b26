"""Call forms: the same loss called with other arguments, e.g. NT-Xent as `loss(embeddings, labels)`.

pytorch-metric-learning's `NTXentLoss` takes both views concatenated, `embeddings` (2N, D), with `labels`
`arange(N)` twice: the two rows of a pair share a label. Called that way it is exactly symmetric NT-Xent. A
`Form` says how to turn the catalogue's inputs into the form's arguments and back; `derive` builds the LossSpec of
that form from the catalogue's, so its reference, draws, edge cases, variants and conventions are the catalogue's
ones seen through the conversion, and every check (values, gradients, devices, ddp, reproducers) reads the
derived spec's signature without knowing about forms. Conventions are keyword options of the reference, so the
derived reference follows them as it is. `choose` picks the form the candidate's own argument names
ask for (the audit cannot tell a label tensor from a second view by calling).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from losscheck.diagnosis.variants import Variant


@dataclass(frozen=True)
class Form:
    signature: tuple          # the candidate's arguments in this form
    names: tuple              # argument names that ask for it (each position: accepted names)
    to_form: Callable         # catalogue inputs -> form inputs
    to_catalogue: Callable    # form inputs -> catalogue inputs
    grad_args: tuple
    target_arg: int | None
    says: str


def views_with_labels() -> Form:
    """(z_i, z_j) <-> (embeddings = [z_i; z_j], labels = [0..N-1, 0..N-1]) (pytorch-metric-learning NTXentLoss)."""
    def to_form(inputs):
        z_i, z_j = inputs
        labels = np.arange(z_i.shape[0], dtype=np.int64)
        return np.concatenate([z_i, z_j], axis=0), np.concatenate([labels, labels])

    def to_catalogue(inputs):
        embeddings, labels = inputs
        n = embeddings.shape[0] // 2
        expected = np.concatenate([np.arange(n), np.arange(n)])
        if embeddings.shape[0] != 2 * n or not np.array_equal(np.asarray(labels), expected):
            raise ValueError("info_nce (embeddings, labels): the views concatenated, labels arange(N) twice")
        return embeddings[:n], embeddings[n:]

    return Form(("embeddings", "labels"), (("embeddings", "emb"), ("labels",)), to_form, to_catalogue,
                grad_args=(0,), target_arg=1, says="both views concatenated, labels arange(N) twice")


def choose(spec, candidate):
    """The form of `spec` the candidate's argument names ask for, else the spec itself."""
    takes = list(candidate.call_arguments() or ())
    for form in spec.forms:
        if len(takes) >= len(form.names) and all(t in names for t, names in zip(takes, form.names)):
            return derive(spec, form)
    return spec


def derive(spec, form: Form):
    """The LossSpec of `spec` called in `form`."""
    def reference(*inputs, **params):
        return spec.reference(*form.to_catalogue(inputs), **params)
    reference.__name__, reference.__module__ = spec.reference.__name__, spec.reference.__module__

    def draw_inputs(draw, **kwargs):
        return form.to_form(spec.draw_inputs(draw, **kwargs))

    edges = None if spec.edge_cases is None else \
        (lambda: [(label, form.to_form(inputs)) for label, inputs in spec.edge_cases()])
    items = None if spec.mean_items is None else \
        (lambda inputs, params: spec.mean_items(form.to_catalogue(inputs), params))
    return replace(spec, signature=form.signature, reference=reference, draw_inputs=draw_inputs, edge_cases=edges,
                   mean_items=items,
                   grad_args=form.grad_args, target_arg=form.target_arg, batch_axes=None, grad_projection={},
                   summary=f"{spec.summary}; called as loss({', '.join(form.signature)}): {form.says}",
                   variants=tuple(_variant_in_form(v, form) for v in spec.variants), forms=())


def _in_catalogue(form, compute):
    """A (reference, case) -> value of the catalogue's inputs, as one of the form's."""
    def wrapped(ref, case):
        def catalogue_ref(*inputs, **params):
            return ref(*form.to_form(inputs), **params)
        return compute(catalogue_ref, case.with_inputs(form.to_catalogue(case.inputs)))
    return wrapped


def _variant_in_form(v: Variant, form) -> Variant:
    fit = None if v.fit is None else \
        (lambda ref, case, got: _in_catalogue(form, lambda r, c: v.fit(r, c, got))(ref, case))
    return replace(v, compute=_in_catalogue(form, v.compute), fit=fit)

