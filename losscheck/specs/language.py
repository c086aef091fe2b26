"""Specs for the language-model family: z_loss, kd (knowledge distillation), dpo (preference optimisation), simpo
and orpo (reference-free preference losses) and causal_lm (next-token cross-entropy).

simpo and orpo are ids of their own, not dpo conventions: they take two inputs (the policy's length-normalised
log-probabilities of the chosen and rejected answers), not dpo's four, as TRL's CPOTrainer.cpo_loss and
ORPOTrainer.odds_ratio_loss do, and their formulas are not dpo's at any parameter value (SimPO's margin γ, ORPO's
odds instead of probabilities).

Two input contracts of these losses are call forms (losscheck.specs.forms), chosen by the candidate's argument
names, because no call can tell them apart: a causal LM loss that takes its labels already shifted computes
exactly what an unshifted (defective) one computes on the model's own labels, and a distillation loss that
takes hard labels is called with a third tensor.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_expit, logsumexp, softmax, xlogy

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, call, replace_input, scaled, with_params
from losscheck.judge.strategies import batch_size, class_indices, floats, logits, size
from losscheck.references import language as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import REDUCTION_SPELLINGS, REDUCTIONS, LossSpec, Naming, Param
from losscheck.specs.classification import IGNORE_INDEX, mean_per_sequence
from losscheck.specs.forms import Form
from losscheck.specs.regression import REDUCTION

# kd's 'mean' is the KL per sample, torch's kl_div(reduction='batchmean'): a distillation loss that says
# 'batchmean' (torchdistill's KDLoss) means it
KD_REDUCTION = Param("reduction", "mean", values=REDUCTIONS, spellings=(*REDUCTION_SPELLINGS, ("batchmean", "mean")))


# -- z_loss -------------------------------------------------------------------------------------------------------
def draw_z_logits(draw, *, layout, target_format, scale, params):
    """(logits,): (N, V) or (B, T, V) tokens in a batch, (1, V) for one sample, (V,) without a batch axis."""
    v = size(draw, "V", 2, 6)
    if layout == "no_batch":
        shape = (v,)
    elif layout == "single":
        shape = (1, v)
    else:
        tokens = draw(st.sampled_from([(), (size(draw, "T", 1, 4),)]), label="token axis")
        shape = (batch_size(draw, layout), *tokens, v)
    return (logits(draw, shape, scale, label="logits"),)


def z_edges():
    """log Z at 1e4 (a naive exp overflows), at about 0 (uniform logits), and at -1e4."""
    x = np.array([[1e4, -1e4, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0], [-1e4, -1e4, -1e4, -1e4]])
    return [("extreme logits", (x,))]


def _z_over_batch_axis(r, case):
    x = np.asarray(case.inputs[0])
    if x.ndim < 2:
        raise ValueError("needs a batch axis")
    per_class = case.params["coef"] * logsumexp(x, axis=0) ** 2
    return np.asarray(reduce(per_class, case.params["reduction"]))


def _z_not_squared(r, case):
    lz = logsumexp(np.asarray(case.inputs[0]), axis=-1)
    return np.asarray(reduce(case.params["coef"] * lz, case.params["reduction"]))


Z_VARIANTS = (
    Variant("normaliser over the batch axis", "takes logsumexp over the batch axis (dim 0) instead of the "
            "vocabulary axis (dim -1): the wrong normaliser", "logsumexp(logits, dim=-1)", _z_over_batch_axis),
    Variant("log Z not squared", "uses coef · log Z instead of coef · (log Z)² (the penalty can go negative and "
            "pushes log Z to -inf)", "square it: coef * torch.logsumexp(logits, -1).pow(2)", _z_not_squared),
)


# -- kd -----------------------------------------------------------------------------------------------------------
def draw_kd(draw, *, layout, target_format, scale, params):
    """(student_logits, teacher_logits): (N, C) each, N = 1 for a single sample."""
    shape = (batch_size(draw, layout), size(draw, "C", 2, 5))
    return logits(draw, shape, scale, label="student_logits"), logits(draw, shape, scale, label="teacher_logits")


def kd_edges():
    """A saturated teacher (a one-hot soft target: 0 · log 0 terms) and student, and equal logits (KL = 0)."""
    hot = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])
    return [("saturated teacher and student", (hot[::-1].copy(), hot)), ("student equals teacher", (hot, hot))]


def _kd_teacher_only(r, case):
    """The student's logits not divided by T: the loss divides them itself, so scale them up by T first."""
    return call(r, replace_input(case, 0, np.asarray(case.inputs[0]) * case.params["temperature"]))


