"""``circuit-sim sweep`` and ``python -m circuit_sim.sweep``."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ConfigError
from ..results.hdf5 import check_output_path
from ..cli import progress_stream
from .args import add_arguments
from .runner import run_sweep

__all__ = ["add_sweep_arguments", "cmd_sweep", "main"]


def add_sweep_arguments(parser) -> None:
    """Add ``SWEEP --out DIR [--scheduler ADDRESS] [--workers N]`` to an argparse parser and
    set ``func=cmd_sweep``."""
    add_arguments(parser)
    parser.set_defaults(func=cmd_sweep)


def cmd_sweep(args) -> int:
    """``circuit-sim sweep FILE.toml --out DIR [--scheduler ADDRESS] [--workers N]``.

    Exit status: 0 all points ok, 1 some failed, 130 interrupted; a bad sweep file raises
    :class:`ConfigError` (the CLI prints it and exits with 2).
    """
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise ConfigError("--workers", "a positive number of worker processes", workers)
    out = getattr(args, "out", None) or str(Path("output") / Path(args.sweep).stem)
    check_output_path(out, "--out", directory=True)
    index = run_sweep(args.sweep, out, scheduler=getattr(args, "scheduler", None),
                      workers=workers, progress=progress_stream(args))
    print(index.summary())
    if index.interrupted:
        return 130
    return 1 if index.counts["failed"] else 0


def main(argv=None) -> int:
    """``python -m circuit_sim.sweep FILE.toml --out DIR`` (the same as ``circuit-sim sweep``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m circuit_sim.sweep",
                                     description="Run (or resume) a parameter sweep on Dask.")
    add_sweep_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_sweep(args)
    except ConfigError as exc:
        print(f"circuit-sim: error: {exc}", file=sys.stderr)
        return 2
