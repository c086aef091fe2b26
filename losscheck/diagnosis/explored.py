"""Explored parameter values: a disagreement that shows only at a value the user did not set.

The audit varies the parameters a candidate exposes (the binding's `explorable`) to learn what they mean. A
finding at such a value, on an input where the candidate agrees with the reference at the user's own values, is a
statement about the parameter (it means something else than the catalogue's parameter of that name: a multiple, a
form of smoothing, another role), not a defect of the loss the user runs. `settle` grades it a warning that names
the parameter and both values; where a diagnosis explains it (LC103: a convention or a parameter map), that warning
already says so. A candidate that also disagrees at the user's values keeps its error.
"""
from __future__ import annotations

from losscheck.judge.compare import compare_with_reference
from losscheck.judge.evidence import Violation
from losscheck.judge.tolerances import EXTREME_FLOAT32
from losscheck.pitfalls import PITFALLS


def settle(ctx, v: Violation) -> Violation:
    """`v` as a warning when it is an error seen only at explored parameter values and the candidate agrees with
    the reference on the same input at the user's configuration; else `v` unchanged."""
    if v.severity is not None or PITFALLS[v.code].severity != "error":
        return v
    changed = ctx.binding.explored(v.case.params)
    if not changed:
        return v
    yours = {name: ctx.binding.defaults.get(name) for name, _ in changed}
    if not agrees_on(ctx, v.case.with_params(**yours), PITFALLS[v.code].family):
        return v
    names = ", ".join(f"{name}={value!r} (yours: {yours[name]!r})" for name, value in changed)
    message = (f"{v.message}. This shows only at {names}, a value your configuration does not use; at yours the "
               f"candidate agrees with the reference on this input: its {_parameters(changed)} "
               f"something else than the catalogue's (a warning, not a defect of the loss you run)")
    return Violation(v.code, message, v.case, v.dtype, expected=v.expected, snippet=v.snippet, setup=v.setup,
                     grad=v.grad, severity="warning",
                     data={**v.data, "explored_only": {name: [value, yours[name]] for name, value in changed}})


def agrees_on(ctx, case, family: str) -> bool:
    """Whether the candidate agrees with the reference on `case`: its value (with the stability tolerance for a
    stability finding), and its gradient for a gradient finding."""
    from losscheck.checks import gradient  # an import circle: the checks' Context (judge/context.py) imports this

    try:
        compare_with_reference(ctx, case.rounded("float32"), tol=EXTREME_FLOAT32 if family == "stability" else None)
        if family == "gradient":
            gradient.compare_property(ctx, finite_only=False)(case)
    except Violation:
        return False
    return True


def _parameters(changed) -> str:
    names = [f"`{name}`" for name, _ in changed]
    return f"parameter {names[0]} means" if len(names) == 1 else f"parameters {', '.join(names)} mean"