def _kd_swapped(r, case):
    s, t, *rest = case.inputs
    return call(r, case.with_inputs((t, s, *rest)))


def _kd_student_probabilities(r, case):
    """kl_div(softmax(s/T), softmax(t/T)): the student's probabilities where kl_div expects log-probabilities."""
    s, t = np.asarray(case.inputs[0]), np.asarray(case.inputs[1])
    temperature = case.params["temperature"]
    p = softmax(t / temperature, axis=-1)
    values = temperature ** 2 * np.sum(xlogy(p, p) - p * softmax(s / temperature, axis=-1), axis=-1)
    return np.asarray(reduce(values, case.params["reduction"]))


KD_VARIANTS = (
    scaled("no T² factor", "omits the T² factor, so the soft-target gradients shrink as 1/T² when T grows",
           "multiply the KL term by T * T", lambda p: 1.0 / p["temperature"] ** 2),
    Variant("temperature on the teacher only", "softens the teacher with T but not the student "
            "(log_softmax(student) instead of log_softmax(student / T))", "divide both logits by T",
            _kd_teacher_only),
    Variant("KL direction swapped", "computes KL(student ‖ teacher) instead of KL(teacher ‖ student)",
            "F.kl_div(F.log_softmax(student / T, -1), F.softmax(teacher / T, -1), reduction='batchmean')",
            _kd_swapped),
    Variant("softmax instead of log_softmax for the student", "passes the student's probabilities to kl_div, "
            "which expects log-probabilities", "use F.log_softmax(student / T, dim=-1) as kl_div's input",
            _kd_student_probabilities),
)

KD_CONVENTIONS = (
    Convention("normalise", "batch", {
        "batch": Option("averages the KL over the samples (kl_div reduction='batchmean')",
                        "Hinton et al.; the PyTorch Knowledge Distillation Tutorial"),
        "elements": Option("averages over every element (kl_div reduction='mean'), dividing the KL per sample by "
                           "the number of classes", "many distillation repositories",
                           {"normalise": "elements"})}),
    Convention("mix", "none", {
        "none": Option("is the soft-target term alone"),
        "alpha": Option("mixes in the student's hard-label cross-entropy: alpha · T² · KL + (1 - alpha) · CE",
                        "Hinton et al. section 2; torchdistill KDLoss; the PyTorch tutorial", {"mix": "alpha"})}),
    Convention("form", "kl", {
        "kl": Option("is the KL divergence from the teacher's softened distribution", "torch kl_div; torchdistill"),
        "cross_entropy": Option("is the soft-target cross entropy -Σ p·log q: the KL plus the teacher's entropy, a "
                                "constant in the student (the student's gradient is the same)",
                                "Hinton et al. section 2; torchtune ForwardKLLoss", {"form": "cross_entropy"})}),
)

STUDENT_NAMES = ("student_logits", "student", "logits_student", "s_logits", "student_outputs", "y_s", "outputs",
                 "input", "logits")
TEACHER_NAMES = ("teacher_logits", "teacher", "logits_teacher", "t_logits", "teacher_outputs", "y_t", "target")


def with_hard_labels() -> Form:
    """(student, teacher) <-> (student, teacher, labels): a distillation loss that also takes the hard labels
    (the teacher's argmax here: the catalogue's draws hold none)."""
    def to_form(inputs):
        s, t = inputs[0], inputs[1]
        return s, t, np.argmax(t, axis=-1).astype(np.int64)

    return Form(("student_logits", "teacher_logits", "labels"),
                (STUDENT_NAMES, TEACHER_NAMES, ("labels", "targets", "target", "y", "hard_labels", "true_labels")),
                to_form, tuple, grad_args=(0,), target_arg=2, says="the hard labels third (the teacher's argmax)")


# -- dpo ----------------------------------------------------------------------------------------------------------
def draw_dpo(draw, *, layout, target_format, scale, params):
    """(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps): (N,)
    summed log-probabilities in [-50, 0]; at the extreme scale up to -5e4 (margins where σ underflows)."""
    n = batch_size(draw, layout)
    factor = draw(st.sampled_from([10.0, 100.0, 1e3]), label="extreme_factor") if scale == "extreme" else 1.0
    return tuple(floats(draw, (n,), 0.0, label=name, min_value=-50.0) * factor
                 for name in ("policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps",
                              "reference_rejected_logps"))


