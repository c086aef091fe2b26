"""The JSON report: AuditResult.to_dict(), documented in the README (schema: target, reference, seed,
versions, tolerances, parameters, verdict, counts, checks[], findings[]).

Strict JSON, whatever the audit saw: written as ASCII (json's default), so a candidate's control characters
arrive as \\u escapes, harmless on a terminal; and JSON has no NaN or infinity, so a non-finite number (a
loss that returned nan) is the string "nan", "inf" or "-inf"."""
import json
import math


def _strict(value):
    """`value` with every non-finite float replaced by its name."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def render(result) -> str:
    return json.dumps(_strict(result.to_dict()), indent=2, default=str, allow_nan=False) + "\n"
