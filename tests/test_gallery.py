"""The reports/ gallery: one command regenerates it, and with the same seed only the timings change."""
import json
from pathlib import Path

import pytest

from losscheck.gallery import build, entries, without_timing

ROOT = Path(__file__).resolve().parents[1]


def test_gallery_covers_builtins_and_examples():
    targets = [t for t, _, _ in entries()]
    assert "torch.nn.CrossEntropyLoss" in targets
    assert any(t.startswith("losscheck.examples.mistakes:") for t in targets)
    assert not any(".functional." in t for t in targets)


def test_same_seed_same_reports(tmp_path):
    first = build(tmp_path / "a", only="HuberLoss", max_examples=5)
    second = build(tmp_path / "b", only="HuberLoss", max_examples=5)
    assert first == second
    for path in sorted((tmp_path / "a").iterdir()):
        assert without_timing(path.read_text()) == without_timing((tmp_path / "b" / path.name).read_text()), path.name


def test_committed_gallery_is_current(tmp_path):
    committed = ROOT / "reports" / "torch.nn.MSELoss.json"
    if not committed.exists():
        pytest.skip("the gallery has not been generated in this checkout")
    old = json.loads(committed.read_text())
    build(tmp_path, only="torch.nn.MSELoss", seed=old["seed"], max_examples=old["max_examples"])
    new = json.loads((tmp_path / "torch.nn.MSELoss.json").read_text())
    if new["versions"] != old["versions"]:
        pytest.skip(f"the gallery was made with {old['versions']}, this environment has {new['versions']}")
    assert without_timing((tmp_path / "torch.nn.MSELoss.json").read_text()) == without_timing(committed.read_text())
