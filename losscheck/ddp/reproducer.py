"""The reproducer of an LC606 finding: standalone code that computes, in one process, what the ranks compute,
next to the full-batch loss."""
from __future__ import annotations


def snippet(signature, axes, grad_args, world, kind, with_grads) -> str:
    """Standalone code that computes what the ranks compute, in one process, next to the full-batch loss."""
    names = ", ".join(signature)
    lines = [f"world_size = {world}  # each rank gets one shard of the batch, as DistributedSampler gives it",
             f"full = loss_fn({names})"]
    if with_grads:
        lines.append("full.backward(torch.ones_like(full))")
    parts = []
    for i, (name, ax) in enumerate(zip(signature, axes)):
        src = f"{name}.detach()" if ax is None else f"torch.tensor_split({name}.detach(), world_size, dim={ax})[r]"
        if with_grads and i in grad_args:
            src = f"{src}.clone().requires_grad_(True)"
        parts.append(src)
    scale = "1 / world_size" if kind == "mean" else "1.0"
    lines += ["per_rank, grads = [], []", "for r in range(world_size):",
              f"    shard = [{', '.join(parts)}]",
              "    loss_r = loss_fn(*shard)"]
    if with_grads:
        comment = "  # DDP averages the gradients over the ranks" if kind == "mean" else ""
        lines.append(f"    loss_r.backward(torch.full_like(loss_r, {scale})){comment}")
        lines.append(f"    grads.append([shard[i].grad for i in {list(grad_args)}])")
    lines.append("    per_rank.append(loss_r.detach())")
    if kind == "none":
        lines.append("sharded = torch.cat(per_rank, dim=0)  # the per-rank outputs, gathered")
        lines.append('print("single process:", full.detach())\nprint("sharded:       ", sharded)')
    else:
        reduce = "torch.stack(per_rank).sum() / world_size  # all_reduce(SUM) / world_size" if kind == "mean" else \
            "torch.stack(per_rank).sum()  # all_reduce(SUM)"
        lines.append(f"sharded = {reduce}")
        lines.append('print("single process:", full.item(), " sharded:", sharded.item(), " per rank:", '
                     '[v.item() for v in per_rank])')
    if with_grads:
        for j, i in enumerate(grad_args):
            name, ax = signature[i], axes[i]
            gathered = (f"sum(g[{j}] for g in grads)" if ax is None else
                        f"torch.cat([g[{j}] for g in grads], dim={ax})")
            lines.append(f'print("{name}.grad differs by", ({gathered} - {name}.grad).abs().max().item())')
    return "\n".join(lines)
