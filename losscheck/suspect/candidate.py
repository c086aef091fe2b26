"""Resolving a target string to a Candidate: the callable under audit, its parameters and how to call it.

Accepted targets: `pkg.mod:Name`, `pkg.mod.Name`, `path/to/file.py:Name` (also `file.py` when it defines
exactly one loss-like object). A class is instantiated with its defaults overridden by `init`; a function
is called with `init` as keyword arguments; an instance bound at module level is called as it is.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losscheck.errors import UsageError
from losscheck.suspect.ops import RUNS
from losscheck.suspect.recipe import constructor_call, file_import_lines, import_lines_of, search_path

# Deprecated torch arguments that shadow `reduction`; never bound.
IGNORED_PARAMETERS = {"size_average", "reduce", "self"}


@dataclass
class Candidate:
    target: str
    obj: Any
    kind: str  # "class" | "function" | "instance"
    import_lines: str
    name: str
    init: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)  # the candidate's own parameter names -> defaults
    # passed directly: an instance's source that builds it again (`FocalLoss(gamma=0.5)`); "" when it cannot be
    # imported by its name or its constructor arguments cannot be read back (losscheck.suspect.recipe); None else
    built: str | None = None
    search_path: list = field(default_factory=list)  # folders the reproducer puts first on sys.path to import it

    def prepare(self, n_tensors: int) -> None:
        """Read the parameters the candidate takes (after its n tensor arguments) and check `init` fits: for a
        class, its constructor's and the arguments its forward requires after the tensors (see `call_only`)."""
        self.parameters = _own_parameters(self.obj, self.kind, n_tensors)
        if self.kind == "class":
            self.parameters.update(dict.fromkeys(p for p in _required_call_arguments(self.obj, n_tensors)
                                                 if p in call_only(self.obj)))
        if self.kind == "instance":
            if self.init:
                raise UsageError(f"--init cannot configure '{self.name}': it is an instance; audit its class instead")
            return
        unknown = set(self.init) - set(self.parameters)
        try:
            takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in signature(self.obj).parameters.values())
        except (TypeError, ValueError):
            takes_kwargs = True
        if unknown and not takes_kwargs:
            raise UsageError(f"--init names {', '.join(sorted(unknown))}, which {self.name} does not take "
                             f"(it takes: {', '.join(self.parameters) or 'nothing'})")
        if self.kind != "class":
            return
        try:
            self.make()
        except BaseException as e:
            raise UsageError(f"cannot instantiate {self.name} with {self.init or 'its defaults'}: "
                             f"{type(e).__name__}: {e}; pass --init JSON") from None

    def make(self, kwargs: dict | None = None):
        """The callable for one configuration (kwargs in the candidate's own parameter names)."""
        merged = {**self.init, **(kwargs or {})}
        if self.kind == "class":
            at_call = {k: v for k, v in merged.items() if k in call_only(self.obj)}
            made = self.obj(**{k: v for k, v in merged.items() if k not in at_call})
            return functools.partial(made, **at_call) if at_call else made
        if self.kind == "function":
            return functools.partial(self.obj, **merged) if merged else self.obj
        return self.obj

    def attribute(self, name: str):
        """The value of an attribute on a default instance (classes and instances), or None."""
        try:
            holder = self.make() if self.kind == "class" else self.obj
        except BaseException:
            return None
        value = getattr(holder, name, None)
        return None if callable(value) else value

    def call_arguments(self) -> list[str]:
        """The names of the arguments the loss is called with (forward's for modules), as far as they can be read."""
        fn = self.obj if self.kind == "function" else getattr(self.obj, "forward", self.obj)
        try:
            params = signature(fn).parameters.values()
        except (TypeError, ValueError):
            return []
        return [p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def origin(self) -> tuple[str, str | None]:
        """(the module that defines the object, its catalogue id when it is a torch built-in, else None)."""
        module = getattr(self.obj, "__module__", None) or type(self.obj).__module__
        return str(module), builtin_id(self.obj)

    def guessed(self) -> tuple[str | None, str]:
        """(the catalogue id its name or signature points to, how it was found) as `losscheck init` guesses it,
        or (None, why no id fits): for an audit without --as."""
        # at call time: losscheck.tables.guessing loads every spec (1.4 s), which only an audit without --as needs
        from losscheck.tables.guessing import guess

        obj, kind = (self.obj, self.kind) if self.kind != "instance" else (type(self.obj), "class")
        name = getattr(obj, "__name__", None) or self.name
        found = guess(name, obj, kind)
        if found.loss_id is None:
            return None, f"neither the name '{name}' nor its arguments point to a catalogue id"
        if found.warning:
            return None, f"its name points to '{found.loss_id}', but {found.warning}"
        return found.loss_id, f"by its {found.why}" if found.why in ("name", "signature") else found.why

    def perform(self, caller, request):
        """Run a candidate op (losscheck.suspect.ops: fake CUDA, ...) on this object, in this process, its calls
        under `caller`; its reply."""
        return RUNS[type(request)](self, caller, request)

    def for_ranks(self):
        """What a torch.distributed rank needs to build the candidate (forked ranks inherit this object)."""
        return self

    def begin_check(self, seed: int) -> None:
        """Before each check: seed torch's RNG, so a loss that draws random numbers behaves the same each audit."""
        import torch

        torch.manual_seed(seed)

    def close(self) -> None:
        """Nothing to release: the object lives in this process."""

    def construction(self, kwargs: dict, as_: str = "loss_fn") -> str:
        """Python source that builds the loss as `as_` (`loss_fn`) for the reproducer; for an instance passed directly that cannot be
        rebuilt, a line that says how to build it and exits non-zero (no script computes another object's loss)."""
        if self.built == "":
            return (f"raise SystemExit(\"losscheck cannot rebuild the {self.name} it audited here (passed directly, it "
                    f"cannot be imported by its name or its constructor arguments cannot be read back): replace this "
                    f"line with `{as_} = ...` built as your code builds it\")")
        merged = {**self.init, **kwargs}
        args = ", ".join(f"{k}={v!r}" for k, v in merged.items())
        if self.kind == "class":
            at_call = ", ".join(f"{k}={v!r}" for k, v in merged.items() if k in call_only(self.obj))
            built = ", ".join(f"{k}={v!r}" for k, v in merged.items() if k not in call_only(self.obj))
            return (f"_made = {self.name}({built})\ndef {as_}(*args):\n    return _made(*args, {at_call})" if at_call
                    else f"{as_} = {self.name}({args})")
        if self.kind == "function":
            return (f"def {as_}(*args):\n    return {self.name}(*args, {args})" if merged else
                    f"{as_} = {self.name}")
        return f"{as_} = {self.built or self.name}"


def _scripted(obj) -> bool:
    """A torch.jit.script'ed function: a callable whose signature is its TorchScript schema."""
    try:
        import torch
    except ImportError:
        return False
    return isinstance(obj, torch.jit.ScriptFunction)


def signature(obj) -> inspect.Signature:
    """inspect.signature, also for scripted functions (from their schema); raises as inspect.signature does."""
    if not _scripted(obj):
        return inspect.signature(obj)
    empty = inspect.Parameter.empty
    return inspect.Signature([inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                default=a.default_value if a.has_default_value() else empty)
                              for a in obj.schema.arguments])


