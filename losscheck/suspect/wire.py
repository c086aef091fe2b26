"""The wire between the judge (the audit process) and the suspect (the worker that runs the candidate).

Messages are pickles of plain data: None, bool, int, float, str, bytes, tuple, list and dict, and the few inert
dataclasses the reader names (the protocol's reply types, losscheck.suspect.protocol). The judge reads them
with an unpickler that refuses every other global, so nothing the candidate returns or writes into the pipe
can run code in the judge. Tensors cross as `encode_tensor` dicts: dtype, size, stride,
storage offset and the raw bytes of the storage they view, so non-contiguous and channels-last layouts
arrive as they were sent; an argument that is a list of tensors (an input taken in chunks) crosses as a list of
them (`tensors_in` is the order both sides count them in).
"""
from __future__ import annotations

import enum
import io
import pickle
import types

import torch

TENSOR = "__tensor__"
MAX_MESSAGE = 1 << 30  # a reply larger than this is not a loss value: the worker is misbehaving


class WireError(Exception):
    """A message the judge refuses: not plain data, too large, or not a pickle at all."""


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, file, classes):
        super().__init__(file)
        self.classes = {(c.__module__, c.__qualname__): c for c in classes}

    def find_class(self, module, name):
        if (module, name) in self.classes:
            return self.classes[(module, name)]
        raise WireError(f"the worker sent an object of {module}.{name}, not plain data")


def dumps(message) -> bytes:
    return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes, classes=()):
    """The message in `data`: plain data, and instances of `classes` (inert dataclasses) where named."""
    if len(data) > MAX_MESSAGE:
        raise WireError(f"the worker sent a {len(data)}-byte message")
    try:
        return _PlainUnpickler(io.BytesIO(data), classes).load()
    except WireError:
        raise
    except Exception as e:  # noqa: BLE001 - a corrupt stream can fail in many ways
        raise WireError(f"the worker sent a corrupt message ({type(e).__name__})") from None


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise WireError(f"unknown dtype {name!r}")
    return dtype


def encode_tensor(t: torch.Tensor, *, values: bool = True) -> dict:
    """A tensor as plain data; `values=False` sends only its description (fake and meta tensors have none)."""
    out = {TENSOR: True, "dtype": str(t.dtype).replace("torch.", ""), "size": tuple(t.shape),
           "stride": tuple(t.stride()), "offset": int(t.storage_offset()), "device": str(t.device),
           "requires_grad": bool(t.requires_grad), "grad_fn": t.grad_fn is not None, "data": None}
    if values and t.device.type not in ("meta",):
        try:
            d = t.detach().cpu()
            n = d.untyped_storage().nbytes() // max(d.element_size(), 1)
            flat = torch.as_strided(d, (n,), (1,), 0) if n else d.reshape(0)
            out["data"] = flat.contiguous().view(torch.uint8).numpy().tobytes() if n else b""
        except Exception:  # noqa: BLE001 - a tensor subclass or a storage that cannot be read: no values
            out["data"] = None
    return out


def is_tensor(value) -> bool:
    return isinstance(value, dict) and value.get(TENSOR) is True


def decode_tensor(d: dict, device: str | None = None, *, grad: bool = False) -> torch.Tensor:
    """The tensor `d` describes, on `device` (default: the one it was on), requiring grad where `grad` is set
    and it did. Raises WireError for a tensor sent without values."""
    if d.get("data") is None:
        raise WireError(f"a tensor on {d.get('device')} with no values")
    dtype = _dtype(d["dtype"])
    raw = bytearray(d["data"])
    flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    t = torch.as_strided(flat, tuple(d["size"]), tuple(d["stride"]), int(d["offset"])) if raw else \
        torch.empty(tuple(d["size"]), dtype=dtype)
    t = t.to(device or d.get("device", "cpu"))
    return t.requires_grad_(True) if grad and d.get("requires_grad") and t.is_floating_point() else t


def encode(value):
    """Tensors (at any depth of tuples, lists and dicts) to tensor dicts; other values as they are."""
    if isinstance(value, torch.Tensor):
        return encode_tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(encode(v) for v in value)
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def decode(value, *, grad: bool = False):
    """`encode` undone (on the worker's side: inputs that required grad require it again)."""
    if is_tensor(value):
        return decode_tensor(value, grad=grad)
    if isinstance(value, (list, tuple)):
        return type(value)(decode(v, grad=grad) for v in value)
    if isinstance(value, dict):
        return {k: decode(v, grad=grad) for k, v in value.items()}
    return value


def tensors_in(args) -> list:
    """The tensors of a call's arguments in order, those of a list or tuple argument (chunks of one input:
    losscheck.judge.chunks) in place of it: what the worker differentiates, and checks for changes, one by one."""
    out = []
    for a in args:
        out += [t for t in a if isinstance(t, torch.Tensor)] if isinstance(a, (list, tuple)) else \
            [a] if isinstance(a, torch.Tensor) else []
    return out


def plain(value, depth: int = 0):
    """`value` as plain data (a parameter default, an attribute), else None: an enum becomes its value, a str
    or number subclass its base type, a tensor a list, a function its name (sentence-transformers'
    similarity_fct=util.dot_score reads 'dot_score', which spec.convention_params may map to a convention)."""
    if isinstance(value, enum.Enum):
        return plain(value.value, depth + 1)
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value) if base is not str else str.__str__(value)
    if value is None:
        return None
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        return value.__name__
    if depth > 3:
        return None
    if isinstance(value, torch.Tensor):
        try:
            return value.detach().cpu().tolist()
        except Exception:  # noqa: BLE001
            return None
    if isinstance(value, (list, tuple)):
        items = [plain(v, depth + 1) for v in value]
        return None if any(i is None for i in items) and any(v is not None for v in value) else type(value)(items)
    return None
