"""Library loss audit time against built-in audits (issue target: within 2x a built-in of the same id).

None of the library ids (dice, tversky, focal, info_nce, triplet_batch_hard) has a torch built-in, so each
library audit is compared with the median audit time of the torch built-ins of the same family (embedding
for info_nce and triplet_batch_hard, classification for focal; segmentation has no built-in, so all built-ins).
In-process `audit()` wall times, torch and hypothesis already imported; best of --repeat runs.

    python benchmarks/library_time.py [--repeat N]
"""
import argparse
import importlib.util
import statistics
import time

from tabulate import tabulate

from losscheck import audit
from losscheck.tables.libraries import LIBRARY_LOSSES
from losscheck.specs import SPECS, TORCH_BUILTINS


def best(repeat, *args, **kwargs) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        audit(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    builtin = {}
    for target, loss_id in TORCH_BUILTINS.items():
        if target.startswith("torch.nn.") and not target.startswith("torch.nn.functional"):
            builtin.setdefault(SPECS[loss_id].family, []).append(best(args.repeat, target, as_=loss_id))
    everything = [t for times in builtin.values() for t in times]
    rows = []
    for entry in LIBRARY_LOSSES:
        if importlib.util.find_spec(entry.target.split(":")[0].split(".")[0]) is None:
            continue
        seconds = best(args.repeat, entry.target, as_=entry.loss_id, init=entry.init)
        family = SPECS[entry.loss_id].family
        base = statistics.median(builtin.get(family) or everything)
        rows.append([entry.target, entry.init or "-", entry.loss_id, f"{seconds:.2f}", f"{base:.2f}",
                     f"{seconds / base:.2f}x"])
    print(tabulate(rows, headers=["library loss", "--init", "id", "audit s", "built-in median s", "ratio"],
                   tablefmt="github"))


if __name__ == "__main__":
    main()
