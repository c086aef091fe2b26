"""The run state of one audit: what the judge has established about the candidate so far, in one object (as
hypothesis keeps a run's state behind one build context).

Made once per audit (`AuditState.begin`), read by every check through its Context, and written only where a fact
is established, each fact in one field:
  * the spec in force: the catalogue's spec in its call form (`base_spec`) under the conventions `declared` (by
    the user, `--convention`, over those the candidate's own settings imply) and `detected` (LC103, found by
    value.reference, which calls `adopt`). Declared and detected conventions are merged here and nowhere else
    (`fixed`); a declared value wins.
  * the probe's record (api.call, checks/probe.py): the layouts and target formats the candidate accepts, what
    each try gave (`probed`), the layouts the user declares it takes (`declared_layouts`, each then required),
    and the one-line reason to stop (`unusable`) when it accepts nothing.
  * the diagnosis (value.reference, losscheck.diagnosis.explain): the variant that explains its disagreement,
    against which stability's remarks are judged.
The binding (losscheck.judge.binding) is the parameter map, made at the start (`catalogue_binding`); a convention
changes the reference, not the parameters, except a parameter map (convention `params`, losscheck.diagnosis.maps):
the reference is evaluated under it, and a parameter it renames is bound to the candidate's name (`binding`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from losscheck.diagnosis import maps
from losscheck.diagnosis.conventions import declare, implied
from losscheck.errors import UsageError
from losscheck.judge.binding import Binding, bind

if TYPE_CHECKING:
    from losscheck.diagnosis.variants import Variant
    from losscheck.specs.base import LossSpec
    from losscheck.suspect.candidate import Candidate


@dataclass
class AuditState:
    base_spec: LossSpec   # the catalogue's spec in its call form, before any convention
    binding: Binding      # the parameter map in force (the catalogue's, renamed by a declared or detected map)
    declared: dict = field(default_factory=dict)   # convention -> value: by the user, over the candidate's settings
    declared_layouts: tuple = ()   # layouts the user relies on (--layout, config `layouts`): each one required
    detected: dict = field(default_factory=dict)   # convention -> value the candidate was found to follow (LC103)
    spec: LossSpec = field(init=False)          # the spec in force: base_spec under `fixed`
    conventions: dict = field(init=False)       # every convention's value in force (declared, detected, default)
    layouts: tuple = ()          # the layouts the candidate accepts, in the spec's order (the api.call probe)
    target_formats: tuple = ()   # the target formats it accepts in the first of them
    probed: dict = field(default_factory=dict)  # layout -> {format: "accepted" or what the call raised}
    unusable: str | None = None  # why the audit stops (exit 2): the candidate accepts none of the inputs
    refused: dict = field(default_factory=dict)  # parameter -> values the candidate refuses (raises at): not drawn
    none_form: str | None = None  # the form of its reduction='none' where not the reference's (judge/none_forms.py)
    diagnosed: Variant | None = None  # what explains the value check's disagreement (a defect, another id's loss)
    catalogue_binding: Binding = field(init=False)   # the binding made at the start, before any parameter map

    def __post_init__(self):
        self.catalogue_binding = self.binding
        self._settle()
        unknown = [layout for layout in self.declared_layouts if layout not in self.base_spec.layouts]
        if unknown:
            raise UsageError(f"--layout {unknown[0]}: {self.base_spec.id} has no such layout "
                             f"(its layouts: {', '.join(self.base_spec.layouts)})")

    @classmethod
    def begin(cls, base_spec: LossSpec, candidate: Candidate, conventions: dict | None = None,
              layouts=()) -> AuditState:
        """The state before any check: `conventions` declared by the user over those the candidate's own settings
        imply (MONAI's softmax=True declares activation=softmax), `layouts` the user declares it takes."""
        by_params = implied(base_spec, candidate)
        declared = {**{convention: option for convention, option in by_params.values()}, **(conventions or {})}
        return cls(base_spec, bind(base_spec, candidate, by_params), declared, tuple(layouts))

    @property
    def fixed(self) -> dict:
        """The conventions that are settled, detected and declared merged (a declared value wins): what the spec in
        force follows, and what diagnosis leaves alone."""
        return {**self.detected, **self.declared}

    def adopt(self, found) -> bool:
        """Audit the remaining checks under conventions the candidate was found to follow (LC103): `found` are
        (convention, value) pairs; True when one of them was not detected before (the spec in force changed)."""
        new = {name: value for name, value in found if name not in self.detected}
        if not new:
            return False
        self.detected = {**self.detected, **new}
        self._settle()
        return True

    def revert(self, detected: dict) -> None:
        """Back to an earlier record of detected conventions: the probe tries an input domain (adopt) and leaves it
        when the candidate does not take it there either."""
        self.detected = dict(detected)
        self._settle()

    def _settle(self) -> None:
        """The spec in force, the conventions' values and the binding, from the conventions `fixed`: a parameter map
        among them renames the binding's parameters and maps the reference's (losscheck.diagnosis.maps)."""
        fixed = dict(self.fixed)
        text = fixed.pop(maps.CONVENTION, None)
        self.spec, self.conventions = declare(self.base_spec, fixed)
        self.binding = self.catalogue_binding
        if text is not None:
            pmap = maps.from_text(text, self.base_spec, self.catalogue_binding)
            self.binding = self.catalogue_binding.renamed(pmap.renames(self.base_spec))
            self.spec = replace(self.spec, reference=pmap.reference(self.spec.reference, self.binding))
            self.conventions[maps.CONVENTION] = str(pmap)

    def layout_order(self) -> tuple:
        """The spec's layouts with the accepted ones first: the first is the audit's default layout. Where every
        layout reaches the candidate in one form (LossSpec.one_form: the class-last domain's token sequences), the
        accepted ones it must take come first: the multi-token sequences, which alone hold padding and several
        chunks (the one-token ones are target.shapes' edge layouts)."""
        accepted = self.layouts
        if self.spec.one_form:
            accepted = (*(x for x in accepted if x in self.spec.required),
                        *(x for x in accepted if x not in self.spec.required))
        return (*accepted, *(x for x in self.spec.layouts if x not in accepted))
