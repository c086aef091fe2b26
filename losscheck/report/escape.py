"""Candidate text made harmless for the places reports go: terminals, markdown viewers, XML parsers.

A loss under audit controls some of the text in every report (its exception messages, its target and
parameter names). `printable` escapes, as `\\x1b`-style sequences, every character that can act on a terminal
or break a file format: C0 and C1 control characters except newline and tab (NUL, BEL, ESC, CR, ...), DEL,
bidirectional and other invisible format controls (U+202E RIGHT-TO-LEFT OVERRIDE, U+2066..U+2069, zero-width
characters, tag characters), line and paragraph separators, lone surrogates and U+FFFE/U+FFFF. What remains
is visible text made only of XML 1.0 characters. `code_span` and `fenced` put text in markdown code, where no
markup is interpreted, whatever backticks the text holds.
"""
from __future__ import annotations

import re

_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ud800-\udfff\ufe00-\ufe0f\ufeff\ufff9-\ufffb\ufffe\uffff\U000e0000-\U000e0fff]")
_BACKTICKS = re.compile("`+")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text) -> str:
    """`text` with every control, format and non-XML character written as a visible escape (`\\x1b`)."""
    return _UNPRINTABLE.sub(_escape, str(text))


def code_span(text, *, in_table: bool = False) -> str:
    """`text` on one line as a markdown code span that no backtick inside it can close; `in_table` also
    escapes `|`, which GitHub tables split cells on even inside code."""
    text = " ".join(printable(text).split())
    if not text:
        return ""
    ticks = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    span = f"{ticks}{pad}{text}{pad}{ticks}"
    return span.replace("|", "\\|") if in_table else span


def fenced(text, info: str = "") -> list[str]:
    """The lines of a markdown fenced code block holding `text`, fenced longer than any backtick run in it."""
    text = printable(text).rstrip()
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    return [f"{fence}{info}", *text.splitlines(), fence]
