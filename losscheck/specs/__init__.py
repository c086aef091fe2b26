"""The catalogue: one LossSpec per id, and the map from torch built-ins (modules and functionals) to ids."""
from losscheck.specs import (boxes, classification, embedding, generative, language, regression, regularisation,
                             segmentation, sequence, signal)
from losscheck.specs.base import LossSpec, Param

SPECS: dict[str, LossSpec] = {s.id: s for m in (regression, classification, embedding, segmentation, generative,
                                                regularisation, sequence, language, boxes, signal)
                                  for s in m.SPECS}

TORCH_BUILTINS: dict[str, str] = {name: s.id for s in SPECS.values() for name in s.torch}


__all__ = ["SPECS", "TORCH_BUILTINS", "LossSpec", "Param"]
