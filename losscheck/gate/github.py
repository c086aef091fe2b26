"""GitHub Actions output of `losscheck ci`: workflow-command annotations (`::error file=F,line=N,title=T::...`)."""
from __future__ import annotations

import os

from losscheck.gate.baseline import Comparison


def _escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF escaped."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A workflow command's property value: also ':' and ','."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, title: str, message: str, file: str | None = None, line: int | None = None) -> str:
    """A GitHub Actions workflow command: `::error file=F,line=N,title=T::message`."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def github_annotations(outcomes, cmp: Comparison, config_file: str, baseline_file: str) -> list[str]:
    """The annotations of a `losscheck ci` run: unusable losses and new findings (errors, on the loss's line
    of the configuration) and stale baseline entries (warnings)."""
    out = []
    for o in outcomes:
        if o.result is None:
            out.append(annotation("error", f"losscheck: {o.name} cannot be audited", o.error, config_file,
                                  o.loss.line))
    for name, by_code in cmp.new.items():
        loss = next(o.loss for o in outcomes if o.name == name)
        for code, findings in by_code.items():
            f = findings[0]
            out.append(annotation("error", f"losscheck {code} {f.family}: {f.title}",
                                  f"{name}: {f.message} (accept it in {baseline_file} with a reason, or fix the "
                                  "loss)", config_file, loss.line))
    for e, why in cmp.stale:
        out.append(annotation("warning", f"losscheck: stale baseline entry {e['code']}",
                              f"{e['target']} {e['code']}: {why}; remove it or run losscheck ci --update-baseline",
                              baseline_file))
    return out


def on_github() -> bool:
    """Whether this runs in a GitHub Actions job (GITHUB_ACTIONS set and not false)."""
    return os.environ.get("GITHUB_ACTIONS", "").strip().lower() not in ("", "0", "false", "no")
