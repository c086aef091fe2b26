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


def render_text(entries, width: int) -> str:
    """One line per loss (id, family, summary), cut to `width` columns (the terminal's)."""
    rows = [[e["id"], e["family"], e["summary"]] for e in entries]
    lines = tabulate(rows, headers=["id", "family", "summary"], tablefmt="plain").splitlines()
    return "".join((line if len(line) <= width else line[: width - 1] + "…") + "\n" for line in lines) + \
        "\n`losscheck list ID` shows one loss in full.\n"


def render_one(entry) -> str:
    """Everything the catalogue knows of one loss: parameters, conventions with the libraries that use each
    side, the variants the audit can name, torch counterparts, layouts and target formats."""
    out = [f"{entry['id']} ({entry['family']}): {entry['summary']}",
           f"  signature:      ({', '.join(entry['signature'])})",
           f"  reference:      {entry['reference']}",
           f"  torch:          {', '.join(entry['torch']) or '-'}",
           f"  layouts:        {', '.join(entry['layouts'])}",
           f"  target formats: {', '.join(entry['target_formats'])}",
           "  parameters:"]
    for p in entry["parameters"]:
        aliases = f" (also {', '.join(p['aliases'])})" if p["aliases"] else ""
        values = f"; explored: {', '.join(map(str, p['values']))}" if p["values"] else ""
        out.append(f"    {p['name']}{aliases}: default {p['default']}{values}")
    out.append("  conventions:" if entry["conventions"] else "  conventions: none")
    for c in entry["conventions"]:
        out.append(f"    {c['name']} (default {c['default']}; declare with --convention {c['name']}=VALUE):")
        for value, option in c["options"].items():
            who = f" [{option['libraries']}]" if option["libraries"] else ""
            out.append(f"      {value}: {option['says']}{who}")
    out.append("  known mistakes: " + (", ".join(entry["variants"]) or "none"))
    return "\n".join(out) + "\n"


def markdown_table(entries=None) -> str:
    """The README's table of losses, generated from the specs."""
    entries = entries or describe_all()
    rows = [[f"`{e['id']}`", e["family"], ", ".join(f"`{t.replace('torch.nn.functional.', 'F.').replace('torch.nn.', 'nn.')}`"
                                               for t in e["torch"]) or "-", _conventions(e) or "-"] for e in entries]
    return tabulate(rows, headers=["id", "family", "torch", "conventions"], tablefmt="github") + "\n"
