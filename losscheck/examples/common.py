"""Small tensor helpers the corpus modules share (reductions, shape checks, class and spatial dims)."""
from __future__ import annotations

import torch


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """'none', 'mean' or 'sum' of `values`; any other reduction raises ValueError."""
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', not {reduction!r}")


def reduce_loose(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """'mean' or 'sum' of `loss`; any other reduction returns it unreduced."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def same_shape(input: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ValueError when input and target shapes differ (no silent broadcasting)."""
    if input.shape != target.shape:
        raise ValueError(f"input shape {tuple(input.shape)} and target shape {tuple(target.shape)} differ")


def class_dim(input: torch.Tensor) -> int:
    """The class axis: 0 for an unbatched (C,) input, else 1."""
    return 0 if input.dim() == 1 else 1


def spatial_dims(input: torch.Tensor) -> tuple:
    """The axes after (N, C)."""
    return tuple(range(2, input.dim()))
