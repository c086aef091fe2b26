"""The registry of the example corpus: `@example(...)`, written above a loss in losscheck/examples/<family>.py,
records the catalogue id the loss claims, what its audit must say and which test table audits it;
`examples()`, `find()` and `gallery()` read the records back (the tests, `losscheck report`).

    @example("huber", expect="LC101", twin="CorrectHuber", suite="pitfalls")
    class HuberMissingHalf(nn.Module):
        '''LC101: Huber loss whose linear branch is δ·(|d| - δ) ...'''

A loss may carry several records (one per table that audits it); its name is unique in the corpus.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Callable

from losscheck.specs import SPECS

# The test tables that audit the corpus, each with its own settings (seed, examples per check).
SUITES = {
    "pitfalls": "tests/test_checks.py, test_reproducers.py: one defect per pitfall code, and correct twins",
    "catalogue": "tests/test_catalogue.py: a defect and a correct twin for each id beyond the first twelve",
    "variants": "tests/test_variants.py: one candidate per variant and convention option of a spec, a twin per id",
    "common": "tests/test_variants.py: one candidate per COMMON variant (losscheck.diagnosis.variants.COMMON)",
    "wild": "tests/test_wild.py: the mistakes seen in the wild (the reports/ gallery's), and correct twins",
    "forms": "tests/test_forms.py: correct losses written in a form the catalogue does not list (exit 0, one LC103 "
             "naming the form) and broken twins in the same form (still an error)",
}
NEEDS = ("cuda",)
RAW_RUN = "on raw "  # how a precision finding of a raw half run says where it ran ("on raw float16 inputs")


@dataclass(frozen=True)
class Example:
    """One record: `obj` audited as `loss_id` must get a finding with every code of `expect` (whose title or
    message contains its words, lowercased, where any are given; naming `variant` where one is given), or, with
    `expect` empty, no error or warning finding."""

    obj: Callable
    loss_id: str
    suite: str
    expect: dict = field(default_factory=dict)  # code -> words a finding with that code must contain ("" for any)
    variant: str | None = None  # the variant or convention the finding must name (LC102, LC103)
    twin: str | None = None  # the name of the correct twin in the same table
    gallery: int | None = None  # the loss's row in the reports/ gallery (1 = first); None: not in the gallery
    needs: str | None = None  # "cuda": the expectation holds only where a CUDA device is present

    @property
    def name(self) -> str:
        return self.obj.__name__

    @property
    def module(self) -> str:
        return self.obj.__module__

    @property
    def target(self) -> str:
        """The audit target string, e.g. 'losscheck.examples.regression:HuberMissingHalf'."""
        return f"{self.module}:{self.name}"

    @property
    def family(self) -> str:
        """The catalogue family: the corpus module the loss lives in."""
        return self.module.rpartition(".")[2]

    @property
    def clean(self) -> bool:
        return not self.expect

    @property
    def code(self) -> str:
        """The one expected code (the tables that expect exactly one)."""
        (code,) = self.expect
        return code

    @property
    def opt_in(self) -> dict:
        """The opt-in check families its audit needs (AuditOptions fields): the precision family for an expected
        LC8 code (with its raw half inputs, precision_raw, where the words expected are a raw run's: "on raw
        float16"), the compile family for an LC9 code (LC905, "compile hides the bug", with inductor)."""
        wanted = {"precision": "LC8", "compile": "LC9", "inductor": "LC905"}
        options = {option: True for option, prefix in wanted.items() if any(c.startswith(prefix) for c in self.expect)}
        raw = any(c.startswith("LC8") and RAW_RUN in words for c, words in self.expect.items())
        return {**options, "precision_raw": True} if raw else options

    @property
    def defect(self) -> str:
        """The first line of the docstring: the defect, or that the loss is correct."""
        return (self.obj.__doc__ or "").strip().splitlines()[0]


_RECORDS: list[Example] = []
_BY_NAME: dict[str, Callable] = {}


def example(loss_id: str, *, suite: str, expect=(), variant: str | None = None, twin: str | None = None,
            gallery: int | None = None, needs: str | None = None):
    """Register the decorated loss (class or function) as an example of `loss_id` in the table `suite`.

    expect: a code, a tuple of codes, or {code: words}; empty: the audit must be clean.
    """
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {sorted(SUITES)}, not {suite!r}")
    if needs is not None and needs not in NEEDS:
        raise ValueError(f"needs must be one of {NEEDS}, not {needs!r}")
    if isinstance(expect, str):
        expect = (expect,)
    codes = dict(expect) if isinstance(expect, dict) else dict.fromkeys(expect, "")

    def register(obj):
        known = _BY_NAME.setdefault(obj.__name__, obj)
        if known is not obj:
            raise ValueError(f"two examples are named {obj.__name__!r} ({known.__module__}, {obj.__module__})")
        _RECORDS.append(Example(obj, loss_id, suite, codes, variant, twin, gallery, needs))
        return obj

    return register


def families() -> list[str]:
    """The catalogue families, in catalogue order: one corpus module each."""
    return list(dict.fromkeys(spec.family for spec in SPECS.values()))


def _load() -> None:
    """Import every family's corpus module (a family with no corpus module yet has no examples)."""
    for family in families():
        name = f"losscheck.examples.{family}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


@functools.cache
def _corpus() -> tuple[Example, ...]:
    """Every record, once every corpus module is imported and the records are checked."""
    _load()
    _validate_records(_RECORDS)
    return tuple(_RECORDS)


def _validate_records(records: list[Example]) -> None:
    """The corpus's own invariants, checked once it is loaded: each loss has a docstring and lives in the module
    of its id's family; a twin is a clean record of the same id in the same table; gallery rows are 1, 2, ..."""
    clean = {(e.suite, e.name, e.loss_id) for e in records if e.clean}
    for e in records:
        where = f"{e.target} (@example {e.loss_id!r}, suite {e.suite!r})"
        if e.loss_id not in SPECS or SPECS[e.loss_id].family != e.family:
            raise ValueError(f"{where}: no catalogue id {e.loss_id!r} in the family {e.family!r}")
        if not (e.obj.__doc__ or "").strip():
            raise ValueError(f"{where}: no docstring saying its defect, or that it is correct")
        if e.twin is not None and (e.suite, e.twin, e.loss_id) not in clean:
            raise ValueError(f"{where}: its twin {e.twin!r} is not a clean example of {e.loss_id!r} in that suite")
    rows = sorted(e.gallery for e in records if e.gallery is not None)
    if rows != list(range(1, len(rows) + 1)):
        raise ValueError(f"gallery rows must be 1 to {len(rows)}, each once, not {rows}")


def examples(suite: str | None = None) -> list[Example]:
    """Every record (of `suite`), family by family in catalogue order, each family in its file's order."""
    order = {f: k for k, f in enumerate(families())}
    chosen = [e for e in _corpus() if suite is None or e.suite == suite]
    return sorted(chosen, key=lambda e: order[e.family])


def find(name: str, suite: str | None = None) -> Example:
    """The record of the loss named `name` (in `suite`)."""
    found = [e for e in examples(suite) if e.name == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} examples named {name!r}" + (f" in suite {suite!r}" if suite else ""))
    return found[0]


def gallery() -> list[Example]:
    """The reports/ gallery's examples, in its row order."""
    return sorted((e for e in examples() if e.gallery is not None), key=lambda e: e.gallery)
