"""Example losses that ship with losscheck: the classic mistakes of pitfalls.md, written the way they are
written in the wild, each next to the id it claims to implement. The reports/ gallery audits them."""
from losscheck.examples import mistakes

# (target, catalogue id, what the example shows)
EXAMPLES = [
    (f"losscheck.examples.mistakes:{name}", obj.claims, (obj.__doc__ or "").strip().splitlines()[0])
    for name, obj in vars(mistakes).items() if getattr(obj, "claims", None)
]