def dpo_edges():
    """Policy equal to the reference (h = 0, loss log 2) and margins of ±2e4 (log σ(β h) underflows to -inf
    when written as log(sigmoid(.)))."""
    same = np.array([-12.5, -3.0, -40.0])
    zero, far = np.array([0.0, -1e4]), np.array([-1e4, 0.0])
    return [("policy equals reference", (same, same[::-1].copy(), same, same[::-1].copy())),
            ("large margins", (zero, far, far, zero))]


def _dpo_swap(i, j, k=None, m=None):
    def compute(r, case):
        inputs = list(case.inputs)
        for a, b in ((i, j), (k, m)):
            if a is not None:
                inputs[a], inputs[b] = inputs[b], inputs[a]
        return call(r, case.with_inputs(inputs))
    return compute


def _dpo_log_of_sigmoid(r, case):
    """-log(sigmoid(β h)) as float32 computes it: sigmoid underflows to 0 below β·h ≈ -103 and the loss is inf
    there (the defect shows in the dtype people train in; float64 would hide it up to β·h ≈ -745)."""
    if case.params.get("loss_type", "sigmoid") != "sigmoid" or case.params.get("reference_free"):
        raise ValueError("defined for the sigmoid loss with a reference")
    pc, pr, rc, rr = (np.asarray(a, dtype=np.float32) for a in case.inputs)
    x = np.float32(case.params["beta"]) * ((pc - pr) - (rc - rr))
    smoothing = case.params["label_smoothing"]
    with np.errstate(over="ignore", divide="ignore"):
        values = (-(1 - smoothing) * np.log(np.float32(1) / (1 + np.exp(-x)))
                  - smoothing * np.log(np.float32(1) / (1 + np.exp(x))))
    return np.asarray(reduce(values.astype(np.float64), case.params["reduction"]))


DPO_VARIANTS = (
    Variant("reference log-ratio with the wrong sign", "adds the reference model's log-ratio instead of "
            "subtracting it: (π_c - π_r) + (ρ_c - ρ_r)", "logits = (pi_chosen - pi_rejected) - (ref_chosen - "
            "ref_rejected)", _dpo_swap(2, 3)),
    Variant("chosen and rejected swapped", "swaps the chosen and the rejected answers, so it prefers the "
            "rejected one", "policy_chosen_logps first, policy_rejected_logps second (and the same for the "
            "reference)", _dpo_swap(0, 1, 2, 3)),
    with_params("beta applied twice", "multiplies the log-ratio by β twice (β² h)", "apply beta once",
                beta=lambda p: p["beta"] ** 2),
    Variant("log(sigmoid) instead of logsigmoid", "computes log(sigmoid(β h)), which is -inf once sigmoid "
            "underflows to 0 (β h below about -100 in float32): the loss is inf at large margins",
            "use F.logsigmoid(beta * h)", _dpo_log_of_sigmoid),
)

DPO_CONVENTIONS = (
    Convention("loss_type", "sigmoid", {
        "sigmoid": Option("is DPO's -log σ(β h)", "TRL loss_type='sigmoid'"),
        "ipo": Option("is IPO's (h - 1/(2β))²", "TRL loss_type='ipo'", {"loss_type": "ipo"}),
        "hinge": Option("is the hinge max(0, 1 - β h) (SLiC)", "TRL loss_type='hinge'", {"loss_type": "hinge"}),
        "robust": Option("is robust DPO's (-(1 - ε) log σ(β h) + ε log σ(-β h)) / (1 - 2ε), ε the label smoothing",
                         "TRL loss_type='robust'", {"loss_type": "robust"})}),
    Convention("reference_free", "no", {
        "no": Option("subtracts the reference model's log-ratio"),
        "yes": Option("ignores the reference model (an implicit uniform reference)", "TRL reference_free=True",
                      {"reference_free": True})}),
)


# -- simpo, orpo --------------------------------------------------------------------------------------------------
def draw_preference_pair(draw, *, layout, target_format, scale, params):
    """(policy_chosen_logps, policy_rejected_logps): (N,) length-normalised (per-token average) log-probabilities
    in [-8, -2⁻¹³]; at the extreme scale multiplied up to 1e3 (log σ's argument far below -100)."""
    n = batch_size(draw, layout)
    factor = draw(st.sampled_from([10.0, 100.0, 1e3]), label="extreme_factor") if scale == "extreme" else 1.0
    return tuple(floats(draw, (n,), -2.0 ** -13, label=name, min_value=-8.0) * factor
                 for name in ("policy_chosen_logps", "policy_rejected_logps"))


