"""Where the audited loss is written, and the inline suppressions written there, found without running it.

The judge never imports candidate code, so it finds the loss's source by reading, not importing: the target
string names a file (`path/file.py:Name`) or a module (`pkg.mod:Name`, looked up as `pkg/mod.py` or
`pkg/mod/__init__.py` on sys.path, the working directory first, as the worker imports it), and `ast` finds
the definition of `Name` there (a class, a function, or an assignment such as `focal = FocalLoss(2.0)`;
`Outer.Inner` walks nested classes). An object passed directly (the plugin's fixture, `losscheck.audit(obj)`)
is already in the caller's process: `inspect.getsourcefile` names its file and `ast` its line.

The file is recorded relative to the repository's root (GITHUB_WORKSPACE when set, else the working directory
of the audit), so GitHub annotations and SARIF results land on the lines a pull request changes; a loss
defined outside the root (a torch built-in, an installed package) has no source.

An inline suppression is a comment on the definition line or the line just above it (above the decorators
of a decorated definition):

    # losscheck: ignore[LC504,LC202] the trainer always passes (N, C) targets
    class FocalLoss(nn.Module):

Its codes (or code prefixes, as --ignore takes) are suppressed for this loss, with the reason that follows
the bracket; `tokenize` reads the comments, so a string that looks like one is not one. `suppress` moves such
findings out of the checks into AuditResult.suppressed: reported with their reason, not counted for the
verdict or the exit code.
"""
from __future__ import annotations

import ast
import functools
import inspect
import io
import os
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from losscheck.suspect.candidate import split_target

SUPPRESSION = re.compile(r"#\s*losscheck:\s*ignore\[([^\]]*)\]\s*(.*)$")
CODE = re.compile(r"^LC[0-9]{1,3}$")


@dataclass(frozen=True)
class Definition:
    """The loss's definition: its file (relative to the root, '/'-separated), its line, and the suppressions
    written on it ({code or prefix: reason})."""

    file: str
    line: int
    suppressions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line}


def workspace_root() -> Path:
    """The repository's root the paths are relative to: GITHUB_WORKSPACE when set, else the working directory."""
    return Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()


def locate(target, name: str = "") -> Definition | None:
    """The Definition of `target` (a target string, or the object passed directly); `name` is the attribute path
    the candidate resolved to (the single loss of a `path/file.py` target). None when it cannot be found
    without running the loss's code, or lies outside the root."""
    if isinstance(target, str):
        where, attr = split_target(target)
        path = _module_file(where)
        if path is None and ":" not in target and "." in where:  # pkg.mod.Name.attr, as the worker retries it
            where, _, last = where.rpartition(".")
            path, attr = _module_file(where), f"{last}.{attr}"
        attr = attr or name
    else:
        path, attr = _object_file(target)
    if path is None or not attr:
        return None
    try:
        text = path.read_text(encoding="utf-8")
        lines = _definition(ast.parse(text), attr.split("."))
    except (OSError, SyntaxError, ValueError):  # unreadable, not Python, not UTF-8
        return None
    if lines is None:
        return None
    try:
        relative = path.resolve().relative_to(workspace_root())
    except ValueError:  # defined outside the repository: no line of it is on a pull request
        return None
    if "site-packages" in relative.parts:  # an installed package, even in a virtual environment under the root
        return None
    first, line = lines
    return Definition(relative.as_posix(), line, suppressions(text, range(first - 1, line + 1)))


def _module_file(where: str) -> Path | None:
    """The file a target's module or path names, found on disk without importing anything."""
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = Path(where)
        return path if path.is_file() else None
    parts = where.split(".")
    for entry in [os.getcwd(), *sys.path]:
        base = Path(entry or os.getcwd(), *parts)
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
    return None


def _object_file(obj) -> tuple[Path | None, str]:
    """(file, qualified name) of an object the caller passed directly: a class or function, or an instance
    (its class) or a functools.partial (its function). Only type checks and the attributes of a class or
    function are read: no attribute lookup of the candidate's own can run."""
    if isinstance(obj, functools.partial):
        obj = obj.func
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        obj = type(obj)
    try:
        file = inspect.getsourcefile(obj)
    except TypeError:  # a built-in
        return None, ""
    return (Path(file) if file else None), getattr(obj, "__qualname__", "")


def _definition(tree: ast.Module, path: list[str]) -> tuple[int, int] | None:
    """(first line, definition line) of the class, function or assignment `path` names in `tree`: the first
    line is the first decorator's, where there is one."""
    body, found = tree.body, None
    for part in path:
        found = next((node for node in reversed(body) if part in _bound_names(node)), None)
        if found is None:
            return None
        body = getattr(found, "body", [])
    first = min([found.lineno, *(d.lineno for d in getattr(found, "decorator_list", []))])
    return first, found.lineno


def _bound_names(node) -> set:
    """The names a module- or class-level statement binds."""
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def suppressions(text: str, lines) -> dict:
    """{code or prefix: reason} of the `# losscheck: ignore[...]` comments of `text` on `lines`."""
    out = {}
    try:
        comments = [(t.start[0], t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)
                    if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return out
    for line, comment in comments:
        m = SUPPRESSION.match(comment)
        if line in lines and m:
            for code in m.group(1).split(","):
                code = code.strip().upper()
                if CODE.match(code):
                    out[code] = m.group(2).strip()
    return out


def suppress(result, source: Definition | None) -> None:
    """Move the findings `source`'s suppressions name out of `result`'s checks into result.suppressed, each with
    its reason; a failing check left without findings passes."""
    if source is None or not source.suppressions:
        return
    for c in result.checks:
        kept = []
        for f in c.findings:
            code = next((k for k in source.suppressions if f.code.startswith(k)), None)
            if code is None:
                kept.append(f)
            else:
                f.suppressed = source.suppressions[code]
                result.suppressed.append(f)
        if c.status == "fail" and not kept:
            c.status, c.detail = "pass", (c.detail + " (findings suppressed in the source)").strip()
        c.findings = kept
