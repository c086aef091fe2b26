"""Same target, options and seed: byte-identical JSON apart from timing fields (issue: determinism)."""
import subprocess
import sys

from losscheck.commands.gallery import without_timing


def _json(tmp_path, name, *extra):
    out = tmp_path / f"{name}.json"
    subprocess.run([sys.executable, "-m", "losscheck", "audit", "losscheck.examples.mistakes:SigmoidThenCrossEntropy",
                    "--as", "cross_entropy", "--max-examples", "8", "--format", "json", "-o", str(out), *extra],
                   capture_output=True, text=True, cwd=tmp_path, check=False)
    return out.read_text()


def test_two_runs_same_bytes_but_timings(tmp_path):
    first, second = _json(tmp_path, "a"), _json(tmp_path, "b")
    assert '"findings": [' in first and "LC102" in first
    assert without_timing(first) == without_timing(second)


def test_another_seed_draws_other_examples(tmp_path):
    assert without_timing(_json(tmp_path, "a")) != without_timing(_json(tmp_path, "c", "--seed", "7"))