def pair_edges():
    """Equal answers (the loss at zero margin), margins of ±5e3, and log-probabilities next to 0 (an answer of
    probability 1 - 1e-9: log(1 - exp(x)) written naively is log 0 in float32)."""
    near_one, far = np.array([-1e-9, -5e3, -2.0]), np.array([-5e3, -1e-9, -2.0])
    return [("equal answers", (far, far.copy())), ("large margins, probabilities near 1", (near_one, far))]


def _margin_sign(r, case):
    return call(r, case, gamma_beta_ratio=-case.params["gamma_beta_ratio"])


def _pair_swapped(r, case):
    return call(r, case.with_inputs(case.inputs[::-1]))


def _probability_ratio(r, case):
    """log σ(π_c - π_r): the log-probability ratio where ORPO takes the log-odds ratio (no log(1 - p) terms)."""
    pc, pr = (np.asarray(a) for a in case.inputs)
    values = -case.params["beta"] * log_expit(pc - pr)
    return np.asarray(reduce(values, case.params["reduction"]))


SWAPPED = Variant("chosen and rejected swapped", "swaps the chosen and the rejected answers, so it prefers the "
                  "rejected one", "policy_chosen_logps first, policy_rejected_logps second", _pair_swapped)
# log(sigmoid(.)) for logsigmoid is no variant of simpo or orpo: on length-normalised log-probabilities their
# arguments stay far above float32's underflow (about -103) except at the extreme inputs, where stability.extremes
# reports the inf (LC201) without a name.

SIMPO_VARIANTS = (
    Variant("margin with the wrong sign", "adds the target margin γ instead of subtracting it: β (π_c - π_r) + γ",
            "logits = beta * (pi_chosen - pi_rejected) - gamma, gamma = beta * gamma_beta_ratio", _margin_sign),
    SWAPPED,
    with_params("no target margin", "leaves out the target reward margin γ (plain reference-free DPO on "
                "average log-probabilities)", "subtract gamma = beta * gamma_beta_ratio from the scaled log-ratio",
                gamma_beta_ratio=lambda p: 0.0),
)

ORPO_VARIANTS = (
    Variant("probability ratio instead of odds ratio", "uses the log-probability ratio π_c - π_r where ORPO takes "
            "the log-odds ratio (the log(1 - p) terms left out)", "log_odds = (pc - pr) - (log1mexp(pc) - "
            "log1mexp(pr)), log1mexp(x) = log(1 - exp(x))", _probability_ratio),
    SWAPPED,
)

PAIR_SIGNATURE = ("policy_chosen_logps", "policy_rejected_logps")


# -- causal_lm ----------------------------------------------------------------------------------------------------
def draw_causal_lm(draw, *, layout, target_format, scale, params):
    """(logits (B, T, V), labels (B, T)): token ids with ignore_index (-100) at masked or padded positions, at
    least one position after the first kept (so the mean over the kept tokens is defined)."""
    b = batch_size(draw, layout)
    t, v = size(draw, "T", 2, 5), size(draw, "V", 2, 5)
    labels = class_indices(draw, (b, t), v, label="labels")
    padded = draw(hnp.arrays(np.bool_, (b, t)), label="padding")
    padded[0, 1] = False
    labels[padded] = int(params.get("ignore_index", IGNORE_INDEX))
    return logits(draw, (b, t, v), scale, label="logits"), labels


def causal_lm_edges():
    """Extreme logits with whole padded sequences but one, and every label kept."""
    x = np.array([[[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 1e4]],
                  [[100.0, 0.0, -100.0], [5.0, -5.0, 0.0], [0.0, 1e4, 0.0]]])
    return [("extreme logits, one sequence all padding", (x, np.array([[0, 1, 2], [1, -100, -100]]))),
            ("extreme logits, every label kept", (x, np.array([[0, 2, 0], [1, 0, 1]])))]


def _shift_labels(labels, ignore_index):
    shifted = np.full_like(labels, ignore_index)
    shifted[:, :-1] = labels[:, 1:]
    return shifted


