"""The pitfall code registry: code -> family, severity, title, why it matters, and the fix.

Codes are stable once shipped (like linter rules): users select, ignore and baseline them. New codes are
added at the end of their family. The families and first codes come from the design's pitfalls.md.
"""
from dataclasses import dataclass

FAMILIES = ("value", "stability", "gradient", "reduction", "target", "device", "api", "precision", "compile")
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Pitfall:
    code: str
    family: str
    severity: str
    title: str
    why: str
    fix: str


def _p(code, family, severity, title, why, fix):
    return Pitfall(code, family, severity, title, why, fix)


PITFALLS = {p.code: p for p in [
    _p("LC101", "value", "error", "value differs from the reference",
       "The loss computes something other than its definition; training optimises the wrong objective.",
       "Compare the formula term by term with the reference docstring (losscheck.references)."),
    _p("LC102", "value", "error", "value matches a known defect variant",
       "The candidate reproduces a classic mistake (double activation, wrong axis, swapped arguments...).",
       "Apply the fix named in the message."),
    _p("LC103", "value", "warning", "value follows a different convention",
       "Libraries disagree on this point; mixing conventions silently changes the scale or meaning.",
       "Declare the convention you follow, or switch to the reference's."),
    _p("LC201", "stability", "error", "non-finite loss where the reference is finite",
       "One inf or nan in a batch turns every weight into nan at the next step.",
       "Use stable forms: logsumexp / log_softmax, softplus via logaddexp, log1p, clamp denominators."),
    _p("LC202", "stability", "error", "finite but wrong at extreme inputs",
       "Saturation or clamping caps the loss, so the worst examples stop contributing.",
       "Compute in log space instead of clamping probabilities."),
    _p("LC203", "stability", "warning", "overflow or underflow in half precision",
       "Under autocast the loss becomes inf or nan although the true value fits in float16/bfloat16.",
       "Upcast to float32 inside the loss, or use stable formulations."),
    _p("LC301", "gradient", "error", "no gradient reaches an input that should get one",
       "The model does not learn from this loss: the graph is cut (detach, .item(), NumPy round trip).",
       "Keep the computation in torch on the input tensor; never detach the prediction."),
    _p("LC302", "gradient", "error", "non-finite gradient where the reference's is finite",
       "A nan gradient at a valid point (zero distance, empty mask) poisons the weights.",
       "Avoid sqrt/norm/division at 0 in the backward pass: add eps inside, or use a safe formulation."),
    _p("LC303", "gradient", "error", "gradient differs from the reference gradient",
       "The optimiser follows the wrong direction even where the value looks right.",
       "Look for detached sub-terms, straight-through tricks or custom autograd functions."),
    _p("LC304", "gradient", "error", "gradient zeroed where the reference's is not",
       "A clamp kills the gradient over a region of inputs, so those examples never improve.",
       "Clamp in log space or use a smooth bound instead of torch.clamp on the quantity being learned."),
    _p("LC401", "reduction", "error", "reduction argument ignored",
       "Callers asking for 'none' or 'sum' get something else; per-example weighting silently breaks.",
       "Apply the reduction the caller asked for at the end of forward."),
    _p("LC402", "reduction", "error", "'mean' or 'sum' inconsistent with 'none'",
       "The reduced loss is not the reduction of the per-element loss.",
       "Reduce the 'none' output: sum, or a (weighted) mean with the right denominator."),
    _p("LC403", "reduction", "error", "'none' has the wrong shape",
       "Per-element losses that are already partly reduced cannot be weighted or masked. Two forms real libraries "
       "use are a warning that names them, and are judged in that form: the terms flattened to one axis "
       "(language-model code) and one value per sample (torchmetrics' SSIM).",
       "Return one value per element (per sample for embedding losses) with reduction='none'."),
    _p("LC404", "reduction", "warning", "KLDiv 'mean' is not the KL divergence",
       "reduction='mean' divides by the number of elements, not by the batch size (torch itself warns about it).",
       "Use reduction='batchmean' for the KL divergence."),
    _p("LC405", "reduction", "error", "'mean' depends on batch size",
       "The loss scale (and so the learning rate) changes with the batch size.",
       "Average over the batch instead of summing."),
    _p("LC406", "reduction", "error", "gradient accumulation differs from the full batch despite the global count",
       "The loss takes the whole accumulated batch's item count (num_items_in_batch) yet its micro-batch losses do "
       "not add up to the full batch's loss and gradient: each micro-batch is still averaged over its own items, so "
       "with padding or sequences of different lengths, accumulated training weighs tokens unequally (the "
       "gradient-accumulation bug trainers shipped in 2024).",
       "Sum the per-item losses of each micro-batch (reduction='sum') and divide by num_items_in_batch, the count "
       "of kept items in the whole accumulated batch, whenever it is given."),
    _p("LC407", "reduction", "info", "per-micro-batch mean: gradient accumulation is not the full-batch mean",
       "The loss is correct on its own batch, but its 'mean' divides by the items a batch keeps (targets not "
       "ignored, class weights, kept tokens): averaging the means of micro-batches, as gradient accumulation does, "
       "weighs the items of a padded micro-batch more than the full batch would.",
       "To accumulate exactly, compute each micro-batch with reduction='sum' and divide by the global count (the "
       "kept items of the whole accumulated batch), or take that count as a num_items_in_batch argument."),
    _p("LC501", "target", "info", "mismatched shapes broadcast silently",
       "(N,1) against (N,) becomes an (N,N) comparison: the loss trains on the wrong pairs.",
       "Check input.shape == target.shape, or warn as torch does."),
    _p("LC502", "target", "error", "an admitted target format fails or disagrees",
       "Callers who pass a valid target format get an error or a wrong value.",
       "Accept every target format the loss documents, or document the one you accept."),
    _p("LC503", "target", "error", "ignore_index not honoured",
       "Padding or void labels leak into the loss and its denominator.",
       "Mask the ignored targets out of both the sum and the denominator."),
    _p("LC504", "target", "error", "edge shape fails or disagrees",
       "N=1, no batch dimension or spatial inputs break the loss in real use.",
       "Reduce over named dimensions instead of assuming a fixed rank."),
    _p("LC505", "target", "error", "arguments in the wrong order",
       "The loss expects (target, input) (Keras order): gradients flow into the labels.",
       "Take (input, target), as every torch loss does."),
    _p("LC601", "device", "error", "tensor created on a fixed device inside the loss",
       "The loss works on the CPU and fails (or silently moves data) on a GPU.",
       "Create tensors with device=input.device (and dtype=input.dtype)."),
    _p("LC602", "device", "error", "CPU and accelerator disagree",
       "Results change when training moves to the GPU.",
       "Avoid device-dependent code paths and non-deterministic kernels."),
    _p("LC603", "device", "warning", "result dtype differs from the input dtype",
       "A float64 result for float32 inputs slows training; a float32 result for float64 loses precision.",
       "Build constants with dtype=input.dtype."),
    _p("LC604", "device", "error", "float32 disagrees with float64 beyond tolerance",
       "The formula loses precision in float32 (cancellation, naive sums).",
       "Reformulate the loss to avoid cancellation."),
    _p("LC605", "device", "error", "non-contiguous or channels-last input fails or disagrees",
       ".view() on a transposed or channels-last tensor raises or reads the wrong elements.",
       "Use .reshape() or .flatten() instead of .view()."),
    _p("LC606", "device", "error", "sharded result differs from the single-process result",
       "Under DistributedDataParallel each rank computes the loss on its shard and the results are averaged: a loss "
       "that does not decompose over shards (batch Dice, a mean over kept targets) trains on another objective, "
       "and its value and gradients change with the number of processes.",
       "All-reduce the parts separately before dividing (sums and counts, numerator and denominator), or "
       "all-gather what a batch-level loss needs."),
    _p("LC701", "api", "error", "mutates an input",
       "In-place operations on the caller's tensors corrupt the logits used elsewhere.",
       "Use out-of-place operations (x.sigmoid(), not x.sigmoid_())."),
    _p("LC702", "api", "error", "non-deterministic",
       "Two calls on the same input give different losses.",
       "Remove randomness from the loss, or seed it explicitly."),
    _p("LC703", "api", "error", "result depends on earlier calls",
       "Hidden state makes the loss depend on the order of batches.",
       "Keep forward pure; move running statistics out of the loss."),
    _p("LC704", "api", "error", "reduced result is not 0-d",
       "A reduced loss of shape (1,) or (N,) breaks .backward() and logging.",
       "Return a 0-d tensor for 'mean' and 'sum'."),
    _p("LC705", "api", "error", "raises on valid input",
       "The loss crashes on inputs it should accept.",
       "Read the message of the exception in the finding."),
    _p("LC706", "api", "error", "timed out or crashed the process",
       "A loss that hangs or kills the process stops training.",
       "Remove blocking calls, sys.exit and native crashes from forward."),
    _p("LC707", "api", "error", "returns something that is not a tensor",
       "A float or NumPy result cannot be backpropagated.",
       "Return a torch.Tensor computed from the inputs."),
    _p("LC708", "api", "error", "leaves a thread or process running",
       "A loss that starts a thread or a process and does not end it leaks one on every training step; one "
       "started at import outlives the training it serves.",
       "Join the threads and wait for the processes the loss starts before it returns; start none at import."),
    _p("LC709", "api", "info", "refuses a parameter value",
       "The loss raises at a value of one of its parameters that the catalogue's loss takes (MONAI's DiceCELoss "
       "refuses reduction='none'): a loud refusal is the loss's own contract, not a silent defect, so the value is "
       "left out of the audit and said.",
       "Nothing, if the refusal is intended; otherwise support the value (a per-element 'none' lets a trainer mask "
       "or weight the loss)."),
    _p("LC801", "precision", "error", "non-finite in mixed precision",
       "Trained in bf16/fp16 (under autocast, or on raw half inputs as FSDP's mixed precision feeds them) the loss "
       "or its gradient is inf or nan although the float64 reference and the float32 run are finite: the first "
       "step with such a batch turns the weights into nan (or, in fp16, makes GradScaler skip every step).",
       "Compute the loss in float32 (`input = input.float()` first), use logsigmoid/log_softmax rather than "
       "log(sigmoid(x))/log(softmax(x)), subtract the max before exp, and take eps from torch.finfo(dtype)."),
    _p("LC802", "precision", "error", "imprecise in mixed precision",
       "In bf16/fp16 (under autocast or on raw half inputs) the loss is further from the float64 reference (on "
       "the same rounded inputs) than the dtype's rounding and the problem's own conditioning explain: a sum "
       "or exp in half precision, a missing max shift or an eps below the dtype's resolution quantises the loss.",
       "Upcast to float32 inside the loss (`.float()`) before exp, log, pow and large sums; shift by the max "
       "before exp; use a dtype-aware eps (torch.finfo(x.dtype).tiny or eps)."),
    _p("LC803", "precision", "error", "gradient imprecise in mixed precision",
       "In bf16/fp16 (under autocast or on raw half inputs) the gradient (unscaled from a GradScaler-style loss "
       "scale) is further from the float64 gradient than rounding and conditioning explain: training follows a "
       "quantised or biased gradient.",
       "Upcast to float32 inside the loss (`.float()`), prefer fused stable built-ins (logsigmoid, "
       "binary_cross_entropy_with_logits, cross_entropy), and shift by the max before exp."),
    _p("LC901", "compile", "error", "compiled value differs from eager",
       "Under torch.compile the loss computes another value than eagerly (or raises): the model trains on a "
       "different objective from the one tested eagerly, and only in the compiled run.",
       "Look for code paths that depend on torch.compiler.is_compiling(), Python state read at trace time, and "
       "random numbers; reproduce with the snippet (backend='aot_eager' isolates dynamo and AOTAutograd from "
       "inductor)."),
    _p("LC902", "compile", "error", "compiled gradient differs from eager",
       "Under torch.compile the gradient differs from the eager one although the value may agree: a custom "
       "autograd.Function, a hook or a compile-only code path traced differently; the optimiser follows the wrong "
       "direction only in compiled training.",
       "Check custom backward functions and compile-only branches (torch.compiler.is_compiling()); compare "
       "torch.autograd.grad of the eager and compiled loss on the snippet's inputs."),
    _p("LC903", "compile", "error", "torch.compile gives up on the loss",
       "The loss recompiles on every call (dynamo treats Python ints and floats of the module as constants), so "
       "after torch._dynamo.config.recompile_limit (8) recompiles dynamo runs it eagerly for the rest of training, "
       "having paid a compile per step until then; or no compiled graph of it runs at all.",
       "Keep counters and schedules that change per call out of the loss, or hold them in tensors; run with "
       "TORCH_LOGS=recompiles to see the guard that fails."),
    _p("LC904", "compile", "info", "graph breaks under torch.compile",
       "Dynamo splits the loss into several graphs at each break (.item(), print, NumPy, data-dependent Python "
       "control flow): every break is a host sync or a return to Python per step, and fullgraph=True fails.",
       "Remove the reason named (keep tensors on the device rather than .item(), log outside the loss, use "
       "torch.where for data-dependent branches); the finding is a warning with --fullgraph."),
    _p("LC905", "compile", "warning", "compile changes the low-precision result",
       "Under bf16 autocast inductor computes fused bf16 code in float32, so the compiled loss may be right where "
       "the eager one overflows or loses precision (compile hides the bug: eager runs and evaluation disagree "
       "with training), or the reverse.",
       "Make the loss right eagerly in bf16 (see LC801-LC803: upcast with .float(), stable forms); "
       "torch._inductor.config.emulate_precision_casts=True makes inductor round as eager does."),
]}


