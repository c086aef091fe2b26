"""The JSON report: AuditResult.to_dict(), documented in the README (schema: target, reference, seed,
versions, tolerances, parameters, verdict, counts, checks[], findings[])."""
import json


def render(result) -> str:
    return json.dumps(result.to_dict(), indent=2, default=str) + "\n"
