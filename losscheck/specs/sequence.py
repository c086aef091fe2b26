"""Specs for the sequence losses: ctc (Connectionist Temporal Classification, torch's CTCLoss)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losscheck.references import sequence as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.specs.regression import REDUCTION
from losscheck.judge.strategies import batch_size, log_probabilities, size
from losscheck.diagnosis.variants import Variant, call

MAX_LABEL = 3


def _frames_needed(label) -> int:
    """The fewest frames an alignment of `label` needs: one per label, plus a blank between repeats."""
    return len(label) + int(np.sum(label[1:] == label[:-1])) if len(label) else 0


def _pack(labels, target_format, batched, c, draw):
    """Targets in the drawn format: padded (N, S) (S >= 1; entries past a length are arbitrary classes, which
    torch ignores) or concatenated 1-D; unbatched targets are (S,) either way."""
    if not batched:
        return labels[0]
    if target_format == "concatenated":
        return np.concatenate(labels).astype(np.int64)
    width = max(1, max(len(lab) for lab in labels))
    padded = draw(hnp.arrays(np.int64, (len(labels), width), elements=st.integers(0, c - 1)), label="padding")
    for n, lab in enumerate(labels):
        padded[n, :len(lab)] = lab
    return padded


def draw_ctc(draw, *, layout, target_format, scale, params):
    """(log_probs (T, N, C) or (T, C), targets, input_lengths, target_lengths): normalised log-probabilities,
    labels of length 0..3 over the classes other than blank, and input lengths long enough for an alignment
    (a target no alignment fits gives an infinite loss: an edge case, not a drawn one)."""
    blank = int(params.get("blank", 0))
    c = size(draw, "C", max(2, blank + 1), max(2, blank + 1) + 3)
    batched = layout != "no_batch"
    n = batch_size(draw, layout) if batched else 1
    classes = [k for k in range(c) if k != blank]
    labels = [np.asarray(draw(st.lists(st.sampled_from(classes), max_size=MAX_LABEL), label="label"), dtype=np.int64)
              for _ in range(n)]
    needed = [_frames_needed(lab) for lab in labels]
    t = size(draw, "T", max(1, *needed), max(1, *needed) + 3)
    input_lengths = np.array([draw(st.integers(max(1, k), t), label="input length") for k in needed], dtype=np.int64)
    target_lengths = np.array([len(lab) for lab in labels], dtype=np.int64)
    log_probs = log_probabilities(draw, (t, n, c) if batched else (t, c), axis=-1, scale=scale, label="log_probs")
    targets = _pack(labels, target_format, batched, c, draw)
    if not batched:
        return log_probs, targets, input_lengths[0], target_lengths[0]
    return log_probs, targets, input_lengths, target_lengths


def ctc_edges():
    """Padded targets, blank = 0 (the default)."""
    rng = np.random.default_rng(0)
    lp = np.log(rng.dirichlet(np.ones(4), size=(5, 3)))
    extreme = np.log(np.clip(rng.dirichlet(np.full(4, 0.05), size=(5, 3)), 1e-300, None))
    extreme -= np.logaddexp.reduce(extreme, axis=-1, keepdims=True)
    return [("targets of length 0", (lp, np.zeros((3, 1), dtype=np.int64), np.array([5, 2, 1]), np.zeros(3, np.int64))),
            ("too few frames (infinite loss)", (lp, np.array([[1, 1, 1], [1, 2, 3], [2, 0, 0]]),
                                                 np.array([5, 2, 1]), np.array([3, 3, 1]))),
            ("near-certain frames", (extreme, np.array([[1, 2, 0], [3, 3, 0], [2, 0, 0]]), np.array([5, 4, 3]),
                                     np.array([2, 2, 1])))]


class _ProjectLogSimplex:
    """The part of a log_probs gradient along normalised log-probabilities: g - p·Σ_c g (the log_softmax backward).

    torch's CTC backward returns exp(log_probs) - occupancy, the gradient with respect to the logits behind a
    log_softmax, which differs from the gradient with respect to log_probs by p·1 (invisible after log_softmax).
    Both agree on every direction that keeps the log-probabilities normalised, which is what is compared.
    `source` is the same projection as torch code, for the reproducer.
    """

    def __call__(self, grad, case):
        p = np.exp(np.asarray(case.inputs[0], dtype=np.float64))
        return grad - p * np.sum(grad, axis=-1, keepdims=True)

    @staticmethod
    def source(grad: str, x: str) -> str:
        return f"{grad} - {x}.exp() * {grad}.sum(-1, keepdim=True)"


def _mean_without_lengths(r, case):
    if case.params["reduction"] != "mean":
        raise ValueError("defined for 'mean'")
    return np.asarray(reduce(call(r, case, reduction="none"), "mean"))


CTC_VARIANTS = (
    Variant("'mean' not divided by target lengths", "averages the per-sample losses over the batch without first "
            "dividing each by its target length (CTCLoss's 'mean' divides by the target lengths)",
            "use reduction='mean' of CTCLoss, or (loss / target_lengths.clamp(min=1)).mean()", _mean_without_lengths),
)


SPECS = [
    LossSpec(
        id="ctc", family="sequence", summary="-log Σ over alignments (forward algorithm); 'mean' divides by target "
        "lengths", naming=Naming(("ctc", "connectionist")), signature=("log_probs", "targets", "input_lengths", "target_lengths"), reference=ref.ctc,
        params=(Param("blank", 0), REDUCTION, Param("zero_infinity", False, values=(False, True))),
        draw_inputs=draw_ctc, layouts=("batch", "single", "no_batch"), target_formats=("padded", "concatenated"),
        grad_args=(0,), target_arg=1, edge_cases=ctc_edges, variants=CTC_VARIANTS, batch_axes=(1, 0, 0, 0),
        grad_projection={0: _ProjectLogSimplex()},
        torch=("torch.nn.CTCLoss", "torch.nn.functional.ctc_loss")),
]
