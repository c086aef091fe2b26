"""The check registry: the extension point where a check family plugs into every audit (as pytest's hookspec.py
declares its hooks, this module declares what a family may add, and the auditor reads only these declarations:
it knows no check by name).

A check is a function `check(ctx) -> Evidence` (ctx: losscheck.judge.context.Context), registered with
`@register(name, family, ...)`. It draws cases with hypothesis (`ctx.search`), raises `Violation` from its
property when something is wrong (losscheck.judge.evidence) and gets back the shrunk violation; it raises `Skip`
when it has nothing to say. Candidate failures on valid input (raise, hang, non-tensor, non-0-d reduced result)
become api findings wherever they happen, through `ctx.run`.

A family may add, and nothing else changes:
  * its module, losscheck/checks/<family>.py, listed in losscheck/checks/__init__.py, registering its checks;
  * its codes in losscheck.pitfalls (PITFALLS, FAMILIES, FAMILY_CHECKS) and its tests;
  * a place in ORDER, when it must run at a point of its own (its checks need what another check establishes);
  * per check, what the audit must know of it (the keywords of `register`): it needs accepted inputs, it is
    opt-in, it repairs the audit's state when it breaks.
A check reads the audit's state (the spec in force, the accepted layouts and target formats, the diagnosis)
through ctx, and writes to it only what it establishes (losscheck.judge.state.AuditState says who writes what).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from losscheck.judge.context import Context

CHECKS: list = []  # every registered check, in registration order (`ordered` puts them in ORDER)
NOTHING_ACCEPTED = "skipped: the candidate accepts none of the loss's layouts and target formats (see api.call)"

# The families whose worker ops (losscheck.suspect.ops: autocast, compiled) send the candidate whole tensors in a
# request of their own: skipped (WHOLE_TENSORS_ONLY) where the spec in force hands an input over as a list of
# chunks (LossSpec.chunked, losscheck.judge.chunks), which those requests cannot carry; every other check calls
# through ctx, which hands the chunks over.
SENDS_WHOLE_TENSORS = ("precision", "compile")
WHOLE_TENSORS_ONLY = ("skipped: the candidate takes an input as a list of chunks, and this family's worker op sends "
                      "whole tensors")

ORDER = (
    "api.call",    # the probe: every later check draws from the layouts and target formats it finds accepted
    "value",       # before the other families: its diagnosis (a variant, conventions it adopts) is what they
                   # audit under, and stability's remarks are judged against
    "stability", "gradient", "reduction", "target", "device", "api", "precision", "compile",  # the rest, in
                                                                                   # pitfalls.FAMILIES' order
    "reduction.accumulation",  # beside device.ddp (the same cut-and-compare design), after the families: the
                               # micro-batches are judged against the full batch, whose own loss they have audited
    "device.ddp",  # last: the slowest (a gloo group of ranks), opt-in, and it reads what the others found
)
"""The order an audit runs its checks in, declared: each place is a check's name (that check alone) or a family
(its checks that have no place of their own, in registration order). Why each place is where it is, is said
beside it; a family with no reason to be elsewhere takes its place in pitfalls.FAMILIES' order."""


def register(name: str, family: str, *, needs_inputs: bool = True, only_if: Callable[[Context], bool] | None = None,
             on_error: Callable[[Context], None] | None = None):
    """Register the check `fn(ctx) -> Evidence` as `name`, of `family`, with what the audit needs to know of it:

    needs_inputs it is skipped (NOTHING_ACCEPTED) when the probe found no layout and target format that runs;
    only_if      ctx -> whether this audit runs it at all (device.ddp: only with --ddp N);
    on_error     ctx -> None, called when the check fails with an internal error (the probe: draw from every
                 layout rather than none).
    Its place in the audit is ORDER's entry for its name, else for its family.
    """
    def wrap(fn):
        fn.check_name, fn.family = name, family
        fn.needs_inputs, fn.only_if, fn.on_error = needs_inputs, only_if, on_error
        place(fn)  # a check without a place is an error here, not a check that silently never runs
        CHECKS.append(fn)
        return fn
    return wrap


def place(check) -> int:
    """The check's place in ORDER: its own name's entry, else its family's."""
    key = check.check_name if check.check_name in ORDER else check.family
    if key not in ORDER:
        raise ValueError(f"check {check.check_name}: family '{check.family}' has no place in checks.registry.ORDER")
    return ORDER.index(key)


def ordered(checks=None) -> list:
    """`checks` (default: every registered check) in the declared ORDER; within one place, in registration order."""
    return sorted(CHECKS if checks is None else checks, key=place)