FAMILY_CHECKS = {
    "value": "compares the candidate with the float64 reference on ordinary valid inputs",
    "stability": "drives the candidate with extreme but valid inputs (huge logits, probabilities at 0 and 1, "
                 "zero distances, empty masks) and in half precision",
    "gradient": "compares autograd gradients of the candidate with finite differences of the reference",
    "reduction": "checks reduction='none'/'sum'/'mean' against each other and against the batch size, and "
                 "gradient accumulation over micro-batches against the full batch",
    "target": "tries every admitted target format, ignore_index, edge shapes and argument orders",
    "device": "runs the candidate with inputs on a (fake) accelerator, in other dtypes and memory layouts, and "
              "(with --ddp N) sharded across torch.distributed processes",
    "api": "checks the loss as a callable: pure, deterministic, 0-d results, no exceptions, bounded time",
    "precision": "runs the candidate in bf16 and fp16 under CPU autocast (with --precision; with --precision-raw also "
                 "on raw half inputs, as FSDP's mixed precision feeds them) on confident logits and large "
                 "reductions, and grades loss and gradient against float64 in units of rounding and conditioning",
    "compile": "runs the candidate under torch.compile (aot_eager with dynamic shapes per example; inductor once with "
               "--inductor) and compares value and gradient with its eager run, failing on the recompile limit and "
               "counting graph breaks",
}

