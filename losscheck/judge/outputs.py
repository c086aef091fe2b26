"""Whether a loss's output can be judged at all: the one validator of what the candidate returned, used by the
single-process checks (losscheck.judge.context) and by each device.ddp rank (losscheck.ddp.step)."""
from __future__ import annotations

import torch


def invalid_output(value, reduction: str, what: str) -> tuple[str, str] | None:
    """(code, message) when a loss's output cannot be judged: LC707 not a tensor, LC704 a reduced result
    ('mean', 'sum') that is not 0-d; None when it is a fine output."""
    if not isinstance(value, torch.Tensor):
        return "LC707", f"{what} returned {type(value).__name__} ({str(value)[:60]}), not a tensor"
    if reduction != "none" and value.dim() != 0:
        return "LC704", f"reduction={reduction!r} returned shape {tuple(value.shape)}, expected a 0-d tensor"
    return None
