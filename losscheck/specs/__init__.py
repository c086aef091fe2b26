"""The catalogue: one LossSpec per id, and the map from torch built-ins (modules and functionals) to ids."""
from losscheck.specs import (angular, boxes, classification, embedding, generative, imagetext, language, lovasz,
                             multilabel, regression, regularisation, segmentation, sequence, signal)
from losscheck.specs.base import LossSpec, Param

# The catalogue's order: the classic families, then today's losses.
FAMILIES = (regression, classification, embedding, segmentation, generative, regularisation, sequence, language,
            imagetext, angular, multilabel, lovasz, boxes, signal)

SPECS: dict[str, LossSpec] = {s.id: s for m in FAMILIES for s in m.SPECS}

TORCH_BUILTINS: dict[str, str] = {name: s.id for s in SPECS.values() for name in s.torch}


__all__ = ["SPECS", "TORCH_BUILTINS", "LossSpec", "Param"]
