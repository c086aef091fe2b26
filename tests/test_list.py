"""`losscheck list`: one line per loss that fits the terminal, and `losscheck list ID` with everything of one loss."""
from __future__ import annotations

import json

import pytest

from losscheck.cli import main
from losscheck.specs import SPECS


@pytest.mark.parametrize("columns", [60, 100, 200])
def test_every_line_fits_the_terminal_and_every_id_is_listed(columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert {line.split()[0] for line in lines[1:] if line.strip() and not line.startswith("`")} >= set(SPECS)


def test_one_loss_in_full_names_its_parameters_conventions_and_known_mistakes(capsys):
    assert main(["list", "focal"]) == 0
    out = capsys.readouterr().out
    spec = SPECS["focal"]
    for p in spec.params:
        assert f"    {p.name}" in out
    for c in spec.conventions:
        assert f"--convention {c.name}=VALUE" in out
        for option in c.options.values():
            assert option.libraries in out
    for v in spec.variants:
        assert v.name in out


def test_one_loss_as_json_is_its_record(capsys):
    assert main(["list", "dice", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["id"] == "dice" and record["signature"] == list(SPECS["dice"].signature)


def test_an_unknown_id_is_one_line_and_exit_2_with_the_closest_id(capsys):
    assert main(["list", "focl"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean 'focal'" in err
