"""The built wheel holds everything the commands import: `list`, `audit` and `report --only` run from it.

The wheel is built from this checkout and unpacked into a temporary folder that goes first on PYTHONPATH, so
the commands import the packaged files, not the checkout (a missing subpackage fails here, as it would for a
user who installed the wheel); they run from another temporary folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    wheels, site = tmp_path_factory.mktemp("wheels"), tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheels.glob("losscheck-*.whl"))
    unpack = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                             str(wheel)], capture_output=True, text=True, timeout=600)
    assert unpack.returncode == 0, unpack.stderr[-2000:]
    return site


def _losscheck(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "losscheck", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_commands_import_the_wheel_not_the_checkout(installed, tmp_path):
    code = "import losscheck, losscheck.references, losscheck.examples; print(losscheck.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(installed)


def test_list_audit_and_report_run_from_the_wheel(installed, tmp_path):
    listed = _losscheck(installed, tmp_path, "list")
    assert listed.returncode == 0 and "focal" in listed.stdout, listed.stderr
    report = tmp_path / "mse.json"
    audited = _losscheck(installed, tmp_path, "audit", "torch.nn:MSELoss", "--max-examples", "3", "--format", "json",
                         "--output", str(report))
    assert audited.returncode == 0, audited.stderr
    assert json.loads(report.read_text())["target"] == "torch.nn:MSELoss"
    gallery = _losscheck(installed, tmp_path, "report", "--only", "BatchSummedMSE", "--max-examples", "3",
                         "--output-dir", str(tmp_path / "gallery"))
    assert gallery.returncode in (0, 1), gallery.stderr
    assert list((tmp_path / "gallery").glob("*BatchSummedMSE*.md")), gallery.stdout + gallery.stderr
