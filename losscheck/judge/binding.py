"""Binding a candidate's parameters to the reference's: names, aliases, defaults and what may be explored.

For every reference parameter the binding knows the candidate's name for it (if the candidate takes it),
the value in force when the audit does not set it (the candidate's own default, `--init`, an attribute of
a default instance, else the reference default), and whether the audit may vary it. It is the parameter map
only, made once and never changed: what the audit learns as it runs is losscheck.judge.state.AuditState.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from losscheck.suspect.candidate import Candidate
from losscheck.specs.base import LossSpec


# A candidate parameter of one of these names that the reference lacks fixes the size of dim 1 of the inputs, C, as
# the candidate was built for it: a class count (a forum `LabelSmoothingLoss(classes=3)`) or an image loss's channel
# count (pytorch_msssim's `SSIM(channel=3)`, whose Gaussian window is made per channel). The inputs are drawn at it.
CLASS_COUNTS = ("classes", "num_classes", "n_classes", "nclasses", "nclass", "num_class", "n_class", "class_num",
                "classes_num", "n_cls", "num_cls")
CHANNEL_COUNTS = ("channel", "channels", "num_channels", "n_channels", "in_channels", "in_chans", "nchannels")


@dataclass
class Binding:
    """The map from the reference's parameters to the candidate's (`spec` is the spec it was bound to)."""

    spec: LossSpec
    candidate: Candidate
    names: dict[str, str] = field(default_factory=dict)      # reference name -> candidate name
    defaults: dict[str, Any] = field(default_factory=dict)   # reference name -> value in force
    explorable: list[str] = field(default_factory=list)      # reference names the audit varies
    unmapped: list[str] = field(default_factory=list)        # candidate parameters the reference lacks
    conventions_from: dict = field(default_factory=dict)  # candidate parameter -> the convention it declares
    sizes: dict = field(default_factory=dict)  # dimension -> the size the candidate was built for ({"C": 3})
    sizes_from: dict = field(default_factory=dict)  # dimension -> the candidate parameter that fixes it
    # candidate names passed at every call, whatever their value: a module's forward arguments without a default
    # (open_clip ClipLoss's logit_scale), which the caller must always give
    at_call: list = field(default_factory=list)
    # reference name -> {reference value: the candidate's word for it} where the candidate spells a value its own
    # way (Param.spellings: torchmetrics' reduction "elementwise_mean"); defaults hold the reference's word
    spelled: dict = field(default_factory=dict)

    def candidate_kwargs(self, params: dict, convert) -> dict:
        """Keyword arguments, in the candidate's names, for the parameters that differ from its defaults.

        `convert` turns array-valued (tensor) parameters into tensors of the dtype and device under test.
        """
        out = {}
        for ref_name, cand_name in self.names.items():
            value = params.get(ref_name)
            if cand_name not in self.at_call and (ref_name not in self.explorable
                                                  or _same(value, self.defaults.get(ref_name))):
                continue
            param = self.spec.param(ref_name)
            if isinstance(value, str):
                value = self.spelled.get(ref_name, {}).get(value, value)
            out[cand_name] = convert(value) if param.tensor and value is not None else value
            for twin in param.linked:
                if twin in self.candidate.parameters:
                    out[twin] = value
        return out

    def taken(self, params: dict) -> dict:
        """Those of a case's parameters the candidate takes, in its own names (what a finding's example lists)."""
        return {cand_name: params[ref_name] for ref_name, cand_name in self.names.items() if ref_name in params}

    def gives(self, name: str, value) -> bool:
        """Whether the candidate is given reference parameter `name` at `value`: by --init, by a default of its own
        (not None), or as a value the audit explores and passes (a parameter map's `beta or 1-alpha` reads it)."""
        cand = self.names.get(name)
        if cand is None:
            return False
        if cand in self.candidate.init or self.candidate.parameters.get(cand) is not None:
            return True
        return name in self.explorable and not _same(value, self.defaults.get(name))

    def renamed(self, renames: dict) -> Binding:
        """This binding with each reference parameter of `renames` bound to the candidate parameter named there (a
        parameter map's `label_smoothing=epsilon`): its value in force is the candidate's, explored unless --init
        sets it."""
        out = replace(self, names=dict(self.names), defaults=dict(self.defaults), explorable=list(self.explorable),
                      unmapped=[u for u in self.unmapped if u not in renames.values()])
        for ref_name, cand_name in renames.items():
            out.names[ref_name] = cand_name
            out.defaults[ref_name] = self.candidate.init.get(cand_name, self.candidate.parameters.get(cand_name))
            if cand_name not in self.candidate.init and self.spec.param(ref_name).values:
                out.explorable.append(ref_name)
        return out

    def explored(self, params: dict) -> list:
        """[(name, value)] of a case's parameters that are values the audit explored rather than the candidate's own
        (the reduction, which checks choose on purpose, tensor parameters and those that follow the input are
        left out)."""
        return [(name, params[name]) for name in self.explorable if name != "reduction" and name in params
                and not self.spec.param(name).tensor and self.spec.param(name).follows is None
                and not _same(params[name], self.defaults.get(name))]

    def explored_note(self, params: dict) -> str:
        """"at smooth=1.0 (explored; your configuration uses 0.0): " when a case's parameters are values the audit
        explored rather than the candidate's own (see `explored`)."""
        changed = self.explored(params)
        if not changed:
            return ""
        at = ", ".join(f"{name}={value!r}" for name, value in changed)
        uses = ", ".join(f"{self.defaults.get(name)!r}" for name, _ in changed)
        return f"at {at} (explored; your configuration uses {uses}): "

    def describe(self) -> dict:
        return {"bound": dict(self.names), "defaults": {k: _json_value(v) for k, v in self.defaults.items()},
                "explored": list(self.explorable), "unmapped": list(self.unmapped),
                "conventions_from": dict(self.conventions_from),
                "fixed_by_init": sorted(self.candidate.init),
                "sizes": {dim: f"{self.sizes_from[dim]}={n}" for dim, n in self.sizes.items()}}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b) if not hasattr(a, "shape") else False
    except (TypeError, ValueError):
        return False


