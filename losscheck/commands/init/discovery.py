"""Finding the losses a package defines, for `losscheck init`.

It imports the package and every submodule under it (pkgutil; a submodule that fails to import is skipped with
a one-line note on stderr; `__main__` is never imported), keeps the public `nn.Module` subclasses whose name
ends in "Loss" (any case), "Penalty" or "Regularizer" (also a loss's own suffix-less name such as InfoNCE or
NTXent, from the specs, and any subclass of torch's `_Loss`) and the public functions whose snake_case name
ends so (`dice_loss`, `l2_penalty`), each where it is defined (a re-export is listed once). Only
imports run: nothing is instantiated. Public nn.Module subclasses and functions that are not placed so but whose
name says "loss" anywhere or names a catalogue loss (`LabelSmoothingCrossEntropy`, `FocalLossOK`) are kept
too, as unplaced with the reason, so that `init` can list them rather than drop them silently.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from losscheck.errors import UsageError
from losscheck.specs import SPECS
from losscheck.suspect.candidate import import_module
from losscheck.tables.guessing import Guess, guess, keyword_ids

# nn.Module subclasses are kept when their lower-cased name ends in one of these.
# The words that end a loss's name: "loss", and those of the regularisation terms (L2Penalty, l1_regularizer).
LOSS_WORDS = ("loss", "penalty", "regularizer", "regulariser", "regularization", "regularisation")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_MODULE = "torch.nn.modules.module.Module"
_TORCH_LOSS = "torch.nn.modules.loss._Loss"


@dataclass
class Found:
    """A loss found in a module: where, its name, the object, class or function, and its guess."""

    module: str
    name: str
    obj: Any = field(repr=False)
    kind: str  # "class" | "function"
    guess: Guess | None = None
    unplaced: str = ""  # why a loss-like name was not placed as a loss (then it has no guess)

    @property
    def target(self) -> str:
        return f"{self.module}:{self.name}"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _note(line: str) -> None:
    print(f"losscheck: {line}", file=sys.stderr)


def _import_root(name: str):
    if not _DOTTED.match(name):
        raise UsageError(f"'{name}' is not an importable package or module name; give a dotted name such as "
                         "mypkg or mypkg.losses (run from the folder that contains it)")
    with contextlib.redirect_stdout(sys.stderr):  # a module that prints at import must not corrupt the TOML
        return import_module(name)


def iter_modules(root, note=_note):
    """root, then every submodule under it (depth first, sorted); `__main__` modules are never imported."""
    seen = set()

    def walk(module):
        if module.__name__ in seen:
            return
        seen.add(module.__name__)
        yield module
        path = getattr(module, "__path__", None)
        if path is None:
            return
        try:
            infos = sorted(pkgutil.iter_modules(path, module.__name__ + "."), key=lambda i: i.name)
        except Exception as e:  # an odd __path__
            note(f"skipped the submodules of {module.__name__} ({_one_line(e)})")
            return
        for info in infos:
            if info.name.rpartition(".")[2] == "__main__":
                continue
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    sub = importlib.import_module(info.name)
            except (Exception, SystemExit) as e:
                note(f"skipped {info.name} (import failed: {_one_line(e)})")
                continue
            yield from walk(sub)

    yield from walk(root)


def _bases(obj) -> set:
    return {f"{c.__module__}.{c.__qualname__}" for c in obj.__mro__[1:]}


def is_loss_class(obj, name: str) -> bool:
    """An nn.Module subclass named as a loss (`is_loss_name`), or any subclass of torch's `_Loss` (checked by
    name: torch is not imported for this)."""
    if not inspect.isclass(obj):
        return False
    bases = _bases(obj)
    return _TORCH_LOSS in bases or (_MODULE in bases and is_loss_name(name))


def is_loss_name(name: str, kind: str = "class") -> bool:
    """Whether `name` ends (any case) in one of LOSS_WORDS (FocalLoss, L2Penalty; a function's after an
    underscore: dice_loss, l2_penalty) or, for a class, in a loss's own name without one (a spec's
    `naming.standalone`: InfoNCE, NTXent)."""
    lower = name.lower()
    if kind == "function":
        return lower.endswith(tuple(f"_{w}" for w in LOSS_WORDS))
    return lower.endswith(LOSS_WORDS + tuple(n for s in SPECS.values() for n in s.naming.standalone))


def _unplaced(obj, name: str) -> str:
    """Why a public nn.Module subclass or function that looks like a loss (its name says "loss" anywhere, or
    names a catalogue loss) was not placed as one; "" when it does not look like a loss."""
    module_class = inspect.isclass(obj) and _MODULE in _bases(obj)
    if not (module_class or inspect.isfunction(obj)):
        return ""
    suggests = keyword_ids(name)
    if not suggests and "loss" not in name.lower():
        return ""
    what = ("an nn.Module subclass whose name does not end in Loss, Penalty or Regularizer" if module_class
            else "a function whose name does not end in _loss or _penalty")
    return what + (f" (the name suggests {' or '.join(suggests[:2])})" if suggests else "")


def losses_in(module) -> list[Found]:
    """The public loss classes and functions (`dice_loss`, `l2_penalty`: snake_case names of a loss) defined
    in `module` itself, in definition order, then the loss-like ones not placed (`_unplaced`)."""
    found, unplaced = [], []
    for name, obj in list(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if getattr(obj, "__name__", None) != name:
            continue
        if is_loss_class(obj, name):
            found.append(Found(module.__name__, name, obj, "class"))
        elif inspect.isfunction(obj) and is_loss_name(name, "function"):
            found.append(Found(module.__name__, name, obj, "function"))
        elif why := _unplaced(obj, name):
            unplaced.append(Found(module.__name__, name, obj, "class" if inspect.isclass(obj) else "function",
                                  unplaced=why))
    return found + unplaced


def discover(package: str, note=_note) -> list[Found]:
    """Every loss under `package` with its guess, and the loss-like names not placed; UsageError (one line) when `package` cannot be imported."""
    root = _import_root(package)
    found, seen = [], set()
    for module in iter_modules(root, note):
        for f in losses_in(module):
            if f.target not in seen:
                seen.add(f.target)
                f.guess = None if f.unplaced else guess(f.name, f.obj, f.kind)
                found.append(f)
    return found
