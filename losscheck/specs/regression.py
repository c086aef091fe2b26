"""Specs for the regression losses of the catalogue: mse, l1, smooth_l1, huber, log_cosh."""
import numpy as np

from losscheck.references import regression as ref
from losscheck.specs.base import REDUCTIONS, LossSpec, Param
from losscheck.strategies import batch_size, floats, size, spatial
from losscheck.variants import scaled

ELEMENTWISE_LAYOUTS = ("batch", "single", "no_batch", "spatial2d")
REDUCTION = Param("reduction", "mean", values=REDUCTIONS)


def elementwise_shape(draw, layout):
    if layout == "no_batch":
        return (size(draw, "D", 1, 4),)
    if layout.startswith("spatial"):
        return (batch_size(draw, "batch"), size(draw, "C", 1, 3), *spatial(draw, layout))
    return (batch_size(draw, layout), size(draw, "D", 1, 4))


def draw_pair(draw, *, layout, fmt, scale, params):
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


def regression_spec(id, summary, reference, *params, torch=(), variants=()):
    return LossSpec(
        id=id, family="regression", summary=summary, signature=("input", "target"), reference=reference,
        params=(*params, REDUCTION), draw_inputs=draw_pair, layouts=ELEMENTWISE_LAYOUTS,
        grad_args=(0,), edge_cases=regression_edges, torch=torch, elementwise=True, variants=variants)


SMOOTH_L1_FOR_HUBER = scaled(
    "SmoothL1 for Huber", "is SmoothL1Loss(beta=delta), which is Huber divided by delta (the two agree only at "
    "delta = 1)", "use HuberLoss(delta=delta), or multiply SmoothL1 by delta", lambda p: 1.0 / p["delta"])
HUBER_FOR_SMOOTH_L1 = scaled(
    "Huber for SmoothL1", "is HuberLoss(delta=beta), which is SmoothL1 multiplied by beta (equal only at beta = 1)",
    "use SmoothL1Loss(beta=beta), or divide Huber by beta", lambda p: p["beta"])


SPECS = [
    regression_spec("mse", "mean squared error d²", ref.mse,
                    torch=("torch.nn.MSELoss", "torch.nn.functional.mse_loss")),
    regression_spec("l1", "mean absolute error |d|", ref.l1,
                    torch=("torch.nn.L1Loss", "torch.nn.functional.l1_loss")),
    regression_spec("smooth_l1", "0.5d²/β if |d|<β else |d|-0.5β", ref.smooth_l1,
                    Param("beta", 1.0, values=(0.0, 0.5, 1.0, 2.0)),
                    torch=("torch.nn.SmoothL1Loss", "torch.nn.functional.smooth_l1_loss"),
                    variants=(HUBER_FOR_SMOOTH_L1,)),
    regression_spec("huber", "0.5d² if |d|≤δ else δ(|d|-0.5δ)", ref.huber,
                    Param("delta", 1.0, values=(0.5, 1.0, 2.0)),
                    torch=("torch.nn.HuberLoss", "torch.nn.functional.huber_loss"),
                    variants=(SMOOTH_L1_FOR_HUBER,)),
    regression_spec("log_cosh", "log cosh d, computed stably", ref.log_cosh),
]