EXAMPLES = {
    "LC101": "loss = ((input - target) ** 2).mean() + (input - target).abs().mean()  # not MSE",
    "LC102": "loss = F.cross_entropy(torch.sigmoid(logits), target)  # sigmoid, then log_softmax again",
    "LC103": "dice = 1 - (2 * (p * g).sum() + s) / (p.sum() + g.sum() + s)  # batch Dice, not per sample",
    "LC201": "loss = torch.log(1 + torch.exp(-x))  # inf for x < -88 in float32",
    "LC202": "loss = -(y * torch.log(p.clamp(1e-7, 1 - 1e-7)))  # capped at 16.1",
    "LC203": "loss = torch.log(torch.exp(x).sum(1))  # exp(12) overflows float16",
    "LC301": "loss = ((input.detach() - target) ** 2).mean().requires_grad_()",
    "LC302": "d = ((x1 - x2) ** 2).sum(1).sqrt()  # d/dx sqrt at 0 is inf: nan gradient",
    "LC303": "y = x + (f(x) - x).detach()  # value of f, gradient of the identity",
    "LC304": "loss = torch.where(d.abs() > 3, d.detach(), d) ** 2  # no gradient for large errors",
    "LC401": "def forward(self, x, y): return ((x - y) ** 2).mean()  # self.reduction never read",
    "LC402": "if self.reduction == 'mean': return per_elem.sum() / x.shape[0]",
    "LC403": "if self.reduction == 'none': return per_elem.mean(dim=0)  # averaged over the batch",
    "LC404": "nn.KLDivLoss()(log_q, p)  # reduction='mean' divides by every element",
    "LC405": "return (x - y).abs().sum()  # grows with the batch size",
    "LC406": "def lm_loss(logits, labels, num_items_in_batch=None): return F.cross_entropy(...)  # count ignored",
    "LC407": "loss = F.cross_entropy(x, y, ignore_index=-100) / accumulation_steps  # mean per micro-batch",
    "LC501": "F.mse_loss(pred_Nx1, target_N)  # broadcasts to (N, N)",
    "LC502": "F.cross_entropy(x, target.argmax(1))  # fails for class-index targets",
    "LC503": "loss = F.cross_entropy(x, y.clamp(min=0))  # -100 becomes class 0",
    "LC504": "p = input.squeeze()  # N = 1 loses the batch dimension",
    "LC505": "def forward(self, target, input): ...  # Keras order",
    "LC601": "labels = torch.arange(n)  # on the CPU while the logits are on cuda",
    "LC602": "torch.use_deterministic_algorithms(False) with scatter_add on GPU",
    "LC603": "return loss.double()",
    "LC604": "var = (x ** 2).mean() - x.mean() ** 2  # cancellation in float32",
    "LC605": "p = input.view(-1)  # raises for transposed or channels-last inputs",
    "LC606": "loss = F.cross_entropy(x, y, ignore_index=-100)  # per-rank means over different kept counts",
    "LC701": "p = input.sigmoid_()  # overwrites the caller's logits",
    "LC702": "return loss + 1e-3 * torch.rand(())",
    "LC703": "self.calls += 1; return loss / self.calls",
    "LC704": "return loss.mean(dim=0, keepdim=True)  # shape (1,)",
    "LC705": "return F.cross_entropy(x, y.view(-1, 1))  # raises on valid targets",
    "LC706": "while not self.done: time.sleep(1)",
    "LC707": "return loss.item()",
    "LC708": "threading.Thread(target=self.log, args=(loss.item(),)).start()  # never joined",
    "LC709": "if reduction not in ('mean', 'sum'): raise ValueError(reduction)  # no per-element 'none'",
    "LC801": "loss = -(1 - p) ** g * torch.log(torch.sigmoid(x))  # log(0) = -inf in bf16 at x = -30",
    "LC802": "p = torch.exp(x) / torch.exp(x).sum(1, keepdim=True)  # no max shift: bf16 CE off by 10%",
    "LC803": "loss = -torch.log(torch.softmax(x, 1)[range(n), y]).mean()  # softmax in bf16",
    "LC901": "if torch.compiler.is_compiling(): return fused_loss(x, y)  # a second path, another value",
    "LC902": "class Sq(Function): backward = lambda ctx, g: g * d  # compile-only path forgets the factor 2",
    "LC903": "self.calls += 1  # an int attribute: dynamo recompiles on every call, gives up after 8",
    "LC904": "self.last = loss.item()  # graph break: a host sync every step",
    "LC905": "p = torch.sigmoid(x); loss = -torch.log(p)  # nan in bf16 eagerly, right under inductor",
}


def get(code: str) -> Pitfall:
    return PITFALLS[code]


def explain(code: str) -> str:
    """The page `losscheck explain CODE` prints: what, why, an example of the bug, the fix."""
    p = PITFALLS[code]
    return (f"{p.code} ({p.family}, {p.severity}): {p.title}\n\n"
            f"What it means: the {p.family} family {FAMILY_CHECKS[p.family]}; this code says: {p.title}.\n\n"
            f"Why it matters: {p.why}\n\n"
            f"Example of the bug:\n    {EXAMPLES[p.code]}\n\n"
            f"Fix: {p.fix}\n")


def table() -> str:
    """The markdown table of every code (the README carries it; a test keeps the two equal)."""
    rows = ["| code | family | severity | title |", "|---|---|---|---|"]
    rows += [f"| {p.code} | {p.family} | {p.severity} | {p.title} |" for p in PITFALLS.values()]
    return "\n".join(rows) + "\n"
