"""The "seen in the wild" mistakes (the corpus's "wild" table, shown in the reports/ gallery as
losscheck.examples.mistakes:NAME) are each diagnosed by name: the finding's code, and words in its text that
name the mistake (`expect={code: words}` in losscheck/examples/<family>.py). Their correct twins get no finding."""
import pytest

from losscheck import audit
from losscheck.examples.registry import examples

SUITE = "wild"
MISTAKES = {e.name: e for e in examples(SUITE) if not e.clean}
TWINS = [(e.obj, e.loss_id) for e in examples(SUITE) if e.clean]
# The gallery's examples and the ids they claim, in its row order: `losscheck report` must keep exactly these.
GALLERY = [("SigmoidThenCrossEntropy", "cross_entropy"), ("PosWeightFocal", "focal"), ("DefaultReductionKL", "kl_div"),
           ("SmoothL1AsHuber", "huber"), ("NaiveLogCosh", "log_cosh"), ("ClampedBCE", "bce"),
           ("ViewFlattenedDice", "dice"), ("PermutedOneHotDice", "dice"), ("SquaredDistanceTriplet", "triplet_margin"),
           ("NoHalfContrastive", "contrastive"), ("SqrtContrastive", "contrastive"),
           ("DoublePositiveNTXent", "info_nce"), ("OtherClassSmoothingCE", "cross_entropy"), ("BatchSummedMSE", "mse"),
           ("ZeroWeightCurriculumMSE", "mse"), ("CpuLabelsNTXent", "info_nce"), ("InPlaceSigmoidFocal", "focal"),
           ("MicroBatchMeanLMLoss", "causal_lm"), ("NextTokenLossNoShift", "causal_lm"),
           ("shifted_twice_lm_loss", "causal_lm"), ("padded_mean_lm_loss", "causal_lm"), ("SoftTargetLoss", "kd"),
           ("teacher_softened_kd", "kd"), ("reverse_kl_distillation", "kd"), ("dpo_with_reference_added", "dpo"),
           ("dpo_log_of_sigmoid", "dpo"),
           ("JaccardSumAsUnion", "jaccard"), ("JaccardSigmoidTwice", "jaccard"),
           ("LovaszHingeUnsortedLabels", "lovasz_hinge"), ("LovaszHingeElu", "lovasz_hinge"),
           ("LovaszHingePerImageAlways", "lovasz_hinge"),
           ("ExpInfoNCE", "info_nce"), ("HalfSumSquares", "mse"), ("CompilePathMSE", "mse"), ("CallCountingMSE", "mse"),
           ("clip_image_to_text", "clip"), ("siglip_identity_labels", "siglip"), ("supcon_self_positive", "supcon"),
           ("arcface_paper_formula", "arcface"), ("asl_swapped_focusing", "asymmetric"), ("ssim_box_window", "ssim"),
           ("si_sdr_projected_on_estimate", "si_sdr"), ("ciou_alpha_with_gradient", "ciou"),
           ("ChunkMeanCrossEntropy", "cross_entropy"), ("FloorChunksCrossEntropy", "cross_entropy"),
           ("NaiveFocal", "focal"), ("SigmoidClampBCE", "bce_with_logits"), ("UnshiftedSoftmaxCE", "cross_entropy"),
           ("z_loss_over_batch", "z_loss"), ("dpo_beta_twice", "dpo")]


def test_every_example_is_listed():
    from losscheck.examples import EXAMPLES
    assert [(t.split(":")[1], i) for t, i, _ in EXAMPLES] == GALLERY
    assert all(t.startswith("losscheck.examples.mistakes:") for t, _, _ in EXAMPLES)
    assert sorted(MISTAKES) == sorted(name for name, _ in GALLERY)
    assert all(len(e.expect) == 1 and e.code.startswith("LC") and e.expect[e.code] for e in MISTAKES.values())


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mistake_is_named(name):
    (code, words), = MISTAKES[name].expect.items()
    result = audit(f"losscheck.examples.mistakes:{name}", as_=MISTAKES[name].loss_id, max_examples=20,
                   **MISTAKES[name].opt_in)
    hits = [f for f in result.findings if f.code == code]
    assert hits, f"{name}: expected {code}, got {[f.code for f in result.findings]}"
    assert any(words in f"{f.title} {f.message}".lower() for f in hits), [f.message for f in hits]


@pytest.mark.parametrize("twin, loss_id", TWINS)
def test_correct_twins_pass(twin, loss_id):
    result = audit(twin, as_=loss_id, max_examples=20, precision_screen=False)  # the screen: test_precision.py
    assert [f"{f.code}: {f.message}" for f in result.findings if f.severity != "info"] == []
