"""The markdown summary of a run over many losses (`summary.md`): of `losscheck ci` (against the baseline)
and of the pytest plugin (without one): one row per loss, then the unusable losses, the new findings with a
reproducer, the accepted ones and the stale baseline entries. `run_counts` is the run's one line of counts, which
`losscheck ci` prints too, so stdout and summary.md say the same."""
from __future__ import annotations

from losscheck.gate.baseline import Comparison
from losscheck.report import EXTENSIONS
from losscheck.report.escape import code_span, fenced, printable
from losscheck.report.files import report_stems
from losscheck.gate.runner import LossOutcome


def loss_verdict(o: LossOutcome, cmp: Comparison | None) -> str:
    """One word for a loss in a run: unusable, fail or pass (no baseline); new findings, accepted or pass."""
    if o.result is None:
        return "unusable"
    if cmp is None:
        return "fail" if o.failing() else "pass"
    if cmp.new.get(o.name):
        return "new findings"
    return "accepted" if cmp.accepted.get(o.name) else "pass"


# how each verdict of loss_verdict reads in a count of losses
COUNTED = {"pass": "passing", "fail": "failing", "new findings": "with new findings",
           "accepted": "with accepted findings only", "unusable": "unusable"}


def run_counts(outcomes: list[LossOutcome], cmp: Comparison | None = None) -> str:
    """The counts of a run in one line, each saying what it counts: the losses by verdict, then the failing
    findings (against a baseline: the new and the accepted ones) with the number of pitfall codes among them,
    and the stale baseline entries."""
    verdicts = [loss_verdict(o, cmp) for o in outcomes]
    losses = ", ".join(f"{verdicts.count(v)} {COUNTED[v]}" for v in dict.fromkeys(verdicts))
    if cmp is None:
        parts = [_findings("failing", [f for o in outcomes for f in o.failing()])]
    else:
        parts = [_findings("new", [f for by_code in cmp.new.values() for fs in by_code.values() for f in fs]),
                 _findings("accepted", [f for by_code in cmp.accepted.values() for _, fs in by_code.values()
                                        for f in fs]),
                 f"{len(cmp.stale)} stale baseline entr{'y' if len(cmp.stale) == 1 else 'ies'}"]
    return f"{len(outcomes)} loss(es) ({losses}); " + ", ".join(parts)


def _findings(what: str, findings: list) -> str:
    codes = len({f.code for f in findings})
    return f"{len(findings)} {what} finding(s)" + (f" of {codes} code(s)" if findings else "")


def render_summary(outcomes: list[LossOutcome], cmp: Comparison | None = None, *, report_formats=(), baseline_name="",
                   title="losscheck", seconds: float | None = None) -> str:
    """The markdown summary of a run (for a pull request or a job summary). Text from the losses, the
    configuration or the baseline appears only inside code spans and fences (losscheck.report.escape).

    `seconds`: the run's time as its command measured and printed it (default: the audits' own times, summed);
    the reports are linked under the names losscheck.report.files.report_stems gives `outcomes`."""
    def cell(text) -> str:
        return code_span(text, in_table=True) or "-"

    verdicts = [loss_verdict(o, cmp) for o in outcomes]
    failed = any(v in ("unusable", "new findings", "fail") for v in verdicts)
    if seconds is None:
        seconds = sum(o.result.seconds for o in outcomes if o.result is not None)
    out = [f"# {title}: {'FAIL' if failed else 'PASS'}", "",
           f"{run_counts(outcomes, cmp)}; in {seconds:.1f} s.", "",
           "| loss | as | verdict | failing | accepted | below fail-on | reports |",
           "|---|---|---|---|---|---|---|"]
    for o, v, stem in zip(outcomes, verdicts, report_stems(outcomes)):
        loss_id = o.result.parameters.get("loss", "") if o.result else (o.loss.as_ or "")
        new = (cmp.new.get(o.name, {}) if cmp else {f.code: 1 for f in o.failing()})
        accepted = cmp.accepted.get(o.name, {}) if cmp else {}
        below = dict.fromkeys(f.code for f in o.below())
        links = " ".join(f"[{f}]({stem}.{EXTENSIONS[f]})" for f in report_formats) if o.result else ""
        out.append(f"| {cell(o.name)} | {cell(loss_id)} | **{v}** | {', '.join(new) or '-'} | "
                   f"{', '.join(accepted) or '-'} | {', '.join(below) or '-'} | {links} |")
    out.append("")
    unusable = [o for o in outcomes if o.result is None]
    if unusable:
        out += ["## Unusable", ""] + [f"- {code_span(o.name)}: {code_span(o.error)}" for o in unusable] + [""]
    new_by_loss = cmp.new if cmp else {o.name: _by_code(o.failing()) for o in outcomes if o.failing()}
    if new_by_loss:
        out += ["## New findings" if cmp else "## Failing findings", ""]
        for name, by_code in new_by_loss.items():
            out += [f"### {code_span(name)}", ""]
            for code, findings in by_code.items():
                f = findings[0]
                out.append(f"- **{code}** {f.family}: {f.title}: {code_span(f.message)}")
            first = next(iter(by_code.values()))[0]
            out += ["", f"<details><summary>reproducer for {first.code}</summary>", "",
                    *fenced(first.reproducer, "python"), "", "</details>", ""]
    if cmp and cmp.accepted:
        out += [f"## Accepted in {code_span(baseline_name) or 'the baseline'}", ""]
        out += [f"- {code_span(name)} **{code}** {findings[0].title}: {code_span(reason) or '(no reason given)'}"
                for name, by_code in cmp.accepted.items() for code, (reason, findings) in by_code.items()]
        out.append("")
    if cmp and cmp.stale:
        out += ["## Stale baseline entries", "",
                "These accepted findings match nothing now: remove them, or run `losscheck ci --update-baseline`.", ""]
        out += [f"- {code_span(e['target'])} {code_span(e['code'])}: {why}" for e, why in cmp.stale] + [""]
    return printable("\n".join(out))


def _by_code(findings) -> dict:
    """Findings grouped by code, in the order they came."""
    out = {}
    for f in findings:
        out.setdefault(f.code, []).append(f)
    return out
