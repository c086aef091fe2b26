"""The api.call probe: which input layouts and target formats a candidate accepts, before any other check.

`probe` has the first place in checks.registry.ORDER (and runs when nothing is accepted yet: it is what finds
out); `accept` records its {layout: {target format: outcome}} in the audit's state, with the accepted layouts and
target formats every later check draws from; `unusable` is the one-line reason for exit 2 when the candidate runs
on nothing, recorded there too (AuditState.unusable).
"""
from __future__ import annotations

import numpy as np

from losscheck.judge.cases import cases
from losscheck.checks.registry import register
from losscheck.diagnosis.conventions import domains
from losscheck.judge import none_forms
from losscheck.judge.evidence import Evidence, Violation
from losscheck.judge.state import AuditState
from losscheck.specs.base import LAYOUTS
from losscheck.judge.tolerances import aligned, close

PROBE_EXAMPLES = 3
PARTLY = "partly: "  # some probe calls returned, others raised this
DISAGREES = "runs, but disagrees with the reference"  # a view or layout that may be broadcast, not understood


def accept_every_layout(ctx) -> None:
    """After an internal error of the probe: no record, so the checks draw from every layout, not from none."""
    accept(ctx.state, {})


@register("api.call", "api", needs_inputs=False, on_error=accept_every_layout)
def probe(ctx) -> Evidence:
    """api.call: find the layouts and target formats the candidate accepts, a few small valid calls per pair.

    Every layout the spec admits (batch, a batch of one, no batch dim, 2-D or 3-D spatial) is tried with every
    target format (class indices, (N, 1, ...) index maps, one-hot, probabilities, {0,1}, {-1,1}, ...) on
    PROBE_EXAMPLES drawn cases whose dimensions all have sizes of their own above one (N=2, C=3, H=4, ...:
    `cases(distinct=True)`), so that nothing runs by coincidence: a soft-target cross entropy does not broadcast
    class indices (N,) against (N, C) when N != C, and a loss written for (N, C) does not take (N, C, H, W) for a
    (N, C) array when H and W are above one and unlike C. A pair is accepted when every call returns, partly
    accepted when some do: its failures there are defects (a Dice that raises on an empty mask), so the checks
    after it draw from both (`AuditState.layouts`, `AuditState.target_formats`); target.shapes and target.formats
    say what a rejection means. A pair that runs is also held to the reference values of the same calls
    (`_mark_disagreeing`): a target view (an index map standing for a one-hot target) or a layout other than the
    primary one that runs but gives wrong values where the primary layout and format give right ones is recorded
    as DISAGREES and not drawn from (target.shapes: "returns wrong values ... instead of raising"). When every
    required layout raises (on some call) in the catalogue's input domain, the spec's other domains are tried
    (`_other_domain`: a loss on probabilities that rejects logits), and one that runs is adopted with an LC103. When nothing runs at all the audit is
    unusable (exit 2); when something runs but every batched layout the spec requires raises, that is an error.
    """
    probed, failures, agrees, lost, calls = _try_layouts(ctx)
    domain = None
    if _rejects_the_domain(ctx.spec, probed, agrees) and not lost and ctx.caller.hung is None:
        record, domain, tried = _other_domain(ctx, failures)
        calls += tried
        if domain is not None:
            probed, failures, agrees, lost, _ = record
    _mark_disagreeing(ctx.spec, probed, agrees)
    accept(ctx.state, probed)
    if not ctx.state.target_formats:
        first = list(failures.values())[:1]
        ctx.state.unusable = unusable(ctx, first)
        return Evidence(calls, first, detail="the candidate fails on every valid input")
    detail = (f"accepts layouts: {', '.join(ctx.state.layouts)}; "
              f"target formats: {', '.join(ctx.state.target_formats)}")
    if lost:  # a hang or a crash is a finding wherever it happens, the probe included
        return Evidence(calls, lost[:1], detail=detail)
    found = [] if ctx.caller.hung is not None else _unmet(ctx, failures)
    if found or ctx.caller.hung is not None:
        return Evidence(calls, found + ([domain] if domain else []), detail=detail)
    refusals, tried = _refused_values(ctx)
    form, shown = _none_form(ctx)
    return Evidence(calls + tried + shown, ([domain] if domain else []) + refusals + form, detail=detail)


