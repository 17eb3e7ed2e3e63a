"""``python -m circuit_sim.sweep FILE.toml --out DIR`` (the same as ``circuit-sim sweep``)."""

import sys

from circuit_sim.sweep.cli import main

sys.exit(main())
