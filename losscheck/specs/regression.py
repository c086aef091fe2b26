"""Specs for the regression losses of the catalogue: mse, l1, smooth_l1, huber, log_cosh, poisson_nll,
gaussian_nll and asymmetric_mse."""
import numpy as np
from hypothesis import strategies as st

from losscheck.references import regression as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import REDUCTION_SPELLINGS, REDUCTIONS, LossSpec, Naming, Param
from losscheck.judge.strategies import batch_size, floats, size, spatial
from losscheck.diagnosis.variants import Variant, call, replace_input, scaled

ELEMENTWISE_LAYOUTS = ("batch", "single", "no_batch", "spatial2d")
REDUCTION = Param("reduction", "mean", values=REDUCTIONS, spellings=REDUCTION_SPELLINGS)


def elementwise_shape(draw, layout):
    if layout == "no_batch":
        return (size(draw, "D", 1, 4),)
    if layout.startswith("spatial"):
        return (batch_size(draw, "batch"), size(draw, "C", 1, 3), *spatial(draw, layout))
    return (batch_size(draw, layout), size(draw, "D", 1, 4))


def draw_pair(draw, *, layout, target_format, scale, params):
    """(input, target): two real arrays of one shape; 'extreme' puts errors up to 1e4."""
    shape = elementwise_shape(draw, layout)
    bound = 5.0 if scale == "normal" else 1e4
    return floats(draw, shape, bound, label="input"), floats(draw, shape, bound, label="target")


def regression_edges():
    """Zero error everywhere, large errors of both signs (overflow of naive cosh / squares in half)."""
    x = np.array([[0.0, 1.0, -2.0], [3.0, 0.5, -0.5]])
    big = np.array([[100.0, -100.0, 1e3], [-1e3, 1e4, 0.0]])
    return [
        ("zero error", (x, x.copy())),
        ("large errors", (big, np.zeros_like(big))),
        ("kink at |d| = 1", (np.array([[1.0, -1.0, 0.5]]), np.zeros((1, 3)))),
    ]


def regression_spec(id, summary, reference, *params, naming, torch=(), variants=(), draw_inputs=draw_pair,
                    edge_cases=regression_edges):
    return LossSpec(
        id=id, family="regression", summary=summary, signature=("input", "target"), reference=reference, naming=naming,
        params=(*params, REDUCTION), draw_inputs=draw_inputs, layouts=ELEMENTWISE_LAYOUTS,
        grad_args=(0,), edge_cases=edge_cases, torch=torch, elementwise=True, variants=variants)


def counts(draw, shape, scale, label="target"):
    """Poisson targets: non-negative counts (integers, or any non-negative real half the time).

    Counts stay below 100 at the extreme scale too: with `full`, y·log(x) and Stirling's y·log(y) cancel, and
    at counts of 1e4 one float32 rounding of those ~1e5 terms (0.008) already exceeds the extreme tolerance
    on a loss of ~6 (rounding of the documented formula, not a defect; the extreme rates are the point here).
    """
    bound = 10.0 if scale == "normal" else 100.0
    y = floats(draw, shape, bound, label=label, min_value=0.0)
    return np.round(y) if draw(st.booleans(), label="integer counts") else y


def draw_poisson(draw, *, layout, target_format, scale, params):
    """(input, target): log-rates (log_input) or rates >= 0, and counts. Extreme log-rates stop at 80 so that
    exp(input) stays finite in float32 (above that the true loss itself does not fit)."""
    shape = elementwise_shape(draw, layout)
    if params.get("log_input", True):
        x = floats(draw, shape, 5.0, label="input") if scale == "normal" else \
            floats(draw, shape, 1e4, label="input", min_value=-1e4).clip(max=80.0)
    else:
        x = floats(draw, shape, 10.0 if scale == "normal" else 1e4, label="input", min_value=0.0)
    return x, counts(draw, shape, scale)


def poisson_edges():
    """Valid both as log-rates and as rates: zero rate with positive counts, large counts, exp(80)."""
    x = np.array([[0.0, 1e-6, 50.0, 80.0, 0.5]])
    return [("zero counts and a zero rate", (x, np.zeros_like(x))),
            ("large counts (Stirling term)", (x, np.array([[5.0, 1.0, 1e3, 3.0, 2.0]])))]


GAUSSIAN_VAR_SHAPES = ("same", "one fewer dim", "last dim 1")


def draw_gaussian(draw, *, layout, target_format, scale, params):
    """(input, target, var): var > 0 (log-uniform), of input's shape, one dimension short, or last dim 1."""
    x, t = draw_pair(draw, layout=layout, target_format=target_format, scale=scale, params=params)
    form = draw(st.sampled_from(GAUSSIAN_VAR_SHAPES), label="var shape")
    shape = x.shape if form == "same" else x.shape[:-1] if form == "one fewer dim" else (*x.shape[:-1], 1)
    log_var = floats(draw, shape, 3.0, label="log var") if scale == "normal" else \
        floats(draw, shape, 20.0, label="log var", min_value=-30.0)
    return x, t, np.exp(log_var)


def gaussian_edges():
    x = np.array([[0.0, 1.0, -2.0], [3.0, 0.5, -0.5]])
    return [("var at eps", (x, x + 1.0, np.full_like(x, 1e-6))),
            ("var below eps (clamped)", (x, x - 0.5, np.full_like(x, 1e-9))),
            ("zero error, homoscedastic var", (x, x.copy(), np.array([1e-3, 1e3])))]


