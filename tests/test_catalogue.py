"""The specs for the rest of the catalogue (poisson_nll ... ctc): for each, a hand-written defective loss that
the audit catches with the expected code, and a correct twin that audits clean (no error or warning finding);
and every torch loss (module or functional) either maps to a catalogue id or is a listed gap that exits 2
with one line.

The fixtures are the corpus's "catalogue" table (losscheck/examples/<family>.py, `suite="catalogue"`), each
registered next to the defect it carries. Audits run once per (fixture, id) with 15 examples per check (cached),
after FakeTensorMode is warmed up in this process (device.fake_cuda otherwise initialises it in every forked
worker).
"""
from __future__ import annotations

import functools
import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from losscheck import audit
from losscheck.cli import main
from losscheck.examples.registry import examples, find
from losscheck.specs import SPECS, TORCH_BUILTINS

MAX_EXAMPLES = 15


SUITE = "catalogue"
# (defective fixture, catalogue id, expected code, correct twin or None), from the corpus (losscheck/examples/)
CASES = [(e.obj, e.loss_id, e.code, find(e.twin, SUITE).obj if e.twin else None)
         for e in examples(SUITE) if not e.clean]

# The variant that must name each LC102 (the diagnosis, not just "some known defect").
VARIANT = {e.loss_id: e.variant for e in examples(SUITE) if not e.clean and e.code == "LC102"}

NEW_IDS = sorted({loss_id for _, loss_id, _, _ in CASES} - {"contrastive"})


@functools.lru_cache(maxsize=None)
def audited(obj, loss_id):
    """The default families' audit: the precision screen (low-precision warnings on losses correct in float32, as
    these twins are) has its own twins in tests/test_precision.py."""
    return audit(obj, as_=loss_id, max_examples=MAX_EXAMPLES, precision_screen=False)


def _ids(cases):
    return [f"{loss_id}-{getattr(bad, '__name__', bad)}" for bad, loss_id, *_ in cases]


def _describe(result):
    return "\n".join(f"{f.code} {f.severity} {f.check}: {f.message[:300]}" for f in result.findings)


def test_every_new_id_has_a_spec_and_a_case():
    assert set(NEW_IDS) <= set(SPECS)
    assert all(e.variant for e in examples(SUITE) if not e.clean and e.code == "LC102")
    assert {"poisson_nll", "gaussian_nll", "asymmetric_mse", "focal_multiclass", "soft_margin",
            "multilabel_soft_margin", "multi_margin", "hinge", "multilabel_margin", "hinge_embedding",
            "cosine_embedding", "margin_ranking", "triplet_batch_hard", "tversky", "generalized_dice", "iou", "giou",
            "gaussian_kl", "gan_discriminator", "gan_generator", "wasserstein_critic", "uncertainty_weighting",
            "l1_penalty", "l2_penalty", "ctc", "z_loss", "kd", "dpo", "causal_lm",
            "clip", "siglip", "supcon", "multiple_negatives_ranking",
            "arcface", "cosface", "asymmetric", "simpo", "orpo",
            "jaccard", "lovasz_hinge", "lovasz_softmax",
            "diou", "ciou", "ssim", "si_sdr"} == set(NEW_IDS)


@pytest.mark.parametrize("bad, loss_id, code, twin", CASES, ids=_ids(CASES))
def test_defect_is_caught(bad, loss_id, code, twin):
    result = audited(bad, loss_id)
    found = [f for f in result.findings if f.code == code]
    assert found, f"{bad.__name__} as {loss_id}: expected {code}, got:\n{_describe(result)}"
    if code == "LC102":
        assert any(f.data.get("variant") == VARIANT[loss_id] for f in found), _describe(result)
    errors = [f"{c.name}: {c.detail}" for c in result.checks if c.status == "error"]
    assert errors == []


TWINS = [(twin, loss_id) for _, loss_id, _, twin in CASES if twin is not None]


@pytest.mark.parametrize("twin, loss_id", TWINS, ids=[f"{i}-{t.__name__}" for t, i in TWINS])
def test_correct_twin_audits_clean(twin, loss_id):
    result = audited(twin, loss_id)
    failing = [f for f in result.findings if f.severity != "info"]
    assert failing == [], _describe(result)
    assert [c.name for c in result.checks if c.status == "error"] == []


def test_kornia_alpha_is_a_declarable_convention():
    kornia = find("KorniaAlphaFocal", SUITE).obj
    result = audited(kornia, "focal_multiclass")
    assert result.conventions.get("alpha_form") == "kornia"
    declared = audit(kornia, as_="focal_multiclass", max_examples=5, conventions={"alpha_form": "kornia"},
                     select=("LC1",))
    assert declared.findings == []


# -- torch built-ins ------------------------------------------------------------------------------------------

# Torch losses with no catalogue id: the CLI refuses them with one line (exit 2).
KNOWN_GAPS = {
    "torch.nn.TripletMarginWithDistanceLoss", "torch.nn.functional.triplet_margin_with_distance_loss",
    "torch.nn.AdaptiveLogSoftmaxWithLoss",
    "torch.nn.LinearCrossEntropyLoss", "torch.nn.functional.linear_cross_entropy",  # torch >= 2.13: a Linear inside
}


def torch_losses() -> list[str]:
    """Every loss module of torch.nn (a `_Loss` subclass, or a class named *Loss / *WithLoss) and every loss of
    torch.nn.functional (named *_loss, *cross_entropy*, or kl_div) in the installed torch."""
    from torch.nn.modules.loss import _Loss

    modules = [f"torch.nn.{name}" for name, obj in vars(nn).items()
               if inspect.isclass(obj) and not name.startswith("_")
               and (issubclass(obj, _Loss) or name.endswith("Loss") or name.endswith("WithLoss"))]
    functionals = [f"torch.nn.functional.{name}" for name, obj in vars(F).items()
                   if callable(obj) and not name.startswith("_")
                   and (name.endswith("_loss") or "cross_entropy" in name or name == "kl_div")]
    return sorted(modules + functionals)


def test_the_enumeration_sees_the_usual_losses():
    found = torch_losses()
    for name in ("torch.nn.MSELoss", "torch.nn.CTCLoss", "torch.nn.AdaptiveLogSoftmaxWithLoss",
                 "torch.nn.functional.cross_entropy", "torch.nn.functional.kl_div",
                 "torch.nn.functional.binary_cross_entropy_with_logits", "torch.nn.functional.ctc_loss"):
        assert name in found


@pytest.mark.parametrize("name", torch_losses())
def test_every_torch_loss_maps_to_an_id_or_is_a_known_gap(name):
    assert (name in TORCH_BUILTINS) != (name in KNOWN_GAPS), name


def test_known_gaps_exist_in_this_torch():
    assert {g for g in KNOWN_GAPS if g in torch_losses()} == {g for g in KNOWN_GAPS if _exists(g)}
    assert {"torch.nn.TripletMarginWithDistanceLoss", "torch.nn.AdaptiveLogSoftmaxWithLoss"} <= set(torch_losses())


def _exists(name):
    module, _, attr = name.rpartition(".")
    return hasattr(torch.nn if module == "torch.nn" else F, attr)


@pytest.mark.parametrize("name", sorted(g for g in KNOWN_GAPS if _exists(g)))
def test_known_gap_exits_2_with_one_line(name, capsys):
    assert main(["audit", name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no catalogue id" in err and "Traceback" not in err, err


def test_known_gap_exit_code_from_the_command_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "losscheck", "audit", "torch.nn.TripletMarginWithDistanceLoss"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stdout == "", done.stderr
