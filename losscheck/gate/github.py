"""GitHub Actions output of `losscheck ci`: workflow-command annotations (`::error file=F,line=N,title=T::...`).

A new finding sits on the loss's own definition (AuditResult.source: its file relative to the repository's root
and its line, losscheck.judge.source), so on a pull request it shows on the changed code; where the source is
unknown (a built-in, an installed package) it sits on the loss's entry in the configuration. A stale baseline
entry sits on its own line of the baseline.
"""
from __future__ import annotations

import os

from losscheck.gate.baseline import Comparison, entry_key


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


def github_annotations(outcomes, cmp: Comparison, config_file: str, baseline_file: str,
                       baseline_lines: dict | None = None) -> list[str]:
    """The annotations of a `losscheck ci` run: unusable losses (errors on the loss's line of the configuration),
    new findings (errors on the loss's definition) and stale baseline entries (warnings on their line of the
    baseline, `baseline_lines`: losscheck.gate.baseline.entry_lines)."""
    out = []
    for o in outcomes:
        if o.result is None:
            out.append(annotation("error", f"losscheck: {o.name} cannot be audited", o.error, config_file,
                                  o.loss.line))
    for name, by_code in cmp.new.items():
        o = next(o for o in outcomes if o.name == name)
        file, line = (o.result.source["file"], o.result.source["line"]) if o.result.source else (config_file,
                                                                                                   o.loss.line)
        for code, findings in by_code.items():
            f = findings[0]
            out.append(annotation("error", f"losscheck {code} {f.family}: {f.title}",
                                  f"{name}: {f.message} (accept it in {baseline_file} with a reason, suppress it "
                                  f"with `# losscheck: ignore[{code}] reason` on this line, or fix the loss)",
                                  file, line))
    for e, why in cmp.stale:
        out.append(annotation("warning", f"losscheck: stale baseline entry {e['code']}",
                              f"{e['target']} {e['code']}: {why}; remove it or run losscheck ci --update-baseline",
                              baseline_file, (baseline_lines or {}).get(entry_key(e))))
    return out


def on_github() -> bool:
    """Whether this runs in a GitHub Actions job (GITHUB_ACTIONS set and not false)."""
    return os.environ.get("GITHUB_ACTIONS", "").strip().lower() not in ("", "0", "false", "no")
