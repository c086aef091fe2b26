"""The HTML report in a real browser (headless Chromium from Debian's packages, installed by .ci/run):
it loads, shows the verdict and every finding, and runs no script that a candidate's text supplied."""
import re
import shutil
import subprocess

import pytest

from losscheck import audit
from losscheck.report import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EVIL = "<script>document.title='pwned'</script><img src=x onerror=\"document.body.dataset.pwned='yes'\">"


class MarkupRaisingMSE:
    """Correct on one sample, raises with markup in its message for larger batches; misses 0.5 otherwise."""

    def __call__(self, input, target):
        if input.dim() == 4:
            raise ValueError(EVIL)
        return ((input - target) ** 2).sum() / max(input.shape[0] if input.dim() else 1, 1)


def dump_dom(path, tmp_path):
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          "--virtual-time-budget=2000", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    return out.stdout


def test_report_renders_and_runs_no_candidate_script(tmp_path):
    result = audit(MarkupRaisingMSE(), as_="mse", max_examples=10)
    assert result.findings and any(EVIL in f.message for f in result.findings)
    page = tmp_path / "report.html"
    page.write_text(render(result, "html"), encoding="utf-8")
    dom = dump_dom(page, tmp_path)
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert "pwned" not in title and title.startswith("losscheck")
    assert 'data-pwned' not in dom
    assert "FAIL" in re.search(r'id="verdict".*?</p>', dom, re.S).group(0)
    assert dom.count('class="finding') == len(result.findings)
    for f in result.findings:
        assert f.code in dom
    assert "&lt;script&gt;document.title" in dom  # the candidate's text is shown, as text


def test_screenshot(tmp_path):
    result = audit("torch.nn.MSELoss", max_examples=3)
    page = tmp_path / "report.html"
    page.write_text(render(result, "html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=400,900", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 5000
