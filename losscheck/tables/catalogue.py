"""The catalogue as data: what `losscheck list` prints and the README's table of losses is generated from."""
from __future__ import annotations

from tabulate import tabulate

from losscheck.specs import SPECS


def _plain_value(value):
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def spec_record(spec) -> dict:
    return {
        "id": spec.id,
        "family": spec.family,
        "summary": spec.summary,
        "signature": list(spec.signature),
        "parameters": [{"name": p.name, "aliases": list(p.aliases), "default": _plain_value(p.default),
                        "values": [_plain_value(v) for v in p.values], "tensor": p.tensor} for p in spec.params],
        "conventions": [{"name": c.name, "default": c.default,
                         "options": {v: {"says": o.says, "libraries": o.libraries} for v, o in c.options.items()}}
                        for c in spec.conventions],
        "torch": list(spec.torch),
        "reference": f"{spec.reference.__module__}.{spec.reference.__name__}",
        "layouts": list(spec.layouts),
        "target_formats": list(spec.target_formats),
        "variants": [v.name for v in spec.variants],
    }


def describe_all() -> list[dict]:
    return [spec_record(s) for s in SPECS.values()]


def _conventions(entry) -> str:
    return "; ".join(f"{c['name']}={'|'.join(c['options'])} (default {c['default']})" for c in entry["conventions"])


def render_text(entries) -> str:
    rows = [[e["id"], e["family"], f"({', '.join(e['signature'])})",
             ", ".join(p["name"] + (f" ({'/'.join(p['aliases'])})" if p["aliases"] else "") for p in e["parameters"]),
             _conventions(e) or "-", ", ".join(e["torch"]) or "-"] for e in entries]
    return tabulate(rows, headers=["id", "family", "signature", "parameters", "conventions", "torch"]) + "\n"


def markdown_table(entries=None) -> str:
    """The README's table of losses, generated from the specs."""
    entries = entries or describe_all()
    rows = [[f"`{e['id']}`", e["family"], ", ".join(f"`{t.replace('torch.nn.functional.', 'F.').replace('torch.nn.', 'nn.')}`"
                                               for t in e["torch"]) or "-", _conventions(e) or "-"] for e in entries]
    return tabulate(rows, headers=["id", "family", "torch", "conventions"], tablefmt="github") + "\n"
