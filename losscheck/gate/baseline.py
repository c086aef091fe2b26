"""The baseline of `losscheck ci` (`losscheck-baseline.json`): accepted findings, keyed by loss and code.

```json
{"accepted": [{"target": "mypkg.losses:FocalLoss", "code": "LC605", "reason": "channels-last is never used"}]}
```

`target` is the loss's `name` in the configuration (its target string unless a name is given). A failing
finding whose (target, code) is listed passes; any other fails the gate; an entry that matches no finding
any more is stale. `updated_baseline` accepts the current findings, keeping the reasons already written and
marking new entries "TODO: say why".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from losscheck.errors import UsageError
from losscheck.gate.runner import LossOutcome

TODO_REASON = "TODO: say why"


@dataclass
class Comparison:
    """Failing findings split by the baseline: new ones, accepted ones (with their reason), stale entries."""

    new: dict = field(default_factory=dict)       # name -> {code: [findings]}
    accepted: dict = field(default_factory=dict)  # name -> {code: (reason, [findings])}
    stale: list = field(default_factory=list)     # [(entry, why)]


def load_baseline(path: Path) -> list[dict]:
    """The accepted findings in the baseline at `path` ([] when there is no file); UsageError when it is a
    folder or something else that is not a regular file, cannot be read, or is not a baseline."""
    path = Path(path)
    if not path.exists():
        return []
    if not path.is_file():
        raise UsageError(f"the baseline {path} is {'a folder' if path.is_dir() else 'not a regular file'}; "
                         "name a JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read the baseline {path}: {e}") from None
    entries = data.get("accepted") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"the baseline {path} must be a JSON object with an \"accepted\" list")
    seen = set()
    for i, e in enumerate(entries, 1):
        if not isinstance(e, dict) or not isinstance(e.get("target"), str) or not isinstance(e.get("code"), str):
            raise UsageError(f"the baseline {path}: entry #{i} needs string \"target\" and \"code\" keys")
        if not isinstance(e.get("reason", ""), str):
            raise UsageError(f"the baseline {path}: entry #{i} has a \"reason\" that is not a string")
        key = (e["target"], e["code"])
        if key in seen:
            raise UsageError(f"the baseline {path} lists {e['target']} {e['code']} twice")
        seen.add(key)
    return entries


def compare(outcomes: list[LossOutcome], baseline: list[dict], configured: set) -> Comparison:
    """Split failing findings into new and accepted; baseline entries matching nothing are stale.

    Entries for losses that could not be audited are neither used nor stale; entries for losses that are
    configured but not audited in this run (--only) are left alone.
    """
    reasons = {(e["target"], e["code"]): e.get("reason", "") for e in baseline}
    cmp = Comparison()
    audited, matched = set(), set()
    for o in outcomes:
        if o.result is None:
            continue
        audited.add(o.name)
        for f in o.failing():
            key = (o.name, f.code)
            if key in reasons:
                matched.add(key)
                cmp.accepted.setdefault(o.name, {}).setdefault(f.code, (reasons[key], []))[1].append(f)
            else:
                cmp.new.setdefault(o.name, {}).setdefault(f.code, []).append(f)
    for e in baseline:
        key = (e["target"], e["code"])
        if e["target"] in audited and key not in matched:
            cmp.stale.append((e, "no longer found"))
        elif e["target"] not in configured:
            cmp.stale.append((e, "not a configured loss"))
    return cmp


def updated_baseline(outcomes: list[LossOutcome], baseline: list[dict], configured: set) -> tuple[list[dict], int, int]:
    """The baseline accepting every current failing finding: (entries, added, removed).

    Reasons already written are kept; new entries get TODO_REASON. Entries of configured losses not audited
    in this run (unusable, or left out by --only) are kept as they are; entries of losses no longer
    configured are dropped.
    """
    audited = {o.name for o in outcomes if o.result is not None}
    old = {(e["target"], e["code"]): e for e in baseline}
    entries, keys = [], set()
    for o in outcomes:
        if o.result is None:
            continue
        for f in o.failing():
            key = (o.name, f.code)
            if key in keys:
                continue
            keys.add(key)
            reason = old[key].get("reason", TODO_REASON) if key in old else TODO_REASON
            entries.append({"target": o.name, "code": f.code, "title": f.title, "reason": reason})
    kept = [e for e in baseline if e["target"] not in audited and e["target"] in configured]
    added = sum(k not in old for k in keys)
    removed = len(baseline) - len(kept) - (len(keys) - added)
    return kept + entries, added, removed


def baseline_text(entries: list[dict]) -> str:
    """The baseline file holding `entries`."""
    return json.dumps({"comment": "Findings accepted by `losscheck ci`, keyed by target (the loss's name) and code. "
                                  "Say why in each reason; rewrite with `losscheck ci --update-baseline`.",
                       "accepted": entries}, indent=2) + "\n"
