"""The "seen in the wild" mistakes (losscheck.examples.mistakes) are each diagnosed by name: the finding's
code, and words in its text that name the mistake. Their correct twins get no finding."""
import pytest
import torch
import torch.nn.functional as F

from losscheck import audit

EXPECTED = {
    "SigmoidThenCrossEntropy": ("LC102", "sigmoid before cross-entropy"),
    "PosWeightFocal": ("LC102", "not focal"),
    "DefaultReductionKL": ("LC404", "batchmean"),
    "SmoothL1AsHuber": ("LC102", "smoothl1 for huber"),
    "NaiveLogCosh": ("LC201", "not finite"),
    "ClampedBCE": ("LC202", "clamp"),
    "ViewFlattenedDice": ("LC605", "non-contiguous"),
    "PermutedOneHotDice": ("LC504", "3-d spatial"),
    "SquaredDistanceTriplet": ("LC103", "squared"),
    "NoHalfContrastive": ("LC103", "1/2"),
    "SqrtContrastive": ("LC302", "not finite"),
    "DoublePositiveNTXent": ("LC102", "positive counted twice"),
    "OtherClassSmoothingCE": ("LC103", "eps/(c-1)"),
    "BatchSummedMSE": ("LC405", "batch size"),
    "ZeroWeightCurriculumMSE": ("LC301", "gradient is exactly zero"),
    "CpuLabelsNTXent": ("LC601", "device"),
    "InPlaceSigmoidFocal": ("LC701", "in place"),
}
CLAIMS = {"SigmoidThenCrossEntropy": "cross_entropy", "PosWeightFocal": "focal", "DefaultReductionKL": "kl_div",
          "SmoothL1AsHuber": "huber", "NaiveLogCosh": "log_cosh", "ClampedBCE": "bce", "ViewFlattenedDice": "dice",
          "PermutedOneHotDice": "dice", "SquaredDistanceTriplet": "triplet_margin", "NoHalfContrastive": "contrastive",
          "SqrtContrastive": "contrastive", "DoublePositiveNTXent": "info_nce", "OtherClassSmoothingCE": "cross_entropy",
          "BatchSummedMSE": "mse", "ZeroWeightCurriculumMSE": "mse", "CpuLabelsNTXent": "info_nce",
          "InPlaceSigmoidFocal": "focal"}


def test_every_example_is_listed():
    from losscheck.examples import EXAMPLES
    assert {t.split(":")[1]: i for t, i, _ in EXAMPLES} == CLAIMS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mistake_is_named(name):
    code, words = EXPECTED[name]
    result = audit(f"losscheck.examples.mistakes:{name}", as_=CLAIMS[name], max_examples=20)
    hits = [f for f in result.findings if f.code == code]
    assert hits, f"{name}: expected {code}, got {[f.code for f in result.findings]}"
    assert any(words in f"{f.title} {f.message}".lower() for f in hits), [f.message for f in hits]


class Huber(torch.nn.Module):
    def __init__(self, delta=2.0):
        super().__init__()
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, delta=self.delta)


class StableLogCosh(torch.nn.Module):
    def forward(self, input, target):
        d = (input - target).abs()
        return (d + torch.log1p(torch.exp(-2 * d)) - torch.log(torch.tensor(2.0, dtype=d.dtype))).mean()


class Contrastive(torch.nn.Module):
    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, label):
        sq = (x1 - x2).pow(2).sum(-1)
        d = torch.sqrt(sq.clamp_min(1e-30))
        return 0.5 * (label * sq + (1 - label) * F.relu(self.margin - d).pow(2)).mean()


class NTXent(torch.nn.Module):
    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j]), dim=1)
        sim = (z @ z.T / self.temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device),
                                                        float("-inf"))
        labels = torch.cat([torch.arange(n, 2 * n, device=z.device), torch.arange(0, n, device=z.device)])
        return F.cross_entropy(sim, labels)


@pytest.mark.parametrize("twin, loss_id", [(Huber, "huber"), (StableLogCosh, "log_cosh"),
                                           (Contrastive, "contrastive"), (NTXent, "info_nce")])
def test_correct_twins_pass(twin, loss_id):
    result = audit(twin, as_=loss_id, max_examples=20)
    assert [f"{f.code}: {f.message}" for f in result.findings if f.severity != "info"] == []
