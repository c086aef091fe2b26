"""LossSpec: everything the audit needs to know about one catalogue id.

A spec binds a reference function (losscheck.references) to its signature, parameters (with the names
candidates commonly use for them), input domains (a hypothesis draw function per layout, target format and
scale), forced edge values, torch counterparts, and every other fact of the loss another module needs (the
words of class names that mean it, its LC606 advice). Adding a loss is adding a reference and a LossSpec (the
README's "Adding a loss" lists the tests that go with them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

REDUCTIONS = ("none", "mean", "sum")
# Other libraries' words for a reduction: (candidate value, the reference's) pairs (torchmetrics' "elementwise_mean")
REDUCTION_SPELLINGS = (("elementwise_mean", "mean"),)

# Layouts a spec may admit; the first one a spec lists is its default.
LAYOUTS = {
    "batch": "a batch (N >= 2)",
    "single": "a batch of one (N = 1)",
    "no_batch": "no batch dimension",
    "spatial2d": "2-D spatial inputs (N, C, H, W)",
    "spatial3d": "3-D spatial inputs (N, C, D, H, W)",
}
UNBATCHED = ("single", "no_batch")  # layouts that hold one sample: no loss is used on those alone


@dataclass(frozen=True)
class Param:
    """A reference parameter: its default, the names candidates use for it, and the values to explore.

    `values` are the representative values the audit draws (with the candidate's own default first);
    `tensor` marks parameters that are tensors built from the drawn inputs (class weights, pos_weight);
    `linked` names candidate parameters that must receive the same value (MONAI's smooth_nr and smooth_dr);
    `none_value` is what a candidate default of None means (focal alpha=None: no alpha weighting);
    `follows` reads the value from the drawn inputs (inputs -> value) for a parameter a user never chooses
    (transformers' `vocab_size` is the logits' last dimension): always passed, never explored;
    `spellings` pairs a library's word for a value with the reference's (torchmetrics' reduction "elementwise_mean" is
    "mean"): a candidate that uses one is handed its own word for every value the audit sets.
    """

    name: str
    default: Any
    aliases: tuple[str, ...] = ()
    values: tuple = ()
    tensor: bool = False
    linked: tuple[str, ...] = ()
    none_value: Any = None
    follows: Callable | None = None
    spellings: tuple = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Naming:
    """The words of class and function names that name a loss, for `losscheck init` (tables/guessing.py).

    Each string of `words` holds words that must all occur in the name ("focal multi"); `also` are names that
    more likely mean another id but may mean this one (listed after the ids they name); `standalone` are
    lower-case names the loss goes by without the word "loss" (infonce, ntxent): `init` discovers classes and
    functions so named as losses.
    """

    words: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    standalone: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advice:
    """What the audit tells the user beyond the verdict.

    `reduction_notes`: reduction value -> pitfall code when the candidate uses it by default (KLDiv's 'mean');
    `batch_overlap`: for a loss that is one ratio over the whole batch, LC606's advice under --ddp
    (losscheck/ddp/advice.py): (what it is, the sums to all-reduce before dividing).
    """

    reduction_notes: dict = field(default_factory=dict)
    batch_overlap: tuple[str, str] | None = None


@dataclass(frozen=True)
class LossSpec:
    """One catalogue id, its fields grouped by the audience that reads them: the maths (every check), the
    inputs (strategies and the probe), diagnosis (variants and conventions), `naming` (`losscheck init`) and
    `advice` (messages)."""

    # -- the maths: what the loss is
    id: str
    family: str
    summary: str
    signature: tuple[str, ...]
    reference: Callable
    params: tuple[Param, ...]
    # -- the inputs: how cases are drawn and shown to the candidate
    draw_inputs: Callable  # (draw, *, layout, target_format, scale, params) -> tuple of float64/int64 ndarrays
    layouts: tuple[str, ...] = ("batch", "single")
    # The layouts of which a candidate must take at least one (a loss that raises on all of them is broken); the
    # others are optional: rejecting one is the loss's own contract (info). Default: every batched layout.
    required_layouts: tuple[str, ...] | None = None
    target_formats: tuple[str, ...] = ("default",)
    grad_args: tuple[int, ...] = (0,)
    target_arg: int | None = 1
    edge_cases: Callable | None = None  # () -> list[(label, inputs)] in the default layout
    tensor_params: dict = field(default_factory=dict)  # name -> (draw, inputs) -> ndarray
    torch: tuple[str, ...] = ()
    elementwise: bool = False
    # Target formats the candidate sees differently from the reference: target format -> (inputs -> candidate
    # inputs), e.g. a one-hot target shown to the candidate as a (N, 1, H, W) index map. The reference keeps the
    # canonical form.
    target_views: dict = field(default_factory=dict)
    # The input the candidate takes as a list of chunks along T, and that axis (losscheck.judge.chunks.Chunked), set
    # by a convention option that says so (Option.chunked: cross_entropy's class_axis=last_chunked); None: tensors.
    chunked: Any = None
    # Every layout reaches the candidate in one form (set by an input domain, Option.one_form): the probe judges a
    # layout that disagrees by its values, never as a contract the candidate does not keep.
    one_form: bool = False
    batch_axes: tuple | None = None  # per input: its batch axis, None if not batched (default: axis 0 of every input)
    # For a loss whose 'mean' is over items that can be masked or unevenly spread over a batch (targets kept by
    # ignore_index, class-weighted targets, a language model's kept tokens): (inputs, params) -> one weight per
    # item (0 where ignored), whose sum is the mean's denominator, e.g. the kept-token count a trainer passes as
    # num_items_in_batch. None: the mean is over a fixed number of elements per sample, so the mean of equal
    # micro-batches' means is the batch's mean (reduction.accumulation stays quiet).
    mean_items: Callable | None = None
    # Its inputs hold ignored targets by definition (a language model's padding, ignore_index in every draw): a check
    # that cuts the batch (reduction.accumulation) concentrates them in one part without the user setting
    # ignore_index, as it does for a cross-entropy only when --init sets it.
    padded: bool = False
    # input index -> a projection (grad, case) -> grad on the input's domain, whose `source(grad, x)` is the same as
    # torch code (the reproducer prints the projected gradients the check compared)
    grad_projection: dict = field(default_factory=dict)
    # A term the definition holds constant in its gradient (CIoU's α, computed under no_grad): (case) -> reference
    # keyword arguments fixing it at the case's inputs, passed while the gradient check differentiates the reference.
    stop_gradient: Callable | None = None
    forms: tuple = ()  # other call forms of the same loss (losscheck.specs.forms.Form), chosen by argument names
    # -- diagnosis: known mistakes and legitimate differences
    variants: tuple = ()  # known mistakes (losscheck.diagnosis.variants.Variant), tried on a mismatch
    # True when accepting only some target formats is a convention (dice: index maps or one-hot), not a defect.
    formats_are_conventions: bool = False
    conventions: tuple = ()  # losscheck.diagnosis.conventions.Convention: legitimate differences, declared by the user
    # Library parameters that declare a convention: candidate parameter -> (convention, {value: option}), e.g.
    # MONAI's softmax=True is activation=softmax. Read from the candidate's settings, never guessed.
    convention_params: dict = field(default_factory=dict)
    # -- naming (`losscheck init`) and advice (messages)
    naming: Naming = Naming()
    advice: Advice = Advice()

    def candidate_inputs(self, case) -> tuple:
        """The inputs as the candidate receives them (a target view applied), the reference keeps case.inputs."""
        view = self.target_views.get(case.target_format)
        return tuple(view(case.inputs)) if view else case.inputs

    @property
    def required(self) -> tuple:
        """The layouts of which a candidate must take at least one (`required_layouts`, else the batched ones)."""
        if self.required_layouts is not None:
            return self.required_layouts
        return tuple(layout for layout in self.layouts if layout not in UNBATCHED) or self.layouts[:1]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def reductions(self) -> tuple:
        p = self.param("reduction")
        return p.values if p else ()
