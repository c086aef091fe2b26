"""Real library losses as their users call them (MONAI, kornia, info-nce-pytorch, pytorch-metric-learning,
transformers, TRL through thin adapters):
each audits to the verdict and findings recorded in losscheck.tables.libraries, the table the README prints. Skipped,
visibly, when a library is not installed."""
import importlib.util
from pathlib import Path

import pytest

from losscheck import audit
from losscheck.tables.libraries import LIBRARY_LOSSES, markdown
from audit_checks import assert_audits_to_row

ROOT = Path(__file__).resolve().parents[1]


def installed(target, requires=""):
    return all(importlib.util.find_spec(name) is not None
               for name in (target.split(":")[0].split(".")[0], requires) if name)


@pytest.mark.parametrize("entry", LIBRARY_LOSSES, ids=lambda e: f"{e.target}{e.init or ''}")
def test_library_loss_verdict(entry):
    if not installed(entry.target, entry.requires):
        pytest.skip(f"{entry.requires or entry.target.split('.')[0]} is not installed")
    result = audit(entry.target, as_=entry.loss_id, init=entry.init)
    assert_audits_to_row(result, entry)


def test_readme_carries_the_generated_library_table():
    assert markdown() in (ROOT / "README.md").read_text()