def _own_parameters(obj, kind: str, n_tensors: int) -> dict:
    if kind == "instance":
        return {}
    try:
        sig = signature(obj)
    except (TypeError, ValueError):
        return {}
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if kind == "function":
        params = params[n_tensors:]
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in params if p.name not in IGNORED_PARAMETERS}


def _required_call_arguments(cls, n_tensors: int) -> list:
    """The arguments a module's forward requires (no default) after its n tensors, e.g. open_clip ClipLoss's
    `logit_scale`: a value the caller passes at each call, as it passes the tensors."""
    try:
        params = [p for p in signature(cls.forward).parameters.values() if p.name != "self"]
    except (AttributeError, TypeError, ValueError):
        return []
    return [p.name for p in params[n_tensors:] if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def call_only(cls) -> set:
    """The names a module's forward takes that its constructor does not: parameters passed at each call (`make`
    binds them to the instance with functools.partial, the reproducer with a wrapper function)."""
    try:
        built = set(signature(cls).parameters)
        called = set(signature(cls.forward).parameters)
    except (AttributeError, TypeError, ValueError):
        return set()
    return called - built - {"self"}


def import_module(module: str):
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise UsageError(f"cannot import module '{module}': no module named '{e.name}'") from None
        raise UsageError(f"importing '{module}' failed: {type(e).__name__}: {e}") from None
    except BaseException as e:  # a module that raises or exits at import
        raise UsageError(f"importing '{module}' failed: {type(e).__name__}: {e}") from None


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _load_file(path: Path):
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    sys.path.insert(0, str(path.parent.resolve()))
    spec = importlib.util.spec_from_file_location(f"losscheck_target_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as e:
        raise UsageError(f"loading '{path}' failed: {type(e).__name__}: {e}") from None
    return module


def _loss_like(module) -> list[str]:
    return sorted(n for n, v in vars(module).items()
                  if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__ and callable(v))


def split_target(target: str):
    """(module or file, attribute path) for the three accepted spellings."""
    if ":" in target:
        where, _, attr = target.rpartition(":")
        if not where or not attr:
            raise UsageError(f"target '{target}' must look like pkg.mod:Name, pkg.mod.Name or path/file.py:Name")
        return where, attr
    if target.endswith(".py"):
        return target, ""
    module, _, attr = target.rpartition(".")
    if not module:
        raise UsageError(f"target '{target}' must look like pkg.mod:Name, pkg.mod.Name or path/file.py:Name")
    return module, attr


def resolve(target: str, init: dict | None = None) -> Candidate:
    """Import the target and classify it; raise UsageError with one line when it cannot be used."""
    where, attr = split_target(target)
    before = set(sys.modules)
    if where.endswith(".py") or os.sep in where:
        path = Path(where)
        module = _load_file(path)
        if not attr:
            names = _loss_like(module)
            if len(names) != 1:
                raise UsageError(f"'{where}' defines {len(names)} candidates ({', '.join(names) or 'none'}); "
                                 f"name one as {where}:Name")
            attr = names[0]
        import_lines = file_import_lines(path, attr.split(".")[0])
        folders = [str(path.parent.resolve()), *search_path(None, set(sys.modules) - before)]
    else:
        try:
            module = import_module(where)
        except UsageError:
            # pkg.mod.Name.attr spellings: retry one level up
            parent, _, last = where.rpartition(".")
            if not parent or ":" in target or _module_exists(where):
                raise
            module, attr = import_module(parent), f"{last}.{attr}"
        import_lines = f"from {module.__name__} import {attr.split('.')[0]}"
        folders = search_path(module, set(sys.modules) - before)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"'{module.__name__}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    return Candidate(target=target, obj=obj, kind=_kind(obj, target), import_lines=import_lines, name=attr,
                     init=dict(init or {}), search_path=list(dict.fromkeys(folders)))


def _kind(obj, target) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or isinstance(obj, functools.partial) or _scripted(obj):
        return "function"
    if callable(obj):
        return "instance"
    raise UsageError(f"'{target}' is a {type(obj).__name__}, not a loss class, function or callable instance")


def wrap(obj, init: dict | None = None) -> Candidate:
    """A Candidate for an object passed directly (from Python or the pytest plugin): a class or function is
    imported by its name in the reproducer, an instance rebuilt from its class (losscheck.suspect.recipe)."""
    name = getattr(obj, "__name__", None) or type(obj).__name__
    module = getattr(obj, "__module__", None) or type(obj).__module__
    target = f"{module}:{name}"
    kind = _kind(obj, target)
    found = import_lines_of(type(obj) if kind == "instance" else obj)
    imports, folders = found or (f"# {target}: cannot be imported by its name (passed directly)", [])
    built = None if found else ""
    if kind == "instance" and found:
        built = constructor_call(obj) or ""
    return Candidate(target=target, obj=obj, kind=kind, name=name, init=dict(init or {}), built=built,
                     import_lines=imports, search_path=folders)


def builtin_id(obj) -> str | None:
    """The catalogue id of a torch built-in loss class, functional or instance, else None."""
    # losscheck.specs at call time: it loads hypothesis, scipy and every spec (1.4 s), which `losscheck init`
    # does not need when it imports a package through this module
    from losscheck.specs import TORCH_BUILTINS

    probe = obj if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj) else type(obj)
    for name, loss_id in TORCH_BUILTINS.items():
        module, _, attr = name.rpartition(".")
        try:
            if getattr(importlib.import_module(module), attr) is probe:
                return loss_id
        except (ImportError, AttributeError):
            continue
    return None
