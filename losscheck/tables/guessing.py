"""Guessing the catalogue id of a loss, for `losscheck init` (in the judge: init only imports) and for
`losscheck audit` without --as (in the worker, which has the object):

1. a subclass of a torch built-in loss (`class MyCE(nn.CrossEntropyLoss)`) gets that built-in's id, and a loss
   of losscheck's library table (losscheck.tables.libraries), or a subclass of one, that table's id;
2. else the name's words go through `keywords()` (an ordered table built from the specs' `names`: the first
   row that matches gives the candidate ids), and among those ids the one whose `spec.signature` has as many
   arguments as the loss takes tensors (required positional arguments of `forward`, or of the function, plus
   optional ones annotated as tensors) wins; argument and parameter names shared with the spec (and its
   aliases) break ties;
3. else forward's argument names equal to the signature of exactly one spec (`anchor, positive, negative`).
"""
from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from functools import lru_cache

from losscheck.specs import SPECS, TORCH_BUILTINS
from losscheck.tables.libraries import LIBRARY_LOSSES

# Names of losses the catalogue does not have: a name with these words is never guessed as another id
# (Poly1FocalLoss is not a focal loss: Leng et al. 2022 add ε·(1 - p_t)^(γ+1) to it).
UNCATALOGUED = ("poly",)


