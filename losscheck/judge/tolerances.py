"""One table of (rtol, atol) per dtype, used by every check and printed in every report (as torch.testing does).

A candidate value c agrees with the reference r when |c - r| <= atol + rtol * |r|, elementwise.
The float32 row is looser than torch.testing's defaults because a loss is a reduction over many terms.
"""
import numpy as np

TOLERANCES = {
    "float64": {"rtol": 1e-7, "atol": 1e-9},
    "float32": {"rtol": 2e-4, "atol": 2e-5},
    "float16": {"rtol": 2e-2, "atol": 2e-3},
    "bfloat16": {"rtol": 5e-2, "atol": 1e-2},
}

# Extreme inputs (stability family) lose more relative precision in float32: logits of 1e4 leave few digits.
EXTREME_FLOAT32 = {"rtol": 1e-3, "atol": 1e-3}


def summed(tol: dict, terms: int) -> dict:
    """The tolerance of a sum of `terms` values each judged with `tol`: when every term is within atol + rtol·|r_i|,
    their sum is within terms·atol + rtol·Σ|r_i|, so the atol grows with the count (rtol stays, relative to the sum).
    A sum of many near-cancelled terms needs it: kornia's SSIMLoss(reduction='sum') adds 242 pixels of
    (1 - SSIM)/2 ≈ 3e-4, each float32-rounded by ~4e-7 (E[x²] - μ² cancels), 9e-5 in all on a sum of 0.085."""
    return {"rtol": tol["rtol"], "atol": tol["atol"] * max(1, int(terms))}


def aligned(candidate, reference):
    """The candidate's array in the reference's shape when they differ only by dimensions of size 1
    (MONAI returns 'none' as (N, C, 1, 1) where the reference has (N, C)); otherwise unchanged."""
    c = np.asarray(candidate)
    r = np.asarray(reference)
    if c.shape != r.shape and c.size == r.size and np.squeeze(c).shape == np.squeeze(r).shape:
        return c.reshape(r.shape)
    return c


def close(candidate, reference, dtype: str, tol: dict | None = None) -> bool:
    """True when the arrays agree within the dtype's tolerance; nan agrees only with nan."""
    t = tol or TOLERANCES[dtype]
    c = np.asarray(candidate, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if c.shape != r.shape:
        return False
    return bool(np.allclose(c, r, rtol=t["rtol"], atol=t["atol"], equal_nan=True))


def max_error(candidate, reference) -> float:
    c = np.asarray(candidate, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return float(np.nanmax(np.abs(c - r))) if c.size else 0.0
