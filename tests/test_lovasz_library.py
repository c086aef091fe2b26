"""segmentation_models_pytorch's Lovasz losses, which cannot be imported here (the package imports timm, which
imports torchvision), audited from the copy of their code in tests/fixtures/smp_lovasz.py as a user would audit the
library's LovaszLoss: each to the verdict and findings its row of losscheck.tables.libraries records."""
from pathlib import Path

import pytest

from losscheck import audit
from losscheck.tables.libraries import LIBRARY_LOSSES
from audit_checks import assert_audits_to_row

COPY = str(Path(__file__).resolve().parent / "fixtures" / "smp_lovasz.py")
ROWS = [e for e in LIBRARY_LOSSES if e.target == "segmentation_models_pytorch.losses:LovaszLoss"]


def test_both_modes_have_rows():
    assert sorted(e.loss_id for e in ROWS) == ["lovasz_hinge", "lovasz_softmax"]


@pytest.mark.parametrize("entry", ROWS, ids=lambda e: e.loss_id)
def test_copied_library_loss_audits_to_its_row(entry):
    result = audit(f"{COPY}:LovaszLoss", as_=entry.loss_id, init=entry.init)
    assert_audits_to_row(result, entry)
