"""Inline SVG plots (matplotlib) of a finding's sweep: loss and gradient of candidate and reference along
one line through the failing input, with the example and the point where the candidate parts from the
reference marked."""
from __future__ import annotations

import io
import re


def sweep_svg(sweep: dict, title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "losscheck"  # stable element ids: same audit, same bytes
    t = [x if x is not None else float("nan") for x in sweep["t"]]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), constrained_layout=True)
    for ax, key, label in ((axes[0], "", "loss"), (axes[1], "_slope", "d loss / dt")):
        for who, style in (("reference", {"color": "#0969da", "lw": 2}), ("candidate", {"color": "#cf222e", "ls": "--"})):
            ys = [y if y is not None else float("nan") for y in sweep[who + key]]
            ax.plot(t, ys, label=who, **style)
        if sweep.get("example_at") is not None:
            ax.axvline(sweep["example_at"], color="#59636e", lw=1, ls="-.", label="the example")
        if sweep.get("parts_at") is not None:
            ax.axvline(sweep["parts_at"], color="#9a6700", lw=1, ls=":", label="parts here")
        ax.set_xlabel("t")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)  # inline SVG in HTML needs no namespace URLs
