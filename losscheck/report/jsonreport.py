"""The JSON report: AuditResult.to_dict(), documented in the README (schema: target, reference, seed,
versions, tolerances, parameters, verdict, counts, checks[], findings[]). Written as ASCII (json's default), so
a candidate's control characters arrive as \\u escapes, harmless on a terminal and valid JSON."""
import json


def render(result) -> str:
    return json.dumps(result.to_dict(), indent=2, default=str) + "\n"
