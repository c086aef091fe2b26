"""`losscheck ci`: audit every configured loss, write the reports, compare with the baseline, annotate.

Exit codes as `losscheck audit`: 0 nothing new, 1 new findings, 2 the configuration, the baseline or a
configured loss is unusable. The baseline is losscheck.gate.baseline, the summary losscheck.report.run_summary.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from losscheck.gate.baseline import (TODO_REASON, baseline_text, compare, entry_lines, legacy_note, load_baseline,
                                     updated_baseline)
from losscheck.gate.config import load
from losscheck.errors import UsageError
from losscheck.gate.github import github_annotations, on_github
from losscheck.options import checked, given
from losscheck.report.escape import printable
from losscheck.report.files import output_dir, output_file, report_stems, write_atomic, write_reports
from losscheck.report.run_summary import loss_verdict, render_summary, run_counts
from losscheck.gate.runner import audit_all


def _relative(path: Path) -> str:
    """`path` relative to the working directory, as the log and the annotations name it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _echo(line: str, file=None) -> None:
    """Print one line of the run's log, one line whatever a loss's text in it holds, which cannot act on the
    terminal."""
    print(printable(line).replace("\n", " "), file=file or sys.stdout)


def run(args) -> int:
    """`losscheck ci` (args from the argparse subparser in losscheck.cli)."""
    overrides = checked(given(args))  # --fail-on, --max-examples, --seed, --memory-limit: for every loss
    config = load(Path(args.config))
    if not config.losses:
        raise UsageError(f"{args.config} lists no losses: add [[tool.losscheck.loss]] tables with a target")
    jobs = args.jobs if args.jobs is not None else config.jobs
    if jobs < 1:
        raise UsageError(f"-j must be at least 1, not {jobs}")
    out_dir = (output_dir(args.output_dir, "--output-dir") if args.output_dir
               else output_dir(config.resolve(config.report_dir), "[tool.losscheck] 'report-dir'"))
    baseline_path = Path(args.baseline) if args.baseline else config.resolve(config.baseline)
    if args.update_baseline:
        baseline_path = output_file(baseline_path, "--baseline" if args.baseline else "[tool.losscheck] 'baseline'")
    baseline = load_baseline(baseline_path)
    losses = [loss.overridden(overrides) for loss in config.losses if args.only in loss.name]
    if not losses:
        raise UsageError(f"no configured loss matches --only '{args.only}'")

    note = None if args.update_baseline else legacy_note(baseline, baseline_path)
    if note:
        _echo(note, file=sys.stderr)
    for loss in losses:
        if loss.trusted_notice:
            _echo(loss.trusted_notice, file=sys.stderr)
    t0 = time.perf_counter()
    outcomes = audit_all(config.root, losses, jobs)
    seconds = time.perf_counter() - t0  # the one clock: printed below and in summary.md
    for o, stem in zip(outcomes, report_stems(outcomes)):
        if o.result is not None:
            write_reports(o.result, out_dir, stem, config.report_formats)

    if args.update_baseline:
        entries, added, removed = updated_baseline(outcomes, baseline, {loss.name for loss in config.losses})
        write_atomic(baseline_path, baseline_text(entries))
        _echo(f"losscheck ci: {_relative(baseline_path)} rewritten: {len(entries)} accepted finding(s), {added} added"
              f" (reason '{TODO_REASON}'), {removed} removed")
        baseline = entries
    cmp = compare(outcomes, baseline, {loss.name for loss in config.losses})
    summary = render_summary(outcomes, cmp, report_formats=config.report_formats, baseline_name=baseline_path.name,
                             title="losscheck ci", seconds=seconds)
    write_atomic(out_dir / "summary.md", summary)

    for o in outcomes:
        v = loss_verdict(o, cmp)
        detail = o.error if o.result is None else "; ".join(filter(None, [
            "new: " + ", ".join(cmp.new[o.name]) if o.name in cmp.new else "",
            "accepted: " + ", ".join(cmp.accepted[o.name]) if o.name in cmp.accepted else "",
            "below fail-on: " + ", ".join(dict.fromkeys(f.code for f in o.below())) if o.below() else "",
            "suppressed in the source: " + ", ".join(dict.fromkeys(f.code for f in o.result.suppressed))
            if o.result.suppressed else ""]))
        _echo(f"{v.upper():>12}  {o.name}" + (f"  ({detail})" if detail else ""))
    for e, why in cmp.stale:
        _echo(f"{'STALE':>12}  {e['target']} {e['code']} in {baseline_path.name}: {why}")
    todo = [e for e in baseline if e.get("reason", "").strip() in ("", TODO_REASON)]
    if todo:
        _echo(f"losscheck ci: {len(todo)} accepted finding(s) in {baseline_path.name} still need a reason "
              f"(replace '{TODO_REASON}')")
    if on_github():
        for line in github_annotations(outcomes, cmp, _relative(config.path), _relative(baseline_path),
                                       entry_lines(baseline_path)):
            _echo(line)
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with contextlib.suppress(OSError), open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(summary + "\n")

    unusable = [o for o in outcomes if o.result is None]
    new = bool(cmp.new)
    verdict = "unusable" if unusable else "FAIL" if new or (cmp.stale and args.fail_on_stale) else "PASS"
    _echo(f"losscheck ci: {verdict}: {run_counts(outcomes, cmp)}; in {seconds:.1f} s; reports in {_relative(out_dir)}/")
    for o in unusable:
        _echo(f"losscheck: error: {o.name}: {o.error}", file=sys.stderr)
    if unusable:
        return 2
    return 1 if new or (cmp.stale and args.fail_on_stale) else 0