def _none_form(ctx) -> tuple[list, int]:
    """([an LC403 warning], calls) where the candidate's reduction='none' takes a form of its own (flattened terms,
    one value per sample: losscheck.judge.none_forms), seen on the first accepted layout where its shape differs
    from the reference's: recorded in AuditState.none_form, so every later comparison of a 'none' or a 'sum' is
    made in that form. A 'none' of no known form is left to the checks (LC403's error)."""
    if "reduction" not in ctx.binding.explorable or "none" not in ctx.spec.reductions \
            or "none" in ctx.state.refused.get("reduction", ()):
        return [], 0
    calls = 0
    for layout in ctx.state.layouts:
        for case in _probe_cases(ctx, layout, ctx.state.target_formats[0])[:1]:
            case, calls = case.with_params(reduction="none"), calls + 1
            try:
                got = ctx.run(case)[0].detach().double().cpu().numpy()
            except Violation:
                return [], calls
            want = ctx.reference(case)
            got = aligned(got, want)
            if got.shape == want.shape:
                continue
            form = none_forms.form_of(got, want)
            if form is None:
                return [], calls
            ctx.state.none_form = form
            said = none_forms.SAYS[form].format(got=got.shape, want=want.shape)
            return [Violation("LC403", f"reduction='none' {said}; a caller that "
                              f"masks or weights 'none' by position needs the reference's shape", case,
                              severity="warning")], calls
    return [], calls


def _refused_values(ctx) -> tuple[list, int]:
    """(LC709 findings, calls): every value the audit would explore of a parameter the candidate takes (reduction
    'none' and 'sum', a smoothing of 0.1, ...), called once on an accepted case. A value the candidate refuses by
    raising, where its own value runs, is outside its contract (MONAI's DiceCELoss takes no reduction='none',
    asteroid's SingleSrcNegSDR no 'sum'): recorded in AuditState.refused, never drawn, and said as info; a raise there
    is never LC705. A value it takes but gets wrong is the other checks' to find."""
    case = _probe_cases(ctx, ctx.state.layouts[0], ctx.state.target_formats[0])[:1]
    if not case:
        return [], 0
    case, found, calls = case[0], [], 0
    try:
        ctx.run(case)
    except Violation:
        return [], 1  # its own values fail here: the other checks say so
    for name in ctx.binding.explorable:
        p = ctx.spec.param(name)
        if p.tensor or p.follows is not None:
            continue
        for value in p.values:
            if value == ctx.binding.defaults.get(name) or ctx.caller.hung is not None:
                continue
            calls += 1
            try:
                ctx.run(case.with_params(**{name: value}))
            except Violation as v:
                if v.code != "LC705":
                    continue  # a hang, a crash or a wrong return at that value: the checks that draw it say so
                ctx.state.refused.setdefault(name, set()).add(value)
                said = v.message.removeprefix("calling the loss ").removesuffix(" on a valid input")
                found.append(Violation("LC709", f"{name}={value!r} is outside the candidate's contract: {said}. It is "
                                       f"not explored; the candidate's own {name}="
                                       f"{ctx.binding.defaults.get(name)!r} runs", case.with_params(**{name: value}),
                                       severity="info"))
    return found, calls


def _taken(probed) -> set:
    """The layouts where some target format ran on every probe call."""
    return {layout for layout, outcomes in probed.items() if "accepted" in outcomes.values()}


def _rejects_the_domain(spec, probed, agrees) -> bool:
    """Whether the candidate rejects the catalogue's input domain, so the spec's other domains are tried: it raises
    (on some call) on every required layout, or its primary target format does and what runs on a required layout
    disagrees with the reference there (a language model's loss that flattens (B, T) with flatten(0, 1) takes
    (N, C) probability targets as one unbatched row of N·C logits: it runs, but on no input it was written for)."""
    taken = set(spec.required) & _taken(probed)
    primary = spec.target_formats[0]

    def runs_primary(layout):
        outcome = probed[layout].get(primary, "")
        return outcome == "accepted" or outcome.startswith(PARTLY)

    return not any(runs_primary(layout) or agrees.get((layout, target_format)) is not False
                   for layout in taken for target_format, outcome in probed[layout].items() if outcome == "accepted")


