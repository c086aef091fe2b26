"""An input the candidate takes as a list of chunks: logits (B, T, V) split along T, as memory-saving language-model
code passes them (a chunked cross entropy that sums `F.cross_entropy(chunk.reshape(-1, V), ...)` over the pieces
`hidden.split(chunk_size, dim=1)` gives, then divides by the kept tokens of the whole batch).

A convention option says so (losscheck.diagnosis.conventions.Option.chunked, e.g. cross_entropy's
class_axis=last_chunked); the spec in force then carries a `Chunked`: which input is chunked and along which axis.
The judge keeps the whole array in the case (the reference computes on it, its gradient is on it) and the case
carries that Chunked with the chunk lengths drawn for it (Case.chunked, `draw_chunks`), so a case says how its
inputs were handed over even after the audit moves to another domain. A call hands the candidate views of the
whole tensor (`as_called`), so autograd gathers the gradient of every chunk back into the whole tensor's .grad,
which the checks compare with the reference's gradient on the whole tensor. The wire carries the list as a list of
tensors (losscheck.suspect.wire), and the worker differentiates with respect to each chunk.

The lengths are those `torch.split(logits, size, dim=1)` gives: every chunk `size` long and the last one shorter
where `size` does not divide T, from chunks of one token (size 1) to a single chunk (size >= T).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from hypothesis import strategies as st


@dataclass(frozen=True)
class Chunked:
    """The candidate takes input `arg` as a list of chunks along `axis`, of `lengths` (a case's draw; () in a spec).
    Only an input with an axis after that one (the classes of (B, T, V)) has a T to cut; any other (an (N, C) draw)
    reaches the candidate as a list of one."""

    arg: int = 0
    axis: int = 1
    lengths: tuple = ()

    def cuts(self, a) -> bool:
        """Whether input `a` (an array or a tensor) has a T axis to cut."""
        return a.ndim > self.axis + 1

    def lengths_of(self, a) -> tuple:
        """The chunk lengths for input `a`: the drawn ones, or two halves where a check changed T (the drawn ones no
        longer add up to it); () where `a` has no T (one chunk, the whole input)."""
        if not self.cuts(a):
            return ()
        length = a.shape[self.axis]
        if self.lengths and sum(self.lengths) == length:
            return tuple(self.lengths)
        return split_lengths(length, max((length + 1) // 2, 1))


def split_lengths(length: int, size: int) -> tuple:
    """The chunk lengths of torch.split(x, size, dim) on an axis of `length`: `size` each, the last one shorter
    where `size` does not divide `length` (one empty chunk for an empty axis, as torch gives)."""
    if length == 0:
        return (0,)
    return tuple(min(size, length - start) for start in range(0, length, size))


def draw_chunks(draw, chunked: Chunked | None, inputs) -> Chunked | None:
    """A drawn case's Chunked (None when the spec takes no input in chunks): a chunk size from 1 to T + 1, so a
    single chunk, chunks of one token, equal chunks and a shorter last one are all drawn."""
    if chunked is None or not chunked.cuts(inputs[chunked.arg]):
        return chunked
    length = inputs[chunked.arg].shape[chunked.axis]
    return replace(chunked, lengths=split_lengths(length, draw(st.integers(1, max(length, 1) + 1), label="chunk size")))


def as_called(chunked: Chunked | None, tensors) -> list:
    """The arguments as the candidate takes them: the chunked tensor replaced by a list of its views (so its .grad
    gathers every chunk's gradient); the others as they are."""
    args = list(tensors)
    if chunked is None:
        return args
    whole = args[chunked.arg]
    cut = chunked.lengths_of(whole)
    args[chunked.arg] = list(whole.split(list(cut), dim=chunked.axis)) if cut else [whole]
    return args


def listed(chunked: Chunked | None, arrays) -> tuple:
    """`as_called` on arrays: the chunked input as a list of arrays (a finding's example shows what the candidate
    received; the fake-CUDA check sends their shapes)."""
    out = list(arrays)
    if chunked is None:
        return tuple(out)
    whole = np.asarray(out[chunked.arg])
    cut = chunked.lengths_of(whole)
    out[chunked.arg] = np.split(whole, np.cumsum(cut)[:-1], axis=chunked.axis) if cut else [whole]
    return tuple(out)


def reproducer_lines(chunked: Chunked | None, signature, inputs) -> str:
    """The reproducer's lines that call the loss as the audit did: `loss_fn` rebound to take the whole tensor and
    hand the candidate the list of its chunks (views, so `<name>.grad` holds every chunk's gradient); "" when
    nothing is chunked. Three lines: a gallery report fits one screen."""
    if chunked is None:
        return ""
    name = signature[chunked.arg]
    cut = chunked.lengths_of(np.asarray(inputs[chunked.arg]))
    pieces = f"list({name}.split({list(cut)}, dim={chunked.axis}))" if cut else f"[{name}]"
    args = ", ".join(pieces if i == chunked.arg else n for i, n in enumerate(signature))
    return "\n".join([
        f"# the loss takes `{name}` as a list of chunks along dim {chunked.axis}, views of it: {name}.grad gathers theirs",
        "chunked_loss = loss_fn",
        f"loss_fn = lambda {', '.join(signature)}: chunked_loss({args})  # noqa: E731"])