@lru_cache(maxsize=1)
def keywords() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The ordered table of (words that must all occur in the name, candidate ids), from each spec's `names`
    (and `naming.also`, whose ids come after those the words name). The first matching row wins, so rows go
    from specific to generic: the catalogue's missing losses first, then segmentation losses (compound names
    such as DiceCELoss, DiceFocalLoss or FocalTverskyLoss are segmentation losses), then more letters before
    fewer ("smoothl1" before "l1", "bcewithlogits" before "bce"), then catalogue order. A word of up to three
    letters must be a whole word of the name (or a run of them: IoU = "io" + "u"); a longer one may occur
    anywhere in it."""
    rows: dict[tuple[str, ...], list] = {(w,): [] for w in UNCATALOGUED}
    for n, spec in enumerate(SPECS.values()):
        for rank, names in enumerate((spec.naming.words, spec.naming.also)):
            for name in names:
                rows.setdefault(tuple(name.split()), []).append((rank, n, spec))

    def order(item):
        needed, ids = item
        first = min((n for _, n, _ in ids), default=-1)
        segmentation = not ids or any(s.family == "segmentation" for _, _, s in ids)
        return (not segmentation, -len("".join(needed)), first)

    return tuple((needed, tuple(s.id for _, _, s in sorted(ids, key=lambda r: r[:2])))
                 for needed, ids in sorted(rows.items(), key=order))


_GENERIC_PARAMS = {"reduction", "size_average", "reduce", "self"}
_WORD = re.compile(r"[A-Z]+[0-9]*(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")


@dataclass(frozen=True)
class Guess:
    """A guessed id, the other candidates, what made it known, and a warning when the arity fits none."""

    loss_id: str | None
    alternatives: tuple = ()
    why: str = ""      # "name", "signature", or what made it known ("subclasses torch.nn.CrossEntropyLoss")
    warning: str = ""  # the loss's arity fits no candidate


def words(name: str) -> list[str]:
    """Lower-cased words of a CamelCase or snake_case name: SmoothL1Loss -> smooth, l1, loss."""
    return [w.lower() for part in re.split(r"[_\W]+", name) for w in _WORD.findall(part)]


def _keyword_matches(keyword: str, ws: list[str], joined: str) -> bool:
    if len(keyword) > 3:
        return keyword in joined
    # a whole word, or a run of consecutive words (IoU -> io, u)
    for i in range(len(ws)):
        run = ""
        for w in ws[i:]:
            run += w
            if run == keyword:
                return True
            if len(run) >= len(keyword):
                break
    return False


def keyword_ids(name: str) -> tuple[str, ...]:
    """The candidate ids of the first `keywords()` row whose words all occur in `name`, or ()."""
    ws = words(name)
    if ws and ws[-1] in ("loss", "losses"):
        ws = ws[:-1]
    joined = "".join(ws)
    for needed, ids in keywords():
        if all(_keyword_matches(k, ws, joined) for k in needed):
            return ids
    return ()


@dataclass(frozen=True)
class Arity:
    low: int
    high: float  # inf with *args
    names: tuple  # the tensor arguments' names
    params: tuple  # the other parameter names (constructor, or the function's keywords)

    def fits(self, n: int) -> bool:
        return self.low <= n <= self.high

    def describe(self) -> str:
        if self.high == self.low:
            return str(self.low)
        return f"{self.low} or more" if self.high == float("inf") else f"{self.low} to {int(self.high)}"


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def arity(obj, kind: str) -> Arity | None:
    """How many tensors the loss takes (forward's for a class), or None when it cannot be read."""
    params = []
    if kind == "class":
        forward = getattr(obj, "forward", None)
        if forward is None or getattr(forward, "__name__", "") == "_forward_unimplemented":
            return None
        sig = _signature(forward)
        if sig is None:
            return None
        args = list(sig.parameters.values())
        if not isinstance(inspect.getattr_static(obj, "forward", None), staticmethod):
            args = args[1:]  # self
        ctor = _signature(obj)
        params = [p.name for p in ctor.parameters.values()] if ctor else []
    else:
        sig = _signature(obj)
        if sig is None:
            return None
        args = list(sig.parameters.values())
    low, high, names, rest = 0, 0, [], []
    for p in args:
        if p.kind == p.VAR_POSITIONAL:
            high = float("inf")
        elif p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            rest.append(p.name)
        elif p.default is p.empty and (p.annotation is p.empty or "Tensor" in str(p.annotation)):
            low += 1
            names.append(p.name)
        elif "Tensor" in str(p.annotation):
            names.append(p.name)
        else:
            rest.append(p.name)
    high = max(high, len(names))
    return Arity(low, high, tuple(names), tuple(n for n in (*params, *rest) if n not in _GENERIC_PARAMS))


def _evidence(spec, a: Arity | None) -> int:
    if a is None:
        return 0
    own = {n for p in spec.params for n in p.names} - _GENERIC_PARAMS
    return sum(n in spec.signature for n in a.names) + sum(n in own for n in a.params)


def _known(obj) -> tuple[str, str] | None:
    """(why, id) when obj is, or subclasses, a torch built-in loss or a loss of losscheck's library table."""
    torch_classes = {name.rpartition(".")[2]: (name, loss_id) for name, loss_id in TORCH_BUILTINS.items()
                     if name.startswith("torch.nn.") and not name.startswith("torch.nn.functional.")}
    library = {}
    for row in LIBRARY_LOSSES:  # only libraries already imported (by the package under inspection)
        module, _, attr = row.target.partition(":")
        cls = getattr(sys.modules.get(module), attr, None)
        if inspect.isclass(cls):
            library.setdefault(cls, (row.target, row.loss_id))
    for base in obj.__mro__:
        if base in library:
            target, loss_id = library[base]
            return ("listed in losscheck's library table" if base is obj else f"subclasses {target}"), loss_id
        if base is not obj and base.__module__.startswith("torch.nn") and base.__name__ in torch_classes:
            name, loss_id = torch_classes[base.__name__]
            return f"subclasses {name}", loss_id
    return None


def guess(name: str, obj, kind: str) -> Guess:
    """The catalogue id a loss probably is (see the module docstring), with the other candidates."""
    a = arity(obj, kind)
    if kind == "class":
        known = _known(obj)
        if known:
            return Guess(known[1], why=known[0])
    ids = tuple(i for i in keyword_ids(name) if i in SPECS)
    if not ids:
        if a is not None:
            same = [s.id for s in SPECS.values() if tuple(s.signature) == a.names]
            if len(same) == 1:
                return Guess(same[0], why="signature")
        return Guess(None)
    fits = [i for i in ids if a is None or a.fits(len(SPECS[i].signature))]
    pool = fits or list(ids)
    best = max(pool, key=lambda i: (_evidence(SPECS[i], a), -ids.index(i)))
    warning = ""
    if not fits:
        sig = SPECS[best].signature
        what = "forward" if kind == "class" else name
        warning = f"{what} takes {a.describe()} tensors, {best} takes {len(sig)}: {', '.join(sig)}"
    return Guess(best, tuple(i for i in ids if i != best), why="name", warning=warning)
