"""The baseline of `losscheck ci` and the pytest plugin (`losscheck-baseline.json`): accepted findings, keyed by
loss, code, and the check and layout that raised them.

```json
{"accepted": [{"target": "mypkg.losses:FocalLoss", "code": "LC605", "check": "device.layout", "layout": "spatial2d",
               "reason": "channels-last is never used"}]}
```

`target` is the loss's `name` in the configuration (its target string unless a name is given); `layout` is ""
for a finding no input layout is involved in. A failing finding whose (target, code, check, layout) is listed
passes; any other fails the gate, so the same code raised by another check or on another layout is new; an
entry that matches no finding any more is stale. An entry of the first format (target and code only) still
loads and accepts that code wherever it is raised, with a note suggesting `--update-baseline`, which rewrites
it in the present format. `updated_baseline` accepts the current findings, keeping the reasons already
written and marking new entries "TODO: say why".
"""
from __future__ import annotations

import json
import re
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


def entry_key(e: dict) -> tuple:
    """The key of a baseline entry: (target, code, check, layout); check and layout are None in an entry of the
    first format, which accepts its code from any check on any layout."""
    return (e["target"], e["code"], e.get("check"), e.get("layout", "") if "check" in e else None)


def finding_key(name: str, f) -> tuple:
    """The key a finding of the loss named `name` is accepted under."""
    return (name, f.code, f.check, f.layout)


class Accepted:
    """The baseline as a lookup: the reason a finding is accepted for, and which entries matched one."""

    def __init__(self, entries: list[dict]):
        self.reasons = {entry_key(e): e.get("reason", "") for e in entries}
        self.matched = set()

    def reason(self, name: str, f) -> str | None:
        """The reason the finding `f` of the loss `name` is accepted for; None when it is new."""
        for key in (finding_key(name, f), (name, f.code, None, None)):
            if key in self.reasons:
                self.matched.add(key)
                return self.reasons[key]
        return None


def legacy_note(entries: list[dict], path) -> str | None:
    """One line when the baseline at `path` holds entries of the first format (target and code only)."""
    old = sum("check" not in e for e in entries)
    if not old:
        return None
    return (f"losscheck: {Path(path).name}: {old} entr{'y' if old == 1 else 'ies'} keyed by target and code only "
            "accept that code from any check and layout; run `losscheck ci --update-baseline` to key them by check "
            "and layout too (their reasons are kept)")


def entry_lines(path: Path) -> dict:
    """{entry key: line} of the entries in the baseline at `path`, for annotations ({} when unreadable)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return {}
    m = re.search(r'"accepted"\s*:\s*\[', text)
    if m is None:
        return {}
    decoder, i, lines = json.JSONDecoder(), m.end(), {}
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] != "{":
            return lines
        try:
            entry, end = decoder.raw_decode(text, i)
            lines.setdefault(entry_key(entry), text.count("\n", 0, i) + 1)
        except (ValueError, KeyError, TypeError, AttributeError):
            return lines
        i = end


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
        for name in ("reason", "check", "layout"):
            if not isinstance(e.get(name, ""), str):
                raise UsageError(f"the baseline {path}: entry #{i} has a \"{name}\" that is not a string")
        key = entry_key(e)
        if key in seen:
            raise UsageError(f"the baseline {path} lists {' '.join(k for k in key if k)} twice")
        seen.add(key)
    return entries


def compare(outcomes: list[LossOutcome], baseline: list[dict], configured: set) -> Comparison:
    """Split failing findings into new and accepted; baseline entries matching nothing are stale.

    Entries for losses that could not be audited are neither used nor stale; entries for losses that are
    configured but not audited in this run (--only) are left alone.
    """
    accepted = Accepted(baseline)
    cmp = Comparison()
    audited = set()
    for o in outcomes:
        if o.result is None:
            continue
        audited.add(o.name)
        for f in o.failing():
            reason = accepted.reason(o.name, f)
            if reason is not None:
                cmp.accepted.setdefault(o.name, {}).setdefault(f.code, (reason, []))[1].append(f)
            else:
                cmp.new.setdefault(o.name, {}).setdefault(f.code, []).append(f)
    for e in baseline:
        if e["target"] in audited and entry_key(e) not in accepted.matched:
            cmp.stale.append((e, "no longer found"))
        elif e["target"] not in configured:
            cmp.stale.append((e, "not a configured loss"))
    return cmp


def updated_baseline(outcomes: list[LossOutcome], baseline: list[dict], configured: set) -> tuple[list[dict], int, int]:
    """The baseline accepting every current failing finding: (entries, added, removed).

    Reasons already written are kept (an entry of the first format gives its reason to every finding of its
    code); new entries get TODO_REASON. Entries of configured losses not audited in this run (unusable, or
    left out by --only) are kept as they are; entries of losses no longer configured are dropped. `added`
    counts the entries whose finding no entry accepted before; `removed`, the entries that accept nothing any
    more.
    """
    audited = {o.name for o in outcomes if o.result is not None}
    accepted = Accepted(baseline)
    entries, keys, added = [], set(), 0
    for o in outcomes:
        if o.result is None:
            continue
        for f in o.failing():
            key = finding_key(o.name, f)
            if key in keys:
                continue
            keys.add(key)
            reason = accepted.reason(o.name, f)
            added += reason is None
            entries.append({"target": o.name, "code": f.code, "check": f.check, "layout": f.layout, "title": f.title,
                            "reason": TODO_REASON if reason is None else reason})
    kept = [e for e in baseline if e["target"] not in audited and e["target"] in configured]
    removed = sum(entry_key(e) not in accepted.matched for e in baseline if e not in kept)
    return kept + entries, added, removed


def baseline_text(entries: list[dict]) -> str:
    """The baseline file holding `entries`."""
    return json.dumps({"comment": "Findings accepted by `losscheck ci` and the pytest plugin, keyed by target (the "
                                  "loss's name), code, check and layout. "
                                  "Say why in each reason; rewrite with `losscheck ci --update-baseline`.",
                       "accepted": entries}, indent=2) + "\n"
