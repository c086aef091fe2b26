"""The reports/ gallery: one command regenerates it, and with the same seed only the timings change."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from losscheck.commands.gallery import build, entries, without_timing
from losscheck.options import AuditOptions

ROOT = Path(__file__).resolve().parents[1]


def test_gallery_covers_builtins_and_examples():
    targets = [t for t, *_ in entries()]
    assert "torch.nn.CrossEntropyLoss" in targets
    assert any(t.startswith("losscheck.examples.mistakes:") for t in targets)
    assert not any(".functional." in t for t in targets)


def test_same_seed_same_reports(tmp_path):
    first = build(tmp_path / "a", AuditOptions(max_examples=5), only="HuberLoss")
    second = build(tmp_path / "b", AuditOptions(max_examples=5), only="HuberLoss")
    assert first == second
    for path in sorted((tmp_path / "a").iterdir()):
        assert without_timing(path.read_text()) == without_timing((tmp_path / "b" / path.name).read_text()), path.name


def test_committed_gallery_is_current(tmp_path):
    committed = ROOT / "reports" / "torch.nn.MSELoss.json"
    if not committed.exists():
        pytest.skip("the gallery has not been generated in this checkout")
    old = json.loads(committed.read_text())
    build(tmp_path, AuditOptions(seed=old["seed"], max_examples=old["max_examples"]), only="torch.nn.MSELoss")
    new = json.loads((tmp_path / "torch.nn.MSELoss.json").read_text())
    if new["versions"] != old["versions"]:
        pytest.skip(f"the gallery was made with {old['versions']}, this environment has {new['versions']}")
    assert without_timing((tmp_path / "torch.nn.MSELoss.json").read_text()) == without_timing(committed.read_text())


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "losscheck: error: --seed must be an integer from 0"),
    (["--max-examples", "0"], "losscheck: error: --max-examples must be an integer from 1 to 10000, not '0'"),
    (["--memory-limit", "1K"], "losscheck: error: --memory-limit must be a size such as 4G"),
    (["--output-dir", "a-file"], "losscheck: error: --output-dir a-file is a file; name a folder"),
])
def test_report_command_checks_its_options_first(tmp_path, args, message):
    (tmp_path / "a-file").write_text("")
    run = subprocess.run([sys.executable, "-m", "losscheck", "report", "--only", "HuberLoss", *args],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith(message) and len(run.stderr.splitlines()) == 1, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing audited, nothing written

