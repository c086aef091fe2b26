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


# Measures the page inside an iframe of the given width (headless Chromium will not make a window narrower
# than 500 px) and posts back how wide the page is and what overflows it outside a sideways-scrolling box.
MEASURE = """<script>addEventListener("load", () => {
  const width = document.documentElement.clientWidth, over = [];
  for (const e of document.querySelectorAll("body *")) {
    if (e.getBoundingClientRect().right > width + 0.5 && !e.closest(".scroll")) over.push(e.tagName);
  }
  const boxes = [...document.querySelectorAll(".scroll")].map(b => [b.scrollWidth, b.clientWidth]);
  parent.postMessage(JSON.stringify({width, page: document.documentElement.scrollWidth, over, boxes}), "*");
});</script>"""


def measure(html: str, width: int, tmp_path) -> dict:
    import json

    (tmp_path / "page.html").write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    frame = tmp_path / "frame.html"
    frame.write_text(f'<!doctype html><body style="margin:0"><iframe src="page.html" style="border:0;width:{width}px;'
                     'height:900px"></iframe><pre id="m"></pre><script>addEventListener("message", e => '
                     '{document.getElementById("m").textContent = e.data})</script></body>', encoding="utf-8")
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          "--virtual-time-budget=3000", f"--window-size={width + 100},1000", frame.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="m">(.*?)</pre>', out.stdout, re.S)
    assert found and found.group(1), out.stderr[-500:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_report_fits_a_phone_without_sideways_scrolling(tmp_path):
    result = audit("losscheck.examples.mistakes:ClampedBCE", as_="bce", max_examples=5)
    assert result.findings
    m = measure(render(result, "html"), 390, tmp_path)
    assert m["page"] <= m["width"] and not m["over"], m
    assert all(scroll <= client for scroll, client in m["boxes"]), m  # the family table too: stacked rows


def test_gallery_index_fits_a_laptop_with_the_loss_column_in_view(tmp_path):
    from losscheck.commands.gallery import FAMILIES, index_html

    long_target = "losscheck.examples.mistakes:SigmoidThenCrossEntropyWithAVeryLongName"
    rows = [{"target": long_target, "id": "multilabel_soft_margin", "stem": "x", "verdict": "fail",
             "description": "Applies sigmoid to the logits, then CrossEntropyLoss (which applies log_softmax "
                            "again), and says so at length. " * 2,
             "counts": {f: 12 for f in FAMILIES}, "codes": ["LC101", "LC102", "LC202", "LC303", "LC502", "LC504"]}] * 40
    page = index_html(rows, 0)
    assert "position: sticky" in page
    m = measure(page, 1366, tmp_path)
    assert m["page"] <= m["width"] and all(scroll <= client for scroll, client in m["boxes"]), m
