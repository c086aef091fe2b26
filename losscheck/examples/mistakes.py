"""The "seen in the wild" mistakes of pitfalls.md, each as a small loss someone really could have written.

Every class names the catalogue id it claims to implement in `claims`; its docstring's first line says what
is wrong. They are examples for the reports/ gallery and the tests, not code to use.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def claims(loss_id):
    def mark(cls):
        cls.claims = loss_id
        return cls
    return mark


@claims("cross_entropy")
class SigmoidThenCrossEntropy(nn.Module):
    """Applies sigmoid to the logits, then CrossEntropyLoss (which applies log_softmax again)."""

    def forward(self, input, target):
        return F.cross_entropy(torch.sigmoid(input), target)


@claims("focal")
class PosWeightFocal(nn.Module):
    """A "focal loss" that is BCEWithLogitsLoss with pos_weight: there is no focusing term."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, input, target):
        pos_weight = torch.tensor([(1 - self.alpha) / self.alpha], device=input.device, dtype=input.dtype)
        return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight)


@claims("kl_div")
class DefaultReductionKL(nn.Module):
    """KLDivLoss with its default reduction='mean', used as the KL divergence (it is not: use 'batchmean')."""

    def forward(self, input, target):
        return F.kl_div(input, target, reduction="mean")


@claims("huber")
class SmoothL1AsHuber(nn.Module):
    """Huber loss written as SmoothL1Loss(beta=delta): off by a factor delta whenever delta != 1."""

    def __init__(self, delta=2.0):
        super().__init__()
        self.delta = delta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, beta=self.delta)


@claims("log_cosh")
class NaiveLogCosh(nn.Module):
    """log(cosh(d)) written directly: cosh overflows for |d| > 89 in float32."""

    def forward(self, input, target):
        return torch.log(torch.cosh(input - target)).mean()


@claims("bce")
class ClampedBCE(nn.Module):
    """BCE on probabilities clamped at 1e-7: the loss is capped at 16.1 and the gradient dies at the clamp."""

    def forward(self, input, target):
        p = input.clamp(1e-7, 1 - 1e-7)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


@claims("dice")
class ViewFlattenedDice(nn.Module):
    """Soft Dice flattened with .view(-1) over the whole batch: batch Dice, and fails on non-contiguous input."""

    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, input, target):
        p, g = input.view(-1), target.view(-1)
        return 1 - (2 * (p * g).sum() + self.smooth) / (p.sum() + g.sum() + self.smooth)


@claims("dice")
class PermutedOneHotDice(nn.Module):
    """Multi-class Dice that one-hot encodes with permute(0, 3, 1, 2): works for 2-D inputs only."""

    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, input, target):
        labels = target.argmax(1)
        onehot = F.one_hot(labels, input.shape[1]).permute(0, 3, 1, 2).to(input.dtype)
        inter = (input * onehot).sum((2, 3))
        return (1 - (2 * inter + self.smooth) / (input.sum((2, 3)) + onehot.sum((2, 3)) + self.smooth)).mean()


@claims("triplet_margin")
class SquaredDistanceTriplet(nn.Module):
    """Triplet loss on squared distances, compared with nn.TripletMarginLoss (plain distances)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = (anchor - positive).pow(2).sum(-1)
        d_an = (anchor - negative).pow(2).sum(-1)
        return F.relu(d_ap - d_an + self.margin).mean()


@claims("contrastive")
class NoHalfContrastive(nn.Module):
    """Contrastive loss whose code drops the 1/2 its formula states."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, label):
        d = F.pairwise_distance(x1, x2, eps=0.0)
        return (label * d.pow(2) + (1 - label) * F.relu(self.margin - d).pow(2)).mean()


@claims("contrastive")
class SqrtContrastive(nn.Module):
    """Contrastive loss with d = sqrt(sum of squares): a nan gradient for identical pairs (d = 0)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, label):
        d = (x1 - x2).pow(2).sum(-1).sqrt()
        return 0.5 * (label * d.pow(2) + (1 - label) * F.relu(self.margin - d).pow(2)).mean()


@claims("info_nce")
class DoublePositiveNTXent(nn.Module):
    """NT-Xent that prepends the positive to a similarity row that already holds it (counted twice)."""

    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j]), dim=1)
        sim = z @ z.T / self.temperature
        eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        idx = torch.arange(2 * n, device=z.device)
        positive = sim[idx, (idx + n) % (2 * n)]
        rows = torch.cat([positive[:, None], sim.masked_fill(eye, float("-inf"))], dim=1)
        return (torch.logsumexp(rows, dim=1) - positive).mean()


@claims("cross_entropy")
class OtherClassSmoothingCE(nn.Module):
    """Label smoothing by eps/(K-1) over the other classes, compared with torch's label_smoothing (eps/K)."""

    def __init__(self, label_smoothing=0.1):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        k = input.shape[1]
        soft = torch.full_like(input, self.label_smoothing / (k - 1))
        soft.scatter_(1, target.unsqueeze(1), 1 - self.label_smoothing)
        return -(soft * F.log_softmax(input, dim=1)).sum(1).mean()


@claims("mse")
class BatchSummedMSE(nn.Module):
    """A loss summed over the batch (as VAE losses often are): its scale grows with the batch size."""

    def forward(self, input, target):
        return (input - target).pow(2).mean(tuple(range(1, input.dim()))).sum()


@claims("mse")
class ZeroWeightCurriculumMSE(nn.Module):
    """A curriculum-weighted loss whose weights are all zero in the first epoch: no gradient at all."""

    def __init__(self, epoch=0):
        super().__init__()
        self.epoch = epoch

    def forward(self, input, target):
        weight = min(self.epoch / 10.0, 1.0)
        return weight * (input - target).pow(2).mean()


@claims("info_nce")
class CpuLabelsNTXent(nn.Module):
    """Builds its labels with torch.arange on the CPU inside forward: fails once the inputs are on a GPU."""

    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j]), dim=1)
        sim = (z @ z.T / self.temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device),
                                                        float("-inf"))
        labels = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, labels)


@claims("focal")
class InPlaceSigmoidFocal(nn.Module):
    """Applies sigmoid_ to the caller's logits in place."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, input, target):
        p = input.sigmoid_()
        ce = F.binary_cross_entropy(p, target, reduction="none")
        p_t = p * target + (1 - p) * (1 - target)
        alpha_t = self.alpha * target + (1 - self.alpha) * (1 - target)
        return (alpha_t * (1 - p_t) ** self.gamma * ce).mean()
