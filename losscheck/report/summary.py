"""Numbers every report shows: per-family check counts and the verdict line."""
from losscheck.pitfalls import FAMILIES

HEADERS = ["family", "checks", "pass", "fail", "skip", "error", "findings"]


def family_rows(result) -> list[list]:
    rows = []
    for family in FAMILIES:
        checks = [c for c in result.checks if c.family == family]
        if not checks:  # an opt-in family this audit did not run (precision without --precision)
            continue
        count = lambda s: sum(c.status == s for c in checks)  # noqa: E731
        rows.append([family, len(checks), count("pass"), count("fail"), count("skip"), count("error"),
                     ", ".join(sorted({f.code for c in checks for f in c.findings})) or "-"])
    return rows


def verdict(result) -> str:
    c = result.counts()
    word = "UNUSABLE" if result.unusable else "PASS" if result.ok else "FAIL"
    rule = " (--fail-on warning)" if result.fail_on == "warning" else ""
    return (f"{word}: {c['error']} error(s), {c['warning']} warning(s), {c['info']} info in {result.seconds:.1f} s"
            f"{rule}")


def inputs_line(result) -> str:
    """What the audit drew (the api.call probe) and the conventions it audited under, on one line."""
    parts = [f"id {result.parameters['loss']} {result.parameters['id_guessed']}"] if result.parameters.get(
        "id_guessed") else []
    if result.layouts.get("accepted"):
        parts.append(f"layouts {', '.join(result.layouts['accepted'])}")
    for dim, given in result.parameters.get("sizes", {}).items():
        parts.append(f"{dim} fixed at {given.partition('=')[2]} by its {given.partition('=')[0]} argument (forced edge "
                     "values of other sizes skipped)")
    if result.parameters.get("target_formats"):
        parts.append(f"target formats {', '.join(result.parameters['target_formats'])}")
    declared_by = {v: k for k, v in result.parameters.get("conventions_from", {}).items()}
    if result.conventions:
        parts.append("conventions " + ", ".join(
            f"{k}={v}" + (f" (from its {declared_by[f'{k}={v}']} argument)" if f"{k}={v}" in declared_by else "")
            for k, v in result.conventions.items()))
    return "; ".join(parts)


def tolerance_line(result) -> str:
    return "; ".join(f"{k} rtol={v['rtol']:g} atol={v['atol']:g}" for k, v in result.tolerances.items())


def suppressed_lines(result) -> list[str]:
    """One line per finding an inline `# losscheck: ignore[CODE] reason` suppressed: its code, check, layout and
    reason (they do not count for the verdict)."""
    where = f" at {result.source['file']}:{result.source['line']}" if result.source else ""
    return [f"{f.code} {f.severity} [{f.check}{', ' + f.layout if f.layout else ''}] {f.title}: suppressed{where}"
            f" ({f.suppressed or 'no reason given'})" for f in result.suppressed]