def _other_domain(ctx, failures):
    """(the probe's record, its LC103, calls) in the first input domain of the spec (probabilities,
    log-probabilities: conventions.domains) where the candidate takes a required layout on every call, once it
    has raised on some call of every one in the catalogue's domain; (None, None, calls) when it takes none there
    either. A loss that asserts 0 <= x <= 1 says which domain to draw: the domain is adopted (AuditState.adopt)
    and the rest of the audit runs in it."""
    before, calls = dict(ctx.state.detected), 0
    for name, value in domains(ctx.state.base_spec, ctx.state.fixed):
        ctx.state.adopt([(name, value)])
        record = _try_layouts(ctx)
        calls += record[4]
        if set(ctx.spec.required) & _taken(record[0]) and not record[3]:
            return record, _domain_finding(ctx, name, value, next(iter(failures.values()))), calls
        ctx.state.revert(before)
    return None, None, calls


def _domain_finding(ctx, name, value, rejected) -> Violation:
    """The LC103 naming the input domain the candidate takes, with what it raised in the catalogue's."""
    option = next(c for c in ctx.spec.conventions if c.name == name).options[value]
    raised = rejected.message.removeprefix("calling the loss ").removesuffix(" on a valid input")
    return Violation("LC103", f"{name}={value}: the candidate {option.says}: on the catalogue's inputs it {raised}, "
                     f"and it runs in this domain, so the audit ran in it. If this is intended, declare it: "
                     f"--convention {name}={value}", rejected.case,
                     data={"variant": f"{name}={value}", "conventions": [[name, value]]})


def _try_layouts(ctx):
    """(probed, failures, agrees, lost, calls): a few calls of every layout and target format of the spec in force."""
    spec, probed, failures, agrees, lost, calls = ctx.spec, {}, {}, {}, [], 0
    for layout in spec.layouts:
        probed[layout] = {}
        for target_format in spec.target_formats:
            errors, results, n = [], [], 0
            for case in _probe_cases(ctx, layout, target_format):
                n += 1
                try:
                    results.append((case, ctx.run(case)[0]))
                except Violation as v:
                    errors.append(v)
                    if v.code == "LC706":
                        lost.append(v)
                if ctx.caller.hung is not None:
                    break
            calls += n
            if not errors:
                probed[layout][target_format] = "accepted"
                agrees[layout, target_format] = _agree(ctx, results)
            else:
                probed[layout][target_format] = (PARTLY if len(errors) < n else "") + errors[0].message
                failures[layout] = failures.get(layout) or errors[0]
            if ctx.caller.hung is not None:
                break
        if ctx.caller.hung is not None:
            break
    return probed, failures, agrees, lost, calls


def _unmet(ctx, failures) -> list:
    """Errors for a contract the candidate does not keep: every layout the spec requires rejected (LC705: a loss
    that raises on every batch runs only where nothing is checked), or a layout the user declared (LC504)."""
    def why(layout):
        if layout in failures:
            return failures[layout].message, failures[layout].case
        return ("it returns wrong values there instead of raising",
                _probe_cases(ctx, layout, ctx.state.target_formats[0])[0])

    out, accepted = [], set(ctx.state.layouts)
    required = ctx.spec.required
    if not set(required) & accepted:
        message, case = why(required[0])
        out.append(Violation("LC705", f"raises on every batched input it must take ({_names(required)}): {message}. "
                             f"It runs only on {_names(ctx.state.layouts)}, so nothing a training batch would "
                             f"reach was checked", case))
    for layout in ctx.state.declared_layouts:
        if layout not in accepted:
            message, case = why(layout)
            out.append(Violation("LC504", f"{LAYOUTS[layout]} is declared (--layout {layout}) but the candidate does "
                                 f"not take it: {message}", case))
    return out


def _names(layouts) -> str:
    return ", ".join(LAYOUTS[layout] for layout in layouts)


