"""How a reproducer gets the candidate in a fresh interpreter, started in any directory: the import lines (with
the target's import root put on sys.path when it is not installed) and, for an instance passed directly (the
pytest fixture's `loss_audit(FocalLoss(gamma=0.5))`), the constructor call that builds it again.

An instance is rebuilt from its class and the constructor arguments read back from its attributes (for each
parameter of `__init__`, the attribute of that name or with a leading underscore). The rebuilt twin must equal
the audited instance attribute by attribute (parameters and buffers included); otherwise, or when the class
cannot be imported by name, there is no recipe and the reproducer says how to build it and exits non-zero
rather than compute the loss of another object.
"""
from __future__ import annotations

import importlib
import inspect
import math
import sys
import warnings
from pathlib import Path

MAX_DEPTH = 6  # how deep two instances are compared (objects held by objects)


def installed(top: str) -> bool:
    """Whether the top-level package `top` imports in a fresh interpreter wherever it starts: found on the
    interpreter's own paths (the standard library, site-packages) or by an editable install's finder."""
    for finder in sys.meta_path:
        if str(getattr(finder, "__module__", "")).startswith("__editable__"):
            try:
                if finder.find_spec(top, None) is not None:
                    return True
            except Exception:  # a third-party finder that cannot answer: not evidence either way
                continue
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    own = [p for p in sys.path if p and any(Path(p).resolve().is_relative_to(x) for x in prefixes)]
    return importlib.machinery.PathFinder.find_spec(top, own) is not None


def import_root(module) -> str | None:
    """The folder to put first on sys.path so that `module` (a module object) imports by its name from any
    directory: the folder its top-level package sits in; None when it is installed (see `installed`)."""
    file = getattr(module, "__file__", None)
    if not file or installed(module.__name__.partition(".")[0]):
        return None
    path = Path(file).resolve()
    depth = module.__name__.count(".") + (1 if path.stem == "__init__" else 0)
    return str(path.parents[depth])


def search_path(module, imported=()) -> list[str]:
    """The folders a reproducer puts first on sys.path so that `module` (None for a file loaded by its path) imports
    by its name from any directory: its import root, then those of the top-level modules among `imported` (the
    names its import added to sys.modules: the target's own imports), each only when it is not installed."""
    modules = [module, *(sys.modules.get(n) for n in sorted(imported) if "." not in n)]
    return list(dict.fromkeys(root for root in (import_root(m) for m in modules if m is not None) if root))


def file_import_lines(path: Path, name: str) -> str:
    """Lines that load `name` from the file at `path` (the reproducer puts its folder on sys.path first)."""
    return (f"import importlib.util\n"
            f"_spec = importlib.util.spec_from_file_location('candidate', {str(path.resolve())!r})\n"
            f"_mod = importlib.util.module_from_spec(_spec)\n_spec.loader.exec_module(_mod)\n"
            f"{name} = _mod.{name}")


def import_lines_of(obj) -> tuple[str, list[str]] | None:
    """(the import lines that bind `obj`, a class or function, to its own name in a fresh interpreter, the folders
    they need on sys.path); None when it cannot be imported by name (defined in a function, or not found where
    its module says)."""
    qualname, module_name = getattr(obj, "__qualname__", ""), getattr(obj, "__module__", None)
    module = sys.modules.get(module_name or "")
    if not qualname or "<locals>" in qualname or module is None:
        return None
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return None
    head = qualname.split(".")[0]
    if module_name == "__main__":
        file = getattr(module, "__file__", None)
        return (file_import_lines(Path(file), head), [str(Path(file).resolve().parent)]) if file else None
    return f"from {module_name} import {head}", search_path(module)


def constructor_call(obj) -> str | None:
    """Source that builds an equal twin of the instance `obj` (`FocalLoss(gamma=0.5)`: the arguments that differ
    from the defaults), or None when its constructor arguments cannot be read back from its attributes."""
    cls = type(obj)
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    kwargs = {}
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        found, value = _read_back(obj, p.name)
        if not found:
            if p.default is p.empty:
                return None
            continue  # left at its default: the twin's comparison below says whether it was
        if p.default is p.empty or not _alike(value, p.default):
            kwargs[p.name] = value
    sources = {k: literal(v) for k, v in kwargs.items()}
    if None in sources.values() or not _twin_equal(obj, cls, kwargs):
        return None
    return f"{cls.__qualname__}({', '.join(f'{k}={s}' for k, s in sources.items())})"


def _read_back(obj, name: str) -> tuple[bool, object]:
    """(found, value) of the attribute holding the constructor argument `name`: `name` or `_name`, a plain
    value, a tensor, a submodule (methods are not arguments)."""
    for attr in (name, f"_{name}"):
        if attr in vars(obj):
            return True, vars(obj)[attr]
        try:
            value = getattr(obj, attr)
        except Exception:  # a property that raises, or no such attribute
            continue
        if not inspect.ismethod(value):
            return True, value
    return False, None


def literal(value) -> str | None:
    """Python source for a constructor argument (numbers, strings, None, containers of them, tensors), or
    None when it has none."""
    import torch  # only once a candidate is loaded: `losscheck init` imports this module without torch

    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, (list, tuple)):
        items = [literal(v) for v in value]
        if None in items:
            return None
        return f"[{', '.join(items)}]" if isinstance(value, list) else f"({', '.join(items)}{',' * (len(items) == 1)})"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: literal(v) for k, v in value.items()}
        return None if None in items.values() else "{" + ", ".join(f"{k!r}: {s}" for k, s in items.items()) + "}"
    if isinstance(value, torch.Tensor) and value.device.type == "cpu":
        numbers = literal(value.detach().tolist())
        return None if numbers is None else f"torch.tensor({numbers}, dtype={value.dtype})"
    return None


def _twin_equal(obj, cls, kwargs: dict) -> bool:
    """Whether `cls(**kwargs)` builds an object equal to `obj`, attribute by attribute."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            twin = cls(**kwargs)
    except BaseException:
        return False
    return _alike(obj, twin)


def _alike(a, b, depth: int = 0) -> bool:
    """Equal values: tensors by value (nan equal to nan), containers item by item, objects by their
    attributes, to MAX_DEPTH."""
    import torch  # only once a candidate is loaded: `losscheck init` imports this module without torch

    if a is b:
        return True
    if type(a) is not type(b) or depth > MAX_DEPTH:
        return False
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b) or (
            a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_alike(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_alike(a[k], b[k], depth + 1) for k in a)
    if hasattr(a, "__dict__") and type(a).__eq__ is object.__eq__:
        return _alike(vars(a), vars(b), depth + 1)
    try:
        return bool(a == b)
    except Exception:  # an __eq__ that cannot answer
        return False
