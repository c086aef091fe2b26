"""Float64 reference for the sequence loss: ctc (Connectionist Temporal Classification).

NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np

from ._classes import integers
from ._reduce import check_reduction, reduce

__all__ = ["ctc"]


def _negative_log_likelihood(log_probs, label, blank):
    """-log p(label | log_probs) by the CTC forward algorithm in log space.

    ``log_probs`` (T, C) are the frames the sample uses; ``label`` (S,) holds no blank. The
    extended label is ``blank, l_1, blank, l_2, ..., l_S, blank`` (length 2S + 1);
    ``α_0 = (log_probs[0, blank], log_probs[0, l_1], -inf, ...)`` and
    ``α_t(s) = log_probs[t, l'_s] + logaddexp(α_{t-1}(s), α_{t-1}(s-1), α_{t-1}(s-2))``, the last
    term only where ``l'_s`` is not blank and differs from ``l'_{s-2}``. The result is
    ``-logaddexp(α_{T-1}(2S), α_{T-1}(2S-1))`` (just ``-α_{T-1}(0)`` for an empty label); it is
    +inf when no alignment fits (T too short), and 0 for T = 0 with an empty label.
    """
    n_frames = log_probs.shape[0]
    n_labels = label.shape[0]
    if n_frames == 0:
        return 0.0 if n_labels == 0 else np.inf
    extended = np.full(2 * n_labels + 1, blank, dtype=np.int64)
    extended[1::2] = label
    size = extended.shape[0]
    skip = np.zeros(size, dtype=bool)
    skip[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    alpha = np.full(size, -np.inf)
    alpha[0] = log_probs[0, blank]
    if size > 1:
        alpha[1] = log_probs[0, extended[1]]
    for t in range(1, n_frames):
        previous = np.concatenate(([-np.inf], alpha[:-1]))
        before_previous = np.where(skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2]))[:size], -np.inf)
        alpha = log_probs[t, extended] + np.logaddexp(np.logaddexp(alpha, previous), before_previous)
    if size == 1:
        return -alpha[0]
    return -np.logaddexp(alpha[-1], alpha[-2])


def ctc(log_probs, targets, input_lengths, target_lengths, *, blank=0, reduction="mean",
        zero_infinity=False):
    """Connectionist Temporal Classification loss (Graves et al., "Connectionist Temporal
    Classification: Labelling Unsegmented Sequence Data with Recurrent Neural Networks", ICML
    2006), torch's CTCLoss.

    Per sample n: ``loss_n = -log Σ_{alignments π of targets_n} Π_t exp(log_probs[t, n, π_t])``
    over the first ``input_lengths[n]`` frames, where an alignment maps onto the target by
    removing repeats and then blanks; computed by the forward algorithm in log space
    (np.logaddexp). ``log_probs`` are used as given (torch does not renormalise them either).
    A target that no alignment fits (too few frames) gives +inf; ``zero_infinity`` replaces those
    infinities by 0. 'mean' divides each loss by its target length (clamped at 1) and then
    averages over the batch; 'sum' adds the losses; 'none' returns them.

    Shapes, as torch: log_probs (T, N, C) (or (T, C) unbatched); targets padded (N, S) with
    S >= max target length (entries past a sample's length are ignored), or concatenated 1-D of
    length sum(target_lengths) (unbatched: (S,) with S = target_length); input_lengths and
    target_lengths (N,) (0-d or (1,) unbatched). Target entries must be classes in [0, C) other
    than ``blank``; input lengths in [0, T]; target lengths >= 0; others raise ValueError.
    'none' returns (N,), or () unbatched.

    Source: PyTorch ``torch.nn.CTCLoss`` / ``torch.nn.functional.ctc_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.CTCLoss.html; aten LossCTC.cpp).
    """
    check_reduction(reduction)
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim not in (2, 3):
        raise ValueError(f"ctc: log_probs must be (T, N, C) or (T, C); got shape {lp.shape}")
    batched = lp.ndim == 3
    if not batched:
        lp = lp[:, None, :]
    n_frames, batch, n_classes = lp.shape
    if not (isinstance(blank, (int, np.integer)) and 0 <= blank < n_classes):
        raise ValueError(f"ctc: blank must be a class index in [0, {n_classes}); got blank={blank!r}")
    in_lengths = integers(input_lengths, "ctc: input_lengths must hold integers")
    tg_lengths = integers(target_lengths, "ctc: target_lengths must hold integers")
    length_shapes = [(batch,)] if batched else [(), (1,)]
    for name, lengths in (("input_lengths", in_lengths), ("target_lengths", tg_lengths)):
        if lengths.shape not in length_shapes:
            raise ValueError(f"ctc: {name} must have shape {' or '.join(map(str, length_shapes))}; "
                             f"got {lengths.shape}")
    in_lengths, tg_lengths = in_lengths.reshape(batch), tg_lengths.reshape(batch)
    if np.any((in_lengths < 0) | (in_lengths > n_frames)):
        raise ValueError(f"ctc: input_lengths must be in [0, {n_frames}] (T); got {in_lengths.tolist()}")
    if np.any(tg_lengths < 0):
        raise ValueError(f"ctc: target_lengths must be >= 0; got {tg_lengths.tolist()}")

    t = integers(targets, "ctc: targets must hold integers")
    if t.ndim == 2 and batched:
        if t.shape[0] != batch or t.shape[1] < np.max(tg_lengths, initial=0):
            raise ValueError(
                f"ctc: padded targets must be (N, S) = ({batch}, S) with S >= max(target_lengths) = "
                f"{np.max(tg_lengths, initial=0)}; got {t.shape}"
            )
        labels = [t[n, : tg_lengths[n]] for n in range(batch)]
    elif t.ndim == 1:
        if t.shape[0] != np.sum(tg_lengths):
            raise ValueError(
                f"ctc: 1-D (concatenated) targets must have length sum(target_lengths) = "
                f"{int(np.sum(tg_lengths))}; got {t.shape[0]}"
            )
        labels = np.split(t, np.cumsum(tg_lengths)[:-1])
    else:
        raise ValueError(f"ctc: targets must be padded (N, S) or concatenated 1-D; got shape {t.shape}")
    for label in labels:
        if np.any((label < 0) | (label >= n_classes) | (label == blank)):
            raise ValueError(
                f"ctc: target entries must be classes in [0, {n_classes}) other than blank={blank}"
            )

    losses = np.array(
        [_negative_log_likelihood(lp[: in_lengths[n], n, :], labels[n], blank) for n in range(batch)],
        dtype=np.float64,
    )
    if zero_infinity:
        losses = np.where(losses == np.inf, 0.0, losses)
    if reduction == "mean":
        return reduce(losses / np.maximum(tg_lengths, 1), "mean")
    return reduce(losses if batched else losses[0], reduction)