def _probe_cases(ctx, layout, target_format) -> list:
    """PROBE_EXAMPLES cases of a layout and format, every dimension of its own size above one, rounded to float32."""
    drawn = []
    strategy = cases(ctx.state, layouts=[layout], target_formats=[target_format], explore=False, distinct=True)
    ctx.search(strategy, lambda case: drawn.append(case.rounded("float32")), max_examples=PROBE_EXAMPLES)
    return drawn[:PROBE_EXAMPLES]


def _agree(ctx, results) -> bool | None:
    """Whether the candidate's results are the reference values (None: the reference cannot say, e.g. nan)."""
    verdicts = []
    for case, out in results:
        try:
            want = ctx.reference(case)
        except (ValueError, TypeError, IndexError):
            return None
        if not np.all(np.isfinite(want)):
            continue
        got = aligned(out.detach().double().cpu().numpy(), want)
        verdicts.append(close(got, want, "float32"))
    return all(verdicts) if verdicts else None


def _mark_disagreeing(spec, probed, agrees) -> None:
    """Mark as DISAGREES the running pairs whose values are wrong where the primary pair's are right: a target view
    that disagrees (broadcast, not understood), and a layout other than the primary one (e.g. (N, C, H, W) fed to
    a loss written for (N, C)). Where the primary pair disagrees too, values say nothing about the contract (the
    candidate may follow a convention the value check names later), so only views are judged, as before; so it is
    in a domain that shows every layout in one form (LossSpec.one_form: there a layout that disagrees holds wrong
    values, which the value check names)."""
    primary = next(((layout, target_format) for layout in spec.layouts for target_format in spec.target_formats
                    if target_format not in spec.target_views
                    and probed.get(layout, {}).get(target_format) == "accepted"), None)
    right = primary is not None and agrees.get(primary) is True and not spec.one_form
    for (layout, target_format), agree in agrees.items():
        view = target_format in spec.target_views
        if agree is False and (view or (right and layout != primary[0])):
            probed[layout][target_format] = DISAGREES


def unusable(ctx, failures) -> str | None:
    """One line when the candidate raised for every layout and format (exit 2), quoting the first error; None when
    it accepts something, or when it hung, crashed or exited rather than raising (an LC706 finding, not unusable
    input). `failures` are the violations the probe reports."""
    probed = ctx.state.probed
    if ctx.state.target_formats or not probed or ctx.caller.hung is not None:
        return None
    layout = ctx.spec.layouts[0]
    target_format, error = next(iter(probed[layout].items()))
    if not any(v.code == "LC705" for v in failures):
        return None
    line = (f"{ctx.candidate.target} accepts none of the inputs of '{ctx.spec.id}': on {LAYOUTS[layout]} "
            f"with {target_format} targets, {error}")
    takes = ctx.candidate.call_arguments()
    if takes and takes[:len(ctx.spec.signature)] != list(ctx.spec.signature):
        line += (f" (the audit calls it as loss({', '.join(ctx.spec.signature)}); it takes ({', '.join(takes)}): "
                 f"is '{ctx.spec.id}' the right --as?)")
    return line


def accept(state: AuditState, probed: dict) -> None:
    """Record the probe's {layout: {target format: outcome}} in the audit's state, with the accepted layouts and
    target formats it implies; with no record at all (the probe failed) every layout and the default target format."""
    spec = state.spec
    state.probed = probed
    if not probed:
        state.layouts, state.target_formats = tuple(spec.layouts), tuple(spec.target_formats[:1])
        return

    def formats_of(layout):
        outcomes = probed.get(layout, {})
        runs = [f for f, outcome in outcomes.items() if outcome == "accepted" or outcome.startswith(PARTLY)]
        return runs or [f for f, outcome in outcomes.items() if outcome == DISAGREES]

    def outcome(layout):
        return probed.get(layout, {}).get(state.target_formats[0], "")

    def runs(layout):  # a layout that disagrees is drawn from only where the first one disagrees as well
        return outcome(layout) == "accepted" or outcome(layout).startswith(PARTLY) or \
            outcome(layout) == DISAGREES == outcome(first)

    first = next((layout for layout in spec.layouts if formats_of(layout)), None)
    state.target_formats = tuple(formats_of(first)) if first else ()
    state.layouts = tuple(layout for layout in spec.layouts if first and runs(layout))

