"""Prior match (SPEC 5.6, paper figure figures_bars_dkl.png): while learning bars, the KL
divergence between the histogram of nonzero coefficients and the slab prior, against time,
for Langevin sampling (LSC), MAP descent (DSC, T = 0) and LCA.

    python experiments/prior_match_kl.py [--backend standalone]

Writes results/kl_<dynamics>.h5, results/prior_match_kl.png and prints the KL at the end
(mean over the last fifth of the run) beside the paper's (~0, 0.04, 0.12).

The three runs follow the paper's set-up (mike-fang/mixed_time_sparse_coding, bars.py and
lca.py): LSC samples the model of configs/bars.toml (pi = 0.3); DSC is zero-temperature
descent on the L1 model (pi = 1, so u0 = 0 and s = |u|: no dead zone; a unit below threshold
slides along u = 0, and the statistics count as zero what the energy says is zero,
models.zero_by_energy); LCA runs with the paper's threshold u0 = 1. On the model's own
threshold (u0 = 1.2, pi = 0.3) T = 0 descent switches every unit off for good: in the dead zone
only the prior's pull acts, so a unit never comes back.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import models

from circuit_sim import load_learning, run_learning

from _common import RESULTS, Timer, build, config_dict

PAPER = {"langevin": "~0", "map": "~0.04", "lca": "~0.12"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="standalone")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    curves = {}
    for dyn in ("langevin", "map", "lca"):
        d = config_dict("bars.toml")
        d["learning"]["dynamics"] = dyn
        d["model"].pop("pi", None)
        d["model"]["u0"] = {"langevin": models.u0_from_pi(1.0, 0.3), "map": 0.0, "lca": 1.0}[dyn]
        d["run"]["backend"] = args.backend
        with Timer() as t:
            path = run_learning(build(d), RESULTS / f"kl_{dyn}.h5", progress=sys.stderr)
        st = load_learning(path)["stats"]
        curves[dyn] = (st["t"], st["kl_prior"], st["recovery_min"])
        n = len(st["t"])
        tail = slice(n - max(1, n // 5), n)
        print(f"{dyn:8s}: KL (last fifth) {np.nanmean(st['kl_prior'][tail]):.4f} nat "
              f"(paper {PAPER[dyn]}); recovery min {st['recovery_min'][-1]:.3f}; "
              f"activity {np.nanmean(st['activity'][tail]):.3f}; {t.seconds:.0f} s", flush=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for dyn, (t, kl, _) in curves.items():
        ax.plot(t * 1e3, kl, label={"langevin": "LSC (Langevin, pi = 0.3)",
                                    "map": "DSC (T = 0 descent, L1 model)",
                                    "lca": "LCA (u0 = 1)"}[dyn])
    ax.set_xlabel("t [ms of circuit time]")
    ax.set_ylabel("KL(nonzero coefficients || slab prior) [nat]")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "prior_match_kl.png", dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
