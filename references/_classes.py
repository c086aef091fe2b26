"""The class axis of cross_entropy, nll and focal_multiclass: where it is, per-class weights along it,
class-index targets, and values spread back along it (one-hot).

Class indices and labels are read as integers (``integers``: a float array only where every value is integral).
The class dimension is dim 0 for a (C,) input and dim 1 otherwise, so inputs are (C,), (N, C) or
(N, C, d1, ..., dk), and class-index targets are (), (N,) or (N, d1, ..., dk) respectively.
NumPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np


def class_axis(x):
    if x.ndim < 1:
        raise ValueError("input must have a class dimension: shape (C,), (N, C) or (N, C, d1, ...)")
    return 0 if x.ndim == 1 else 1


def class_weight(weight, n_classes):
    if weight is None:
        return None
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != (n_classes,):
        raise ValueError(f"weight must have shape ({n_classes},) (one per class); got {w.shape}")
    return w


def along_class_axis(w, ndim, axis):
    """View a (C,) weight so that it broadcasts against an input whose class axis is ``axis``."""
    shape = [1] * ndim
    shape[axis] = w.shape[0]
    return w.reshape(shape)


def integers(values, message):
    """``values`` as an int64 array: integer and boolean arrays as they are, others only where every value is a
    finite integer (2.0, not 2.5, nan or inf); ValueError(message) otherwise. Class-index targets and labels are
    read through it (class_indices, the margin losses, kd's and causal_lm's labels), and ctc's targets and
    lengths."""
    a = np.asarray(values)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)):
        f = np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
            raise ValueError(message)
    return a.astype(np.int64)


def class_indices(target, expected_shape, n_classes, ignore_index):
    """(integer targets, mask of the kept ones), after checking shape, integrality and range."""
    t = np.asarray(target)
    if t.shape != expected_shape:
        raise ValueError(
            f"class-index target must have shape {expected_shape} (input's shape without the "
            f"class dimension); got {t.shape}"
        )
    t = integers(t, "class-index target must hold integers")
    keep = t != ignore_index
    if np.any(keep & ((t < 0) | (t >= n_classes))):
        raise ValueError(
            f"class-index target out of range: every target must be in [0, {n_classes}) "
            f"or equal ignore_index={ignore_index}"
        )
    return t, keep


def onehot(t, keep, n_classes, axis):
    """The kept targets one-hot along the class axis ``axis`` (ignored ones all zero): input's shape."""
    hot = np.eye(n_classes)[np.where(keep, t, 0)] * keep[..., None]
    return np.moveaxis(hot, -1, axis)
