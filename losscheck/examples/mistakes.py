"""The reports/ gallery's examples under the names its reports were made with: every loss registered with
`gallery=` in the family corpora (the "seen in the wild" mistakes of pitfalls.md), so that each gallery target
stays `losscheck.examples.mistakes:NAME` and its reports and reproducers do not change. Examples to audit, not code
to use.
"""
from losscheck.examples.registry import gallery

globals().update({e.name: e.obj for e in gallery()})
__all__ = [e.name for e in gallery()]
