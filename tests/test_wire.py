"""The plain-data wire between the judge and the worker (losscheck.suspect.wire)."""
import enum
import pickle

import pytest
import torch

from losscheck.suspect import wire


class Reduction(str, enum.Enum):
    MEAN = "mean"


class Evil:
    def __reduce__(self):
        return (print, ("this ran in the judge",))


def test_the_judge_refuses_anything_but_plain_data():
    assert wire.loads(wire.dumps(("ok", {"a": [1, 2.5, "x", None, b"\0"]}))) == ("ok", {"a": [1, 2.5, "x", None, b"\0"]})
    with pytest.raises(wire.WireError, match="builtins.print"):
        wire.loads(pickle.dumps(Evil()))
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.loads(pickle.dumps(torch.ones(2)))
    with pytest.raises(wire.WireError, match="corrupt"):
        wire.loads(b"not a pickle")


@pytest.mark.parametrize("make", [
    lambda: torch.randn(3, 4),
    lambda: torch.randn(4, 3).t(),                                           # non-contiguous
    lambda: torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last),
    lambda: torch.randn(6)[1::2],                                             # offset and stride
    lambda: torch.randn(3).to(torch.bfloat16),
    lambda: torch.tensor(2.5, dtype=torch.float16),
    lambda: torch.arange(5),
    lambda: torch.zeros(0, 3),
])
def test_tensors_cross_with_their_values_and_layout(make):
    t = make()
    back = wire.decode_tensor(wire.loads(wire.dumps(wire.encode_tensor(t))))
    assert back.dtype == t.dtype and back.shape == t.shape and back.stride() == t.stride()
    assert torch.equal(back, t)


def test_a_tensor_without_values_is_refused_on_decode():
    d = wire.encode_tensor(torch.empty(2, device="meta"))
    assert d["data"] is None and d["device"] == "meta"
    with pytest.raises(wire.WireError, match="no values"):
        wire.decode_tensor(d)


def test_grad_is_restored_only_where_asked():
    d = wire.encode_tensor(torch.ones(2)) | {"requires_grad": True}
    assert wire.decode_tensor(d, grad=True).requires_grad and not wire.decode_tensor(d).requires_grad


def test_plain_turns_library_values_into_builtins():
    assert type(wire.plain(Reduction.MEAN)) is str and wire.plain(Reduction.MEAN) == "mean"
    assert wire.plain(torch.tensor([1.0, 2.0])) == [1.0, 2.0]
    assert wire.plain(object()) is None and wire.plain((1, "a")) == (1, "a")
    assert wire.loads(wire.dumps(wire.plain(Reduction.MEAN))) == "mean"
    assert wire.plain(torch.mm) == "mm" and wire.plain(test_plain_turns_library_values_into_builtins) == \
        "test_plain_turns_library_values_into_builtins"  # a function default by its name (similarity_fct)
