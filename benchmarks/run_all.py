"""Every speed figure of the project in one run: step cost per backend (learning off, recording,
learning on) against the numpy reference, effective samples per CPU-second against BlackJAX
NUTS, and the Python overhead of a long run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/run_all.py [--quick]

(peers: ``pip install -e '.[bench]'``). Runs ``step_cost.py``, ``ess_per_second.py`` and
``overhead.py`` one after another in this process and prints their tables.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ess_per_second  # noqa: E402
import overhead  # noqa: E402
import step_cost  # noqa: E402


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = ["--quick"] if "--quick" in argv else []
    rc = 0
    for name, mod in (("step cost", step_cost), ("ESS per CPU-second", ess_per_second),
                      ("long-run overhead", overhead)):
        print(f"\n===================== {name} =====================", flush=True)
        rc |= mod.main(quick) or 0
    return rc


if __name__ == "__main__":
    sys.exit(main())