def _gaussian_std_for_var(r, case):
    """The candidate reads var as the standard deviation: log σ² and d²/σ² with σ = var."""
    return call(r, replace_input(case, 2, np.asarray(case.inputs[2]) ** 2))


def _gaussian_without_log_var(r, case):
    """0.5·d²/v only: the reference minus its 0.5·log v term (the reference at d = 0, without `full`)."""
    x, _, v = case.inputs
    values = call(r, case, reduction="none") - call(r, case.with_inputs((x, x, v)), reduction="none", full=False)
    return np.asarray(reduce(values, case.params["reduction"]))


GAUSSIAN_VARIANTS = (
    Variant("standard deviation for var", "treats `var` as the standard deviation (squares it), where "
            "GaussianNLLLoss takes the variance", "pass the variance sigma**2, or drop the squaring",
            _gaussian_std_for_var),
    Variant("log var missing", "drops the 0.5*log(var) term: d²/var alone rewards an ever larger variance",
            "add 0.5 * torch.log(var)", _gaussian_without_log_var),
)


UNDER_PENALTY = Variant(
    "penalises under-prediction", "weights the squared error where input < target (under-prediction) instead of "
    "where input > target", "weight d**2 by over_penalty where d = input - target > 0",
    lambda r, case: call(r, case.with_inputs(case.inputs[::-1])))


SMOOTH_L1_FOR_HUBER = scaled(
    "SmoothL1 for Huber", "is SmoothL1Loss(beta=delta), which is Huber divided by delta (the two agree only at "
    "delta = 1)", "use HuberLoss(delta=delta), or multiply SmoothL1 by delta", lambda p: 1.0 / p["delta"])
HUBER_FOR_SMOOTH_L1 = scaled(
    "Huber for SmoothL1", "is HuberLoss(delta=beta), which is SmoothL1 multiplied by beta (equal only at beta = 1)",
    "use SmoothL1Loss(beta=beta), or divide Huber by beta", lambda p: p["beta"])


SPECS = [
    regression_spec("mse", "mean squared error d²", ref.mse,
                    torch=("torch.nn.MSELoss", "torch.nn.functional.mse_loss"),
                    naming=Naming(("mse", "l2", "meansquared", "squarederror"))),
    regression_spec("l1", "mean absolute error |d|", ref.l1,
                    torch=("torch.nn.L1Loss", "torch.nn.functional.l1_loss"),
                    naming=Naming(("l1", "mae", "absoluteerror"))),
    regression_spec("smooth_l1", "0.5d²/β if |d|<β else |d|-0.5β", ref.smooth_l1,
                    Param("beta", 1.0, values=(0.0, 0.5, 1.0, 2.0)),
                    torch=("torch.nn.SmoothL1Loss", "torch.nn.functional.smooth_l1_loss"),
                    variants=(HUBER_FOR_SMOOTH_L1,),
                    naming=Naming(("smoothl1",))),
    regression_spec("huber", "0.5d² if |d|≤δ else δ(|d|-0.5δ)", ref.huber,
                    Param("delta", 1.0, values=(0.5, 1.0, 2.0)),
                    torch=("torch.nn.HuberLoss", "torch.nn.functional.huber_loss"),
                    variants=(SMOOTH_L1_FOR_HUBER,),
                    naming=Naming(("huber",))),
    regression_spec("log_cosh", "log cosh d, computed stably", ref.log_cosh,
                    naming=Naming(("logcosh",))),
    regression_spec("poisson_nll", "e^x - y·x (log_input) or x - y·log(x+eps); full adds Stirling's log(y!)",
                    ref.poisson_nll, Param("log_input", True, values=(True, False)),
                    Param("full", False, values=(False, True)), Param("eps", 1e-8),
                    torch=("torch.nn.PoissonNLLLoss", "torch.nn.functional.poisson_nll_loss"),
                    draw_inputs=draw_poisson, edge_cases=poisson_edges,
                    naming=Naming(("poisson",))),
    LossSpec(
        id="gaussian_nll", family="regression", summary="0.5(log v + d²/v), v = max(var, eps) clamped without gradient",
        naming=Naming(("gaussiannll", "gaussian likelihood", "heteroscedastic")),
        signature=("input", "target", "var"), reference=ref.gaussian_nll,
        params=(Param("full", False, values=(False, True)), Param("eps", 1e-6, ("epsilon",)), REDUCTION),
        draw_inputs=draw_gaussian, layouts=ELEMENTWISE_LAYOUTS, grad_args=(0, 2), edge_cases=gaussian_edges,
        variants=GAUSSIAN_VARIANTS, torch=("torch.nn.GaussianNLLLoss", "torch.nn.functional.gaussian_nll_loss")),
    regression_spec("asymmetric_mse", "d² weighted by over_penalty where d = input - target > 0", ref.asymmetric_mse,
                    Param("over_penalty", 2.0, ("penalty", "over_weight"), (1.0, 2.0, 5.0)),
                    variants=(UNDER_PENALTY,),
                    naming=Naming(("asymmetric mse", "asymmetric l2", "asymmetric squared"))),
]
