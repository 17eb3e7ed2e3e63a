"""The command-line arguments of ``circuit-sim sweep`` (no Dask, no Brian2 imported)."""

from __future__ import annotations


def add_arguments(parser) -> None:
    """Add ``SWEEP --out DIR [--scheduler ADDRESS] [--workers N]`` to an argparse parser."""
    parser.add_argument("sweep", help="sweep TOML file (base config, [grid] and/or [[points]])")
    parser.add_argument("--out", help="output directory (default output/<sweep name>); "
                        "rerunning into it resumes the sweep")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local worker processes (default: the number of CPUs)")
