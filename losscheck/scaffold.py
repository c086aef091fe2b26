"""`losscheck init PACKAGE`: a starter `[tool.losscheck]` section for the losses a package defines.

It imports PACKAGE and every submodule under it (pkgutil; a submodule that fails to import is skipped with a
one-line note on stderr; `__main__` is never imported), keeps the public `nn.Module` subclasses whose name ends
in "Loss" (any case; also the suffix-less InfoNCE / NTXent, and any subclass of torch's `_Loss`) and the public
functions whose name ends in `_loss`, each where it is defined (a re-export is listed once), and guesses each
one's catalogue id:

1. a subclass of a torch built-in loss (`class MyCE(nn.CrossEntropyLoss)`) gets that built-in's id, and a loss
   of losscheck's library table (losscheck.libraries), or a subclass of one, that table's id;
2. else the name's words go through `KEYWORDS` (an ordered table: the first row that matches gives the candidate
   ids), and among those ids the one whose `spec.signature` has as many arguments as the loss takes tensors
   (required positional arguments of `forward`, or of the function, plus optional ones annotated as tensors)
   wins; argument and parameter names shared with the spec (and its aliases) break ties;
3. else forward's argument names equal to the signature of exactly one spec (`anchor, positive, negative`).

Nothing here is audited or instantiated; only imports run. The section is valid TOML that
`losscheck.config` loads (a loss without a guess is written commented out).
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losscheck.errors import UsageError
from losscheck.report.files import write_atomic

# (words that must all occur in the name, candidate ids in order of preference). The first matching row wins,
# so specific rows come before generic ones ("smoothl1" before "l1", "bcewithlogits" before "bce"); a row
# without ids names losses the catalogue does not have. A word of up to three letters must be a whole word of
# the name (or a run of them: IoU = "io" + "u"); a longer one may occur anywhere in it.
KEYWORDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("lovasz",), ()),
    (("generalizeddice",), ("generalized_dice",)),
    (("gdl",), ("generalized_dice",)),
    (("tversky",), ("tversky",)),
    (("dice",), ("dice",)),
    (("sorensen",), ("dice",)),
    (("giou",), ("giou",)),
    (("generalizediou",), ("giou",)),
    (("iou",), ("iou",)),
    (("jaccard",), ("iou",)),
    (("focal", "multi"), ("focal_multiclass", "focal")),
    (("focal", "softmax"), ("focal_multiclass", "focal")),
    (("focal", "categorical"), ("focal_multiclass", "focal")),
    (("focal",), ("focal", "focal_multiclass")),
    (("infonce",), ("info_nce",)),
    (("ntxent",), ("info_nce",)),
    (("nce",), ("info_nce",)),
    (("simclr",), ("info_nce",)),
    (("contrastive",), ("contrastive", "info_nce")),
    (("batchhard",), ("triplet_batch_hard",)),
    (("hardtriplet",), ("triplet_batch_hard",)),
    (("triplethard",), ("triplet_batch_hard",)),
    (("triplet",), ("triplet_margin", "triplet_batch_hard")),
    (("cosineembedding",), ("cosine_embedding",)),
    (("marginranking",), ("margin_ranking",)),
    (("ranking",), ("margin_ranking",)),
    (("hingeembedding",), ("hinge_embedding",)),
    (("multilabelsoftmargin",), ("multilabel_soft_margin",)),
    (("multilabelmargin",), ("multilabel_margin",)),
    (("multimargin",), ("multi_margin",)),
    (("multiclasshinge",), ("multi_margin",)),
    (("softmargin",), ("soft_margin",)),
    (("hinge",), ("hinge", "hinge_embedding")),
    (("svm",), ("hinge",)),
    (("smoothl1",), ("smooth_l1",)),
    (("huber",), ("huber",)),
    (("logcosh",), ("log_cosh",)),
    (("asymmetric", "mse"), ("asymmetric_mse",)),
    (("asymmetric", "l2"), ("asymmetric_mse",)),
    (("asymmetric", "squared"), ("asymmetric_mse",)),
    (("gaussiannll",), ("gaussian_nll",)),
    (("gaussian", "likelihood"), ("gaussian_nll",)),
    (("heteroscedastic",), ("gaussian_nll",)),
    (("poisson",), ("poisson_nll",)),
    (("mse",), ("mse",)),
    (("l2",), ("mse",)),
    (("meansquared",), ("mse",)),
    (("squarederror",), ("mse",)),
    (("l1",), ("l1",)),
    (("mae",), ("l1",)),
    (("absoluteerror",), ("l1",)),
    (("bcewithlogits",), ("bce_with_logits",)),
    (("bce", "logit"), ("bce_with_logits",)),
    (("binarycrossentropy", "logit"), ("bce_with_logits",)),
    (("sigmoidcrossentropy",), ("bce_with_logits",)),
    (("bce",), ("bce", "bce_with_logits")),
    (("binarycrossentropy",), ("bce", "bce_with_logits")),
    (("labelsmoothing",), ("cross_entropy",)),
    (("crossentropy",), ("cross_entropy",)),
    (("xent",), ("cross_entropy",)),
    (("ce",), ("cross_entropy",)),
    (("nll",), ("nll",)),
    (("negativeloglikelihood",), ("nll",)),
    (("kld",), ("gaussian_kl", "kl_div")),
    (("vae",), ("gaussian_kl",)),
    (("elbo",), ("gaussian_kl",)),
    (("kl",), ("kl_div", "gaussian_kl")),
    (("kullback",), ("kl_div", "gaussian_kl")),
    (("wasserstein",), ("wasserstein_critic",)),
    (("wgan",), ("wasserstein_critic",)),
    (("critic",), ("wasserstein_critic",)),
    (("discriminator",), ("gan_discriminator",)),
    (("generator",), ("gan_generator",)),
    (("gan",), ("gan_discriminator", "gan_generator")),
    (("adversarial",), ("gan_discriminator", "gan_generator")),
    (("uncertainty",), ("uncertainty_weighting",)),
    (("homoscedastic",), ("uncertainty_weighting",)),
    (("multitask",), ("uncertainty_weighting",)),
    (("ctc",), ("ctc",)),
    (("connectionist",), ("ctc",)),
)

# nn.Module subclasses are kept when their lower-cased name ends in one of these.
CLASS_SUFFIXES = ("loss", "infonce", "ntxent")
FUNCTION_SUFFIX = "_loss"
_GENERIC_PARAMS = {"reduction", "size_average", "reduce", "self"}
_WORD = re.compile(r"[A-Z]+[0-9]*(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_MODULE = "torch.nn.modules.module.Module"
_TORCH_LOSS = "torch.nn.modules.loss._Loss"


@dataclass(frozen=True)
class Guess:
    loss_id: str | None
    alternatives: tuple = ()
    why: str = ""      # "name", "signature", or what made it known ("subclasses torch.nn.CrossEntropyLoss")
    warning: str = ""  # the loss's arity fits no candidate


@dataclass
class Found:
    module: str
    name: str
    obj: Any = field(repr=False)
    kind: str  # "class" | "function"
    guess: Guess | None = None

    @property
    def target(self) -> str:
        return f"{self.module}:{self.name}"


# --- discovery ---------------------------------------------------------------------------------------------

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
    from losscheck.candidate import _import_module

    with contextlib.redirect_stdout(sys.stderr):  # a module that prints at import must not corrupt the TOML
        return _import_module(name)


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
    """An nn.Module subclass named *Loss (or InfoNCE, NTXent), or any subclass of torch's `_Loss` (checked by
    name: torch is not imported for this)."""
    if not inspect.isclass(obj):
        return False
    bases = _bases(obj)
    return _TORCH_LOSS in bases or (_MODULE in bases and name.lower().endswith(CLASS_SUFFIXES))


def losses_in(module) -> list[Found]:
    """The public loss classes and `*_loss` functions defined in `module` itself, in definition order."""
    found = []
    for name, obj in list(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if obj.__name__ == name and is_loss_class(obj, name):
            found.append(Found(module.__name__, name, obj, "class"))
        elif inspect.isfunction(obj) and obj.__name__ == name and name.lower().endswith(FUNCTION_SUFFIX):
            found.append(Found(module.__name__, name, obj, "function"))
    return found


def discover(package: str, note=_note) -> list[Found]:
    """Every loss under `package` with its guess; UsageError (one line) when `package` cannot be imported."""
    root = _import_root(package)
    found, seen = [], set()
    for module in iter_modules(root, note):
        for f in losses_in(module):
            if f.target not in seen:
                seen.add(f.target)
                f.guess = guess(f.name, f.obj, f.kind)
                found.append(f)
    return found


# --- guessing ----------------------------------------------------------------------------------------------

def words(name: str) -> list[str]:
    """Lower-cased words of a CamelCase or snake_case name: SmoothL1Loss -> smooth, l1, loss."""
    return [w.lower() for part in re.split(r"[_\W]+", name) for w in _WORD.findall(part)]


def _matches(keyword: str, ws: list[str], joined: str) -> bool:
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
    """The candidate ids of the first KEYWORDS row whose words all occur in `name`, or ()."""
    ws = words(name)
    if ws and ws[-1] in ("loss", "losses"):
        ws = ws[:-1]
    joined = "".join(ws)
    for needed, ids in KEYWORDS:
        if all(_matches(k, ws, joined) for k in needed):
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
    from losscheck.libraries import LIBRARY_LOSSES
    from losscheck.specs import TORCH_BUILTINS

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
    from losscheck.specs import SPECS

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


# --- the TOML ----------------------------------------------------------------------------------------------

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


def render(package: str, found: list[Found]) -> str:
    """The starter `[tool.losscheck]` section (valid TOML; a loss without a guess is commented out)."""
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
    return "\n".join(lines) + "\n"


def _parse(text: str, path: Path) -> dict:
    from losscheck.config import tomllib

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
    from losscheck.config import from_table

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


def run(args) -> int:
    """`losscheck init PACKAGE [--pyproject PATH] [--write]`."""
    if args.pyproject and not args.write:
        raise UsageError("--pyproject names the file that --write appends to; add --write")
    path = Path(args.pyproject or "pyproject.toml")
    if args.write:
        existing(path, args.package)  # refuse before importing anything
    found = discover(args.package)
    if not found:
        raise UsageError(f"no loss found in '{args.package}': no public nn.Module subclass named *Loss and no "
                         "function named *_loss (submodules included)")
    section = render(args.package, found)
    if not args.write:
        sys.stdout.write(section)
        return 0
    append(path, section, args.package)
    guessed = sum(f.guess.loss_id is not None for f in found)
    print(f"appended [tool.losscheck] with {len(found)} losses to {path} ({guessed} guessed: confirm each `as`; "
          f"{len(found) - guessed} commented out without a guess)")
    return 0
