"""The example corpus: buggy and correct PyTorch losses, one module per catalogue family (regression.py,
classification.py, embedding.py, segmentation.py, generative.py, sequence.py, language.py, imagetext.py, angular.py,
multilabel.py, lovasz.py, boxes.py, signal.py), each loss registered with `@example` (registry.py) with the id it
claims and what its audit must say. The tests audit all of them (the pitfall fixtures, the catalogue's defects and
twins, one candidate per known variant, the mistakes seen in the wild); the reports/ gallery audits the mistakes
seen in the wild, under their names in mistakes.py. adapters/ holds no example: one module per library, it calls
library losses that take no (input, target) (TRL's trainer methods, sentence-transformers' embeddings method) the way
a user testing them would, for the README's library table (losscheck.tables.libraries).

Why the whole corpus is here, in the installed package, and not under tests/: the gallery (`losscheck report`)
must import its examples from the installed package, and splitting a family between the package and tests/
would make two corpora again. Here a defect, its correct twin and the variants of its id sit side by side; any
reproducer imports them in a fresh interpreter with no test folder on sys.path; and one registry serves every
reader. The price: the package ships about 440 small losses, a few of which hang or exit on purpose (the
LC706 fixtures). They are examples to audit, never code to use.
"""
from losscheck.examples.registry import gallery

GALLERY_MODULE = "losscheck.examples.mistakes"

# (target, catalogue id, what the example shows), in the gallery's row order
EXAMPLES = [(f"{GALLERY_MODULE}:{e.name}", e.loss_id, e.defect) for e in gallery()]
# target -> the opt-in families its audit turns on (a low-precision or compile mistake), for those that need one
OPT_IN = {f"{GALLERY_MODULE}:{e.name}": e.opt_in for e in gallery() if e.opt_in}
