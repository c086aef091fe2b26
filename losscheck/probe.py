"""The api.call probe: which input layouts and target formats a candidate accepts, before any other check.

`probe` is the first check of every audit; `accept` turns its {layout: {format: outcome}} record into the
binding's accepted layouts and formats (in the worker and, from the streamed record, in the parent);
`unusable` is the one-line reason for exit 2 when the candidate runs on nothing. Torch and hypothesis are
imported at call time: `import losscheck` stays light.
"""
from __future__ import annotations

PROBE_EXAMPLES = 3
PARTLY = "partly: "  # some probe calls returned, others raised this
DISAGREES = "runs, but disagrees with the reference"  # a target view that may be broadcast, not understood
UNUSABLE = "skipped: the candidate accepts none of the loss's layouts and target formats (see api.call)"


def probe(ctx):
    """api.call: find the layouts and target formats the candidate accepts, a few small valid calls per pair.

    Every layout the spec admits (batch, a batch of one, no batch dim, 2-D or 3-D spatial) is tried with every
    target format (class indices, (N, 1, ...) index maps, one-hot, probabilities, {0,1}, {-1,1}, ...) on
    PROBE_EXAMPLES drawn cases with sizes of 2 and more where the layout allows. A pair is accepted when every
    call returns, partly accepted when some do: its failures there are defects (a Dice that raises on an empty
    mask), so the checks after it draw from both (`Binding.layouts`, `Binding.formats`); target.shapes and
    target.formats say what a rejection means. A target view (an index map standing for a one-hot target)
    that runs is kept only when it also gives the reference value or nothing else runs: a loss that
    broadcasts a (N, 1, H, W) map against (N, C, H, W) probabilities does not take index maps. When nothing
    runs at all the audit is unusable (exit 2).
    """
    from losscheck.cases import cases
    from losscheck.checks.base import Outcome, Violation

    spec, probed, failures, calls = ctx.spec, {}, [], 0
    for layout in spec.layouts:
        probed[layout] = {}
        for fmt in spec.target_formats:
            strategy = cases(ctx.binding, layouts=[layout], formats=[fmt], explore=False)
            errors, n = [], 0
            for case in _probe_cases(ctx, strategy):
                n += 1
                try:
                    ctx.run(case.rounded("float32"))
                except Violation as v:
                    errors.append(v)
                if ctx.caller.hung is not None:
                    break
            calls += n
            if not errors:
                probed[layout][fmt] = "accepted" if fmt not in spec.target_views or _agrees(ctx, strategy) \
                    else DISAGREES
            else:
                probed[layout][fmt] = (PARTLY if len(errors) < n else "") + errors[0].message
                failures.append(errors[0])
            if ctx.caller.hung is not None:
                break
        if ctx.caller.hung is not None:
            break
    accept(ctx.binding, probed)
    ctx.binding.probed = probed
    lost = [v for v in failures if v.code == "LC706"]  # a hang or a crash is a finding wherever it happens
    if ctx.binding.formats:
        return Outcome(calls, lost[:1], detail=f"accepts layouts: {', '.join(ctx.binding.layouts)}; "
                                     f"target formats: {', '.join(ctx.binding.formats)}")
    return Outcome(calls, failures[:1], detail="the candidate fails on every valid input")


def _probe_cases(ctx, strategy, draws=12) -> list:
    """PROBE_EXAMPLES cases of the strategy, sizes of 2 and more preferred (a one-channel input hides what a loss
    does with channels), else the first ones drawn (the layout fixes a size at 1: no batch dim, a (N, 1) var)."""
    drawn = []
    ctx.search(strategy, drawn.append, max_examples=draws)
    big = [_every_size_above_one(case) for case in drawn]
    return ([c for c, b in zip(drawn, big) if b] + [c for c, b in zip(drawn, big) if not b])[:PROBE_EXAMPLES]


def _every_size_above_one(case) -> bool:
    """Whether every input of two or more dims has all its sizes after the first (the batch) above one."""
    shaped = [a for a in case.inputs if a.ndim >= 2]
    return bool(shaped) and all(min(a.shape[1:]) >= 2 for a in shaped)


def _agrees(ctx, strategy, examples=8) -> bool:
    """Whether the candidate gives the reference value on a few drawn cases (a call that raises disagrees)."""
    from losscheck.checks.value import compare

    return ctx.search(strategy, lambda case: compare(ctx, case.rounded("float32")), max_examples=examples)[1] is None


def unusable(ctx, result) -> str | None:
    """One line when the candidate raised for every layout and format (exit 2), quoting the first error."""
    from losscheck.specs.base import LAYOUTS

    probed = ctx.binding.probed
    if ctx.binding.formats or not probed or ctx.caller.hung is not None:
        return None
    layout = ctx.spec.layouts[0]
    fmt, error = next(iter(probed[layout].items()))
    if not any(f.code == "LC705" for c in result.checks if c.name == probe.check_name for f in c.findings):
        return None  # it crashed or exited rather than raising: an LC706 finding, not unusable input
    line = (f"{ctx.candidate.target} accepts none of the inputs of '{ctx.spec.id}': on {LAYOUTS[layout]} "
            f"with {fmt} targets, {error}")
    takes = ctx.candidate.call_arguments()
    if takes and takes[:len(ctx.spec.signature)] != list(ctx.spec.signature):
        line += (f" (the audit calls it as loss({', '.join(ctx.spec.signature)}); it takes ({', '.join(takes)}): "
                 f"is '{ctx.spec.id}' the right --as?)")
    return line


def accept(binding, probed: dict) -> None:
    """Set the binding's accepted layouts and formats from the probe's {layout: {format: outcome}}; with no
    record at all (the probe failed) every layout and the default target format."""
    spec = binding.spec
    if not probed:
        binding.layouts, binding.formats = tuple(spec.layouts), tuple(spec.target_formats[:1])
        return

    def formats_of(layout):
        outcomes = probed.get(layout, {})
        runs = [f for f, outcome in outcomes.items() if outcome == "accepted" or outcome.startswith(PARTLY)]
        return runs or [f for f, outcome in outcomes.items() if outcome == DISAGREES]

    def runs(layout, fmt):
        outcome = probed.get(layout, {}).get(fmt, "")
        return outcome in ("accepted", DISAGREES) or outcome.startswith(PARTLY)

    first = next((layout for layout in spec.layouts if formats_of(layout)), None)
    binding.formats = tuple(formats_of(first)) if first else ()
    binding.layouts = tuple(layout for layout in spec.layouts if first and runs(layout, binding.formats[0]))


probe.check_name, probe.family = "api.call", "api"
