"""Activity self-consistency (SPEC 5.5, paper figure figures_bars_lsc_pi.png).

With the true bars dictionary fixed and data drawn from the model with pi_data = 0.3 and 0.1,
the fraction of nonzero coefficients inferred by Langevin sampling equals pi_data exactly
when the model's pi equals it; MAP descent (T = 0) and LCA match only at a tuned threshold.

    python experiments/activity_vs_pi.py [--patches 1000] [--backend standalone]
    python experiments/activity_vs_pi.py --holds-only     # only the hold-length check

Writes results/activity_vs_pi.csv and results/activity_vs_pi.png.

Then, at model pi = data pi, the activity against the hold tau_x (20, 80, 320 tau_u; the same
patches): the fraction of nonzero codes is averaged over whole holds, and a unit that should
switch on must first climb through the dead zone (width u0 = 2.3 at pi = 0.1), where only the
prior's pull and the noise act. The shortfall from pi therefore shrinks as the hold grows; the
stationary sampler itself is exact (per patch it matches MALA, see README).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import models
from circuit_sim import load_learning, run_learning

from _common import RESULTS, Timer, build, config_dict

MODEL_PIS = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6)
DATA_PIS = (0.3, 0.1)
# MAP descent at u0 > 0 switches every unit off for good (README); the paper's DSC baseline is
# the L1 model (pi = 1), which has no pi to sweep
DYNAMICS = ("langevin", "lca")


HOLDS_TAU_U = (20, 80, 320)


def activity(data_pi: float, model_pi: float, dynamics: str, n_patches: int, backend: str,
             hold_tau_u: int = 20) -> float:
    d = config_dict("bars.toml")
    d["model"].update(pi=model_pi, dictionary=models.bars_dictionary(8).tolist())
    # bars.toml: tau_u = 10 fF / 1 uS = 10 ns
    d["input"].update(n_patches=n_patches, data_pi=data_pi, hold=f"{10 * hold_tau_u} ns")
    # the dictionary stays fixed: plasticity 1e8 times slower than inference
    # snapshots every 100 holds (a standalone program has one run() per snapshot)
    d["learning"] = {"dictionary_time_constant": "1 s", "dynamics": dynamics,
                     "snapshot_every": f"{hold_tau_u} us"}
    d["run"]["backend"] = backend
    out = RESULTS / "activity_tmp.h5"
    run_learning(build(d), out)
    st = load_learning(out)["stats"]
    return float(np.mean(st["activity"][1:]))  # the first snapshot includes the start-up


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=1000)
    ap.add_argument("--backend", default="standalone")
    ap.add_argument("--hold", type=int, default=100,
                    help="hold tau_x of the sweep in units of tau_u (default %(default)s, the "
                         "paper's 100 tau_u)")
    ap.add_argument("--holds-only", action="store_true", help="only the hold-length check")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    print("hold-length check, Langevin at model pi = data pi (activity; standard error of the "
          "mean over patches about 0.001):")
    for data_pi in DATA_PIS:
        vals = []
        for hold in HOLDS_TAU_U:
            vals.append(activity(data_pi, data_pi, "langevin", args.patches, args.backend, hold))
            print(f"  pi {data_pi}: hold {hold:4d} tau_u: activity {vals[-1]:.4f} "
                  f"({100 * (vals[-1] / data_pi - 1):+.1f} %)", flush=True)
    if args.holds_only:
        return 0
    rows = []
    with Timer() as t:
        for data_pi in DATA_PIS:
            for dyn in DYNAMICS:
                for mp in MODEL_PIS:
                    a = activity(data_pi, mp, dyn, args.patches, args.backend, args.hold)
                    rows.append((data_pi, dyn, mp, a))
                    print(f"data pi {data_pi}  {dyn:8s}  model pi {mp:.2f}: activity {a:.4f}",
                          flush=True)
    (RESULTS / "activity_tmp.h5").unlink(missing_ok=True)
    with open(RESULTS / "activity_vs_pi.csv", "w") as f:
        f.write("data_pi,dynamics,model_pi,activity\n")
        for r in rows:
            f.write(",".join(map(str, r)) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, data_pi in zip(axes, DATA_PIS):
        for dyn in DYNAMICS:
            pts = [(mp, a) for dp, dy, mp, a in rows if dp == data_pi and dy == dyn]
            ax.plot(*zip(*pts), "o-", label=dyn)
        ax.axhline(data_pi, color="k", ls="--", lw=0.8, label="data pi")
        ax.axvline(data_pi, color="k", ls=":", lw=0.8)
        ax.set_xlabel("model pi")
        ax.set_title(f"data drawn with pi = {data_pi}")
    axes[0].set_ylabel("activity (fraction of nonzero s)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "activity_vs_pi.png", dpi=100)
    for data_pi in DATA_PIS:
        a = [r[3] for r in rows if r[0] == data_pi and r[1] == "langevin" and r[2] == data_pi][0]
        print(f"Langevin at model pi = data pi = {data_pi}: activity {a:.4f}")
    print(f"total {t.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
