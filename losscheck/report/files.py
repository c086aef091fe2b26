"""Report files: where they go (checked before an audit starts), their names, and the one atomic writer.

Every file losscheck writes (reports, summary.md, the baseline, `losscheck init --write`, the plugin's shared
cache) goes through `write_atomic`: a temporary file with a unique name in the target's own folder, then
`os.replace`, so a reader sees the old file or the new one, never half of one, and two processes writing one
path (two audits with the same `-o`, pytest-xdist workers) never share a temporary file.
`write_reports` writes one audit in several formats; `report_stems` names the reports of a run over many audits,
one name per distinct audit. `output_file` and `output_dir` answer at the door, before an audit runs, whether a
path can be written.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

from losscheck.errors import UsageError
from losscheck.report import EXTENSIONS, render

_STEM = re.compile(r"[^A-Za-z0-9_.-]+")


def report_stem(name: str) -> str:
    """The file name (without extension) of a loss's reports: `mypkg.losses:Focal` -> `mypkg.losses_Focal`."""
    return _STEM.sub("_", name).strip("_.") or "audit"


def settings_key(result) -> str:
    """What makes an audit the audit it is, as canonical text: the target, the seed and example budget, fail-on,
    the parameter map in force (the values --init or an instance's attributes give), the conventions and the
    checks that ran (select, ignore, --precision, --ddp). Timings and findings are not part of it."""
    return json.dumps({"target": result.target, "seed": result.seed, "max_examples": result.max_examples,
                       "fail_on": result.fail_on, "parameters": result.parameters, "conventions": result.conventions,
                       "checks": [c.name for c in result.checks]}, sort_keys=True, default=repr)


def report_stems(outcomes) -> list[str]:
    """The report name (without extension) of each audit of a run (`outcomes`: objects with `name` and `result`,
    such as losscheck.gate.runner.LossOutcome): the loss's `report_stem`; where the run audits one name with
    different settings (the pytest plugin: a configured loss, and the fixture on instances with other
    arguments), each with an 8-character hash of its `settings_key`; where even those agree, a counter (-2, -3)."""
    keys = [settings_key(o.result) if o.result is not None else "" for o in outcomes]
    settings_of = {}
    for o, key in zip(outcomes, keys):
        settings_of.setdefault(o.name, set()).add(key)
    stems, taken = [], set()
    for o, key in zip(outcomes, keys):
        stem = report_stem(o.name)
        if len(settings_of[o.name]) > 1:
            stem = f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        unique, n = stem, 1
        while unique in taken:
            n += 1
            unique = f"{stem}-{n}"
        taken.add(unique)
        stems.append(unique)
    return stems


def write_reports(result, folder, stem: str, report_formats) -> list[Path]:
    """Write `result` in each of `report_formats` to `folder/stem.<extension>`, atomically; the paths written."""
    paths = []
    for report_format in report_formats:
        path = Path(folder) / f"{stem}.{EXTENSIONS[report_format]}"
        write_atomic(path, render(result, report_format))
        paths.append(path)
    return paths


def _create_unique(folder: Path, name: str) -> tuple[int, str]:
    """Open a new file `.NAME.<random>.tmp` in `folder` (O_EXCL: never one another writer holds)."""
    while True:
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def write_atomic(path, data: str | bytes, *, newline: str | None = None) -> None:
    """Write `data` (text as UTF-8, or bytes) to `path` through a uniquely named temporary file and a rename.

    The folder is created when missing; a file that is replaced keeps its permissions, a new one gets the
    usual ones (0666 less the umask). `newline=""` writes text line endings as they are. Any OSError is a
    UsageError naming the path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_unique(path.parent, path.name)
        try:
            if isinstance(data, bytes):
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
            else:
                with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline=newline) as fh:
                    fh.write(data)
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def _probe(folder: Path, raw: str, what: str) -> None:
    """UsageError unless a file can be created in the existing `folder` (an anonymous one, left nowhere)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise UsageError(f"{what} {raw}: cannot create a file in {folder}: {e.strerror or e}") from None


def output_file(path, what: str) -> Path:
    """The absolute path of the report file `path` (option `what`), or a UsageError saying why it cannot be
    written: a folder, not a regular file, a folder that does not exist, or one that cannot be written."""
    raw = os.fspath(path)
    path = Path(raw).absolute()
    if raw.endswith(("/", os.sep)) or path.is_dir():
        raise UsageError(f"{what} {raw} is a folder; name a file (or use --output-dir for a folder)")
    if path.exists() and not path.is_file():
        raise UsageError(f"{what} {raw} is not a regular file; name a file")
    if not path.parent.is_dir():
        reason = "is not a folder" if path.parent.exists() else "does not exist"
        raise UsageError(f"{what} {raw}: the folder {path.parent} {reason}")
    _probe(path.parent, raw, what)
    return path


def output_dir(path, what: str) -> Path:
    """The absolute path of the report folder `path` (option `what`; created when reports are written), or
    a UsageError when it is a file, lies below a file, or cannot be written."""
    raw = os.fspath(path)
    path = Path(raw).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        where = "is a file" if existing == path else f"lies below the file {existing}"
        raise UsageError(f"{what} {raw} {where}; name a folder")
    _probe(existing, raw, what)
    return path
