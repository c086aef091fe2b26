"""`losscheck init PACKAGE`: a starter `[tool.losscheck]` section for the losses a package defines: found by
`discovery`, each one's id guessed by `losscheck.tables.guessing`, the section written by `toml`. Nothing is audited or
instantiated; only imports run."""
from __future__ import annotations

import sys
from pathlib import Path

from losscheck.commands.init.discovery import discover
from losscheck.commands.init.toml import append, existing, init_section
from losscheck.errors import UsageError


def run(args) -> int:
    """`losscheck init PACKAGE [--pyproject PATH] [--write]`."""
    if args.pyproject and not args.write:
        raise UsageError("--pyproject names the file that --write appends to; add --write")
    path = Path(args.pyproject or "pyproject.toml")
    if args.write:
        existing(path, args.package)  # refuse before importing anything
    everything = discover(args.package)
    found = [f for f in everything if not f.unplaced]
    if not found:
        raise UsageError(f"no loss found in '{args.package}': no public nn.Module subclass named *Loss and no "
                         "function named *_loss (submodules included)"
                         + "".join(f"; seen but not placed: {f.target}, {f.unplaced}" for f in everything[:3]))
    section = init_section(args.package, everything)
    if not args.write:
        sys.stdout.write(section)
        return 0
    append(path, section, args.package)
    guessed = sum(f.guess.loss_id is not None for f in found)
    print(f"appended [tool.losscheck] with {len(found)} losses to {path} ({guessed} guessed: confirm each `as`; "
          f"{len(found) - guessed} commented out without a guess; {len(everything) - len(found)} loss-like "
          "names not placed, listed at its end)")
    return 0