def _shifted_twice(r, case):
    labels = np.asarray(case.inputs[1])
    return call(r, replace_input(case, 1, _shift_labels(labels, case.params["ignore_index"])))


def _padding_counted(r, case):
    if case.params["reduction"] != "mean":
        raise ValueError("defined for 'mean'")
    values = call(r, case, reduction="none")
    return np.asarray(values.sum() / max(values.size, 1))


def _mean_per_sequence(r, case):
    if case.params["reduction"] != "mean" or case.params.get("num_items_in_batch") is not None:
        raise ValueError("defined for 'mean' over the kept tokens")
    return mean_per_sequence(call(r, case, reduction="none"),
                             np.asarray(case.inputs[1])[:, 1:] != case.params["ignore_index"])


def _per_micro_batch_mean(r, case):
    if case.params["reduction"] != "mean" or case.params.get("num_items_in_batch") is None:
        raise ValueError("defined for 'mean' given num_items_in_batch")
    return call(r, case, num_items_in_batch=None)


CAUSAL_LM_VARIANTS = (
    with_params("unshifted", "compares the logits at position t with the label at t instead of t + 1 (no "
                "shift), so it learns to copy its input", "logits[:, :-1] against labels[:, 1:]; if your labels "
                "come already shifted, name the argument shift_labels", shift=lambda p: False),
    Variant("shifted twice", "shifts the labels although they were already shifted once (logits at t against the "
            "label at t + 2)", "shift once: logits[:, :-1] against labels[:, 1:]", _shifted_twice),
    Variant("padding counted", "masks the ignored (-100) tokens out of the sum but divides by every position",
            "divide by the number of kept tokens ((labels != -100).sum()), or by num_items_in_batch",
            _padding_counted),
    Variant("mean per sequence then over sequences", "averages each sequence's tokens, then the sequences, so "
            "a short sequence's tokens weigh more than a long one's", "sum over every kept token of the batch and "
            "divide by their count", _mean_per_sequence),
    Variant("per-micro-batch mean", "takes num_items_in_batch and ignores it: it divides by the kept tokens of the "
            "micro-batch it is given, so gradient accumulation over unevenly padded micro-batches is not the large "
            "batch's mean (the trainers' 2024 accumulation bug; reduction.accumulation shows it, LC406)",
            "when num_items_in_batch is given, sum the token losses (reduction='sum') and divide by it",
            _per_micro_batch_mean),
)

def kept_tokens(inputs, params):
    """`mean_items` of causal_lm: 1 per predicted token whose label (labels[:, 1:]) is kept, 0 where it is
    ignore_index; their sum is the count transformers passes as num_items_in_batch."""
    return (np.asarray(inputs[1])[:, 1:] != params.get("ignore_index", IGNORE_INDEX)).astype(np.float64)


def _last_dim(inputs) -> int:
    """The vocabulary size: the logits' last dimension."""
    return int(np.shape(inputs[0])[-1])


SHIFTED_NAMES = ("shift_labels", "shifted_labels", "labels_shifted", "next_labels", "next_tokens")


def labels_already_shifted() -> Form:
    """(logits, labels) <-> (logits, shift_labels): labels already aligned with the logits (the label at t is the
    token after t; the last is ignore_index), as transformers' `shift_labels=` and training scripts that shift in
    the data collator pass them."""
    def to_form(inputs):
        x, labels = inputs
        return x, _shift_labels(np.asarray(labels), IGNORE_INDEX)

    def to_catalogue(inputs):
        x, shifted = inputs
        labels = np.full_like(np.asarray(shifted), IGNORE_INDEX)
        labels[:, 1:] = np.asarray(shifted)[:, :-1]
        return x, labels

    return Form(("logits", "shift_labels"), (("logits", "lm_logits", "shift_logits", "input", "outputs"),
                                             SHIFTED_NAMES),
                to_form, to_catalogue, grad_args=(0,), target_arg=1, says="labels already shifted")