def _json_value(v):
    if hasattr(v, "tolist"):
        return v.tolist()
    return v if isinstance(v, (int, float, str, bool, type(None), list, dict)) else repr(v)


def bind(spec: LossSpec, cand: Candidate, conventions_from: dict | None = None) -> Binding:
    """The binding of `cand` to `spec`; `conventions_from` ({parameter: (convention, option)}, see
    losscheck.diagnosis.conventions.implied) names candidate parameters that declare a convention rather than go unmapped."""
    conventions_from = conventions_from or {}
    b = Binding(spec, cand, conventions_from={p: f"{c}={o}" for p, (c, o) in conventions_from.items()})
    taken = set()
    for p in spec.params:
        name = next((n for n in p.names if n in cand.parameters), None)
        init_name = next((n for n in p.names if n in cand.init), None)
        if init_name is not None:
            value = cand.init[init_name]
            b.defaults[p.name] = _array(value) if p.tensor and value is not None else value
            if name is None:
                name = init_name
        elif name is not None and cand.parameters[name] is not None:
            b.defaults[p.name] = cand.parameters[name]
        elif name is not None and p.none_value is not None:
            b.defaults[p.name] = p.none_value
        else:
            attr = next((v for v in (cand.attribute(n) for n in p.names) if v is not None and not p.tensor), None)
            b.defaults[p.name] = p.default if attr is None or hasattr(attr, "shape") else attr
        word = b.defaults[p.name]
        reference_word = dict(p.spellings).get(word) if isinstance(word, str) else None
        if reference_word is not None:  # the candidate's own word for a value: the reference's in force, its for calls
            b.defaults[p.name] = reference_word
            b.spelled[p.name] = {reference_word: word}
        if name is not None:
            b.names[p.name] = name
            taken.add(name)
            if cand.kind == "class" and cand.parameters.get(name, 0) is None and name in cand.call_arguments():
                b.at_call.append(name)
            if init_name is None and (p.values or p.tensor or p.follows):
                b.explorable.append(p.name)
    b.unmapped = sorted(set(cand.parameters) - taken - set(conventions_from))
    for name in b.unmapped:
        value = cand.init[name] if name in cand.init else cand.attribute(name) if cand.kind == "instance" else None
        value = value if isinstance(value, int) else cand.parameters.get(name)
        if name.lower() in CLASS_COUNTS + CHANNEL_COUNTS and isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            b.sizes["C"], b.sizes_from["C"] = value, name
            break
    return b


def _array(value):
    return np.asarray(value, dtype=np.float64)
