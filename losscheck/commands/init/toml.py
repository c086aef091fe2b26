"""The starter `[tool.losscheck]` section of `losscheck init`: rendering it, and appending it to a
pyproject.toml (`--write`), refused when the file already has the table. The section is valid TOML that
`losscheck.gate.config` loads (a loss without a guess is written commented out)."""
from __future__ import annotations

from pathlib import Path

from losscheck.commands.init.discovery import Found
from losscheck.tables.guessing import Guess
from losscheck.errors import UsageError
from losscheck.gate.config import from_table, tomllib
from losscheck.report.files import write_atomic


def _toml_str(value: str) -> str:
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def init_section(package: str, found: list[Found]) -> str:
    """The starter `[tool.losscheck]` section (valid TOML; a loss without a guess is commented out), then the
    names seen but not placed, as comments with the reason."""
    unplaced = [f for f in found if f.unplaced]
    found = [f for f in found if not f.unplaced]
    guessed = sum(f.guess is not None and f.guess.loss_id is not None for f in found)
    lines = [
        f"# Starter configuration from `losscheck init {package}`: {len(found)} losses, {guessed} with a guessed id.",
        "# Confirm every `as` (`losscheck list` shows each id's signature and parameters), add `init = { ... }`",
        "# where a loss needs constructor arguments, then run `losscheck ci` or `pytest`.",
        "[tool.losscheck]",
    ]
    for f in found:
        g = f.guess or Guess(None)
        lines.append("")
        if g.loss_id is None:
            lines += ["# [[tool.losscheck.loss]]",
                      f"# target = {_toml_str(f.target)}",
                      '# as = "..."  # no guess: set as = an id from `losscheck list`, then uncomment this entry']
            continue
        notes = []
        if g.why not in ("name", "signature"):
            notes.append(g.why)
        if g.alternatives:
            notes.append(f"else {' or '.join(g.alternatives)}")
        if g.warning:
            notes.append(g.warning)
        comment = "# guessed: confirm" + (f" ({'; '.join(notes)})" if notes else "")
        lines += ["[[tool.losscheck.loss]]", f"target = {_toml_str(f.target)}",
                  f"as = {_toml_str(g.loss_id)}  {comment}"]
    if unplaced:
        lines += ["", f"# Seen but not placed ({len(unplaced)}): add an entry for any that is a loss."]
        lines += [f"#   {f.target}: {f.unplaced}" for f in unplaced]
    return "\n".join(lines) + "\n"


def _parse(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path} is not valid TOML ({e}); fix it before `losscheck init --write`") from None


def existing(path: Path, package: str) -> str:
    """The text of the pyproject.toml --write appends to ("" when missing); UsageError when it cannot take the
    section (not valid TOML, or it has a [tool.losscheck] table already)."""
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory; name the pyproject.toml")
    if not path.exists():
        if not path.parent.is_dir():
            raise UsageError(f"cannot write {path}: no such folder {path.parent}")
        return ""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    tool = _parse(text, path).get("tool")
    if isinstance(tool, dict) and "losscheck" in tool:
        raise UsageError(f"{path} already has a [tool.losscheck] table; nothing written (run `losscheck init "
                         f"{package}` without --write and merge what you need by hand)")
    return text


def append(path: Path, section: str, package: str) -> None:
    """Append `section` to the pyproject.toml at `path` (created if missing), refusing when it has the table."""
    text = existing(path, package)
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith("\n"):
        text += newline
    new = text + (newline if text.strip() else "") + section.replace("\n", newline)
    tool = _parse(new, path).get("tool")
    if not isinstance(tool, dict) or not isinstance(tool.get("losscheck"), dict):
        raise UsageError(f"cannot append a [tool.losscheck] table to {path}: its `tool` key is not a table")
    from_table(tool["losscheck"], path=path)
    write_atomic(path, new, newline="")