SPECS = [
    LossSpec(
        id="z_loss", family="language", summary="coef · (log Z)², log Z = logsumexp over the vocabulary; mean over "
        "tokens (PaLM)", naming=Naming(("z loss", "zloss"), standalone=("z_loss", "zloss")),
        signature=("logits",), reference=ref.z_loss,
        params=(Param("coef", 1e-4, ("z_loss", "z_loss_coef", "z_loss_weight", "weight", "alpha", "coefficient"),
                      (1e-4, 1.0)), REDUCTION),
        draw_inputs=draw_z_logits, layouts=("batch", "single", "no_batch"), target_arg=None, edge_cases=z_edges,
        variants=Z_VARIANTS),
    LossSpec(
        id="kd", family="language", summary="T² · KL(softmax(t/T) ‖ softmax(s/T)), mean over samples (Hinton)",
        naming=Naming(("distill", "kd", "knowledge distillation", "soft target")),
        signature=("student_logits", "teacher_logits"), reference=ref.kd,
        params=(Param("temperature", 1.0, ("T", "temp", "tau", "kd_temperature"), (1.0, 2.0, 4.0)), KD_REDUCTION,
                Param("alpha", 0.5, ("kd_alpha", "soft_weight"), (0.5, 0.9))),
        draw_inputs=draw_kd, layouts=("batch", "single"), grad_args=(0,), target_arg=None, edge_cases=kd_edges,
        variants=KD_VARIANTS, conventions=KD_CONVENTIONS, forms=(with_hard_labels(),)),
    LossSpec(
        id="dpo", family="language", summary="-log σ(β((π_c - π_r) - (ρ_c - ρ_r))), mean over pairs (Rafailov et "
        "al.)", naming=Naming(("dpo", "direct preference", "preference optim"), standalone=("dpo",)),
        signature=("policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps",
                   "reference_rejected_logps"), reference=ref.dpo,
        params=(Param("beta", 0.1, ("b",), (0.1, 0.5, 2.0)),
                Param("label_smoothing", 0.0, ("smoothing", "eps"), (0.0, 0.1, 0.3)), REDUCTION),
        draw_inputs=draw_dpo, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None, edge_cases=dpo_edges,
        variants=DPO_VARIANTS, conventions=DPO_CONVENTIONS,
        convention_params={"loss_type": ("loss_type", {"sigmoid": "sigmoid", "ipo": "ipo", "hinge": "hinge",
                                                         "robust": "robust"}),
                           "reference_free": ("reference_free", {False: "no", True: "yes"})}),
    LossSpec(
        id="simpo", family="language", summary="-log σ(β (π_c - π_r) - γ), γ = β · gamma_beta_ratio, π length-"
        "normalised log-probabilities; mean over pairs (Meng et al.)",
        naming=Naming(("simpo", "simple preference"), standalone=("simpo",)),
        signature=PAIR_SIGNATURE, reference=ref.simpo,
        params=(Param("beta", 2.0, ("b",), (2.0, 0.5, 10.0)),
                Param("gamma_beta_ratio", 0.5, ("gamma_ratio", "ratio"), (0.5, 0.0, 1.5)),
                Param("label_smoothing", 0.0, ("smoothing", "eps"), (0.0, 0.1)), REDUCTION),
        draw_inputs=draw_preference_pair, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=pair_edges, variants=SIMPO_VARIANTS),
    LossSpec(
        id="orpo", family="language", summary="ORPO's odds-ratio term -β log σ(log odds_c - log odds_r), odds of "
        "length-normalised log-probabilities; mean over pairs (Hong et al.)",
        naming=Naming(("orpo", "odds ratio"), standalone=("orpo",)),
        signature=PAIR_SIGNATURE, reference=ref.orpo,
        params=(Param("beta", 0.1, ("lambda_", "lam", "orpo_alpha", "alpha"), (0.1, 1.0)), REDUCTION),
        draw_inputs=draw_preference_pair, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=pair_edges, variants=ORPO_VARIANTS),
    LossSpec(
        id="causal_lm", family="language", summary="next-token cross-entropy: logits[:, :-1] against labels[:, 1:], "
        "mean over the kept (≠ -100) tokens or / num_items_in_batch",
        naming=Naming(("causal lm", "causallm", "language model", "next token", "lm loss", "lmloss")),
        signature=("logits", "labels"), reference=ref.causal_lm,
        params=(Param("ignore_index", IGNORE_INDEX), Param("num_items_in_batch", None, ("num_items",), (None, 7)),
                REDUCTION, Param("vocab_size", None, ("num_classes", "n_vocab"), follows=_last_dim)),
        draw_inputs=draw_causal_lm, layouts=("batch", "single"), target_formats=("indices",), grad_args=(0,),
        target_arg=1, edge_cases=causal_lm_edges, variants=CAUSAL_LM_VARIANTS, forms=(labels_already_shifted(),),
        mean_items=kept_tokens, padded=True),
]
