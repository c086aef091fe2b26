"""device: tensors made on a fixed device (fake CUDA), real accelerator parity, result dtype, float32 vs
float64, and non-contiguous / channels-last inputs.

Fake CUDA uses torch's FakeTensorMode: inputs and the module's registered state become fake `cuda:0`
tensors, so a tensor the loss creates on the CPU meets them and raises a device mismatch. Data-dependent
operations (.item(), boolean masks, .nonzero()) cannot run there: such a run is inconclusive, never a finding.
"""
import inspect

import numpy as np
import torch

from losscheck.judge.cases import DTYPES, cases
from losscheck.judge.chunks import as_called, listed
from losscheck.judge.compare import within_tolerance
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Evidence, Skip, Violation
from losscheck.suspect.protocol import EmptyTensor, FakeCuda

FAKE_SETUP = """from torch._subclasses.fake_tensor import FakeTensorMode

# No GPU needed: FakeTensorMode makes fake CUDA tensors and raises when a CPU tensor meets them."""


def _fake_snippet(signature):
    args = ", ".join(signature)
    return (f"with FakeTensorMode(allow_non_fake_inputs=True):\n"
            f"    on_gpu = [torch.empty(t.shape, dtype=t.dtype, device='cuda:0') for t in ({args},)]\n"
            f"    out = loss_fn(*on_gpu)  # raises: a tensor inside the loss is on the CPU\n"
            f"    print(out.device)")


def _on_fake_cuda(ctx, case, dtype="float32"):
    def empty(a):
        if isinstance(a, list):  # an input the loss takes in chunks (losscheck.judge.chunks)
            return [empty(c) for c in a]
        return EmptyTensor(a.shape, dtype if a.dtype.kind == "f" else "int64")

    inputs = listed(case.chunked, ctx.spec.candidate_inputs(case))
    return ctx.candidate.perform(ctx.caller, FakeCuda(ctx.binding.candidate_kwargs(case.params, empty),
                                                      [empty(a) for a in inputs]))


@register("device.fake_cuda", "device")
def fake_cuda(ctx) -> Evidence:
    inconclusive = []

    def prop(case):
        out = _on_fake_cuda(ctx, case)
        text = out.error
        if out.stage == "make" and not out.ok:
            raise Skip(f"inconclusive: constructing the loss under FakeTensorMode raised {text}")
        if not out.ok:
            data_dependent = any(w in text for w in ("DataDependent", "DynamicOutputShape", "data-dependent",
                                                     "Unsupported", "item()", "numpy", "data pointer",
                                                     "not linked with support"))
            if "device" in text.lower() and not data_dependent:
                raise Violation("LC601", f"with inputs on a CUDA device the loss raises {text}: a tensor inside it "
                                "is created on a fixed device (use device=input.device)", case,
                                setup=FAKE_SETUP, snippet=_fake_snippet(ctx.spec.signature))
            inconclusive.append(text)
            raise Skip(f"inconclusive under FakeTensorMode: {text}")
        if out.device not in (None, "cuda"):
            raise Violation("LC601", f"with inputs on a CUDA device the result is on {out.device}: the loss "
                            "leaves the device (a .item(), NumPy round trip or tensor built on the CPU)", case,
                            setup=FAKE_SETUP, snippet=_fake_snippet(ctx.spec.signature))

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop,
                      max_examples=max(ctx.max_examples // 8, 3))
    return Evidence(n, [v] if v else [])


def accelerator():
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return None


@register("device.accelerator", "device")
def accelerator_parity(ctx) -> Evidence:
    device = accelerator()
    if device is None:
        raise Skip("no CUDA or MPS device on this machine: real-device parity not run")

    def prop(case):
        case = case.rounded("float32")
        cpu = ctx.run(case)[0].detach().double().numpy()
        ts = ctx.tensors(case, "float32", device=device)
        out = ctx.call(ctx.make(case, "float32", device), ts, case)
        if out.device.type != device:
            raise Violation("LC601", f"with inputs on {device} the result is on {out.device}", case)
        got = out.detach().double().cpu().numpy()
        if not within_tolerance(ctx, case, got, cpu):
            raise Violation("LC602", f"on {device} the loss is {number(got)}, on the CPU {number(cpu)}", case, expected=cpu)

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop)
    return Evidence(n, [v] if v else [], detail=f"ran on {device}")


@register("device.dtype", "device")
def dtypes(ctx) -> Evidence:
    def prop(case):
        case = case.rounded("float32")
        results = {}
        for dtype in ("float32", "float64"):
            out = ctx.run(case, dtype)[0]
            if out.dtype != DTYPES[dtype]:
                raise Violation("LC603", f"{dtype} inputs give a {str(out.dtype).replace('torch.', '')} result",
                                case, dtype, snippet=f"out = loss_fn({', '.join(ctx.spec.signature)})\nprint(out.dtype)")
            results[dtype] = out.detach().double().numpy()
        if not within_tolerance(ctx, case, results["float32"], results["float64"]):
            raise Violation("LC604", f"float32 gives {number(results['float32'])} but float64 {number(results['float64'])} "
                            "on the same (float32-representable) input", case, expected=ctx.reference(case))

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop)
    return Evidence(n, [v] if v else [])


def noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous layout: column-major for 2+ dims (so .view(-1) and .view(n, c, -1)
    raise, as on a transposed or permuted tensor), a strided slice for one dim."""
    if t.dim() >= 2:
        order = tuple(reversed(range(t.dim())))
        return t.permute(order).contiguous().permute(order)
    wide = torch.zeros(*t.shape, 2, dtype=t.dtype)
    wide[..., 0] = t
    return wide[..., 0]


@register("device.layout", "device")
def memory_layouts(ctx) -> Evidence:
    layouts = ["spatial2d"] if "spatial2d" in ctx.state.layouts else list(ctx.layouts[:1])

    def prop(case):
        case = case.rounded("float32")
        base = ctx.run(case)[0].detach().double().numpy()
        variants = {"non-contiguous": [noncontiguous(t) for t in ctx.tensors(case, "float32")]}
        if any(a.ndim == 4 and a.dtype.kind == "f" for a in case.inputs):
            variants["channels-last"] = [t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t
                                         for t in ctx.tensors(case, "float32")]
        for name, ts in variants.items():
            args = "args = [{}]\n".format(", ".join(ctx.spec.signature))
            setup = (inspect.getsource(noncontiguous) + "\n" + args + "args = [noncontiguous(t) for t in args]"
                     if name == "non-contiguous" else
                     args + "args = [t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t for t in args]")
            snippet = 'print("contiguous:", loss_fn({}))\nprint("{}:", loss_fn(*args))'.format(
                ", ".join(ctx.spec.signature), name)
            out = ctx.caller.call(ctx.make(case), *as_called(case.chunked, ts))
            if not out.ok:
                raise Violation("LC605", f"{name} inputs raise {out.describe_error()} (use .reshape() instead of "
                                ".view())", case, setup=setup, snippet=snippet)
            got = out.value.detach().double().numpy() if isinstance(out.value, torch.Tensor) else np.nan
            if not within_tolerance(ctx, case, got, base):
                raise Violation("LC605", f"{name} inputs give {number(got)}, contiguous ones {number(base)}", case,
                                setup=setup, snippet=snippet)

    n, v = ctx.search(cases(ctx.state, layouts=layouts, target_formats=ctx.target_formats), prop)
    return Evidence(n, [v] if v else [])
