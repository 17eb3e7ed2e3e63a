"""Batch learning (issue 16): chains sharing a chip's plasticity learn the bars in less
circuit time.

    python experiments/batch_learning.py [--plot-only]

Four learning runs of the bars (configs/bars.toml's data and circuit):

* ``one chain, tau_Phi 200 us``: configs/bars.toml (20000 patches, 4 ms of circuit time);
* ``8 chains, tau_Phi 25 us``: configs/bars_chains.toml, the same 20000 patches as 2500
  presentations of 8 (one per chain) with the rule 8x faster (0.5 ms);
* ``one chain, tau_Phi 25 us, 0.5 ms``: the batch's rate and circuit time with one chain
  (2500 patches);
* ``one chain, tau_Phi 25 us, 20000 patches``: the batch's rate and patches, one at a time
  (4 ms; snapshots every 200 us, as bars.toml's).

Writes results/batch_learning_<name>.h5 and results/batch_learning.png (worst-bar cosine
against the patches seen and against circuit time); prints each run's recovery, activity,
KL and wall time.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from circuit_sim import load_learning, run_learning

from _common import RESULTS, Timer, build, config_dict

RUNS = (("one chain, tau_Phi 200 us", "bars.toml", {}),
        ("8 chains, tau_Phi 25 us", "bars_chains.toml", {}),
        ("one chain, tau_Phi 25 us, 0.5 ms", "bars_chains.toml", {"run": {"chains": 1}}),
        ("one chain, tau_Phi 25 us, 20000 patches", "bars_chains.toml",
         {"run": {"chains": 1}, "input": {"n_patches": 20000},
          "learning": {"snapshot_every": "200 us"}}))


def _file(k: int):
    return RESULTS / f"batch_learning_{k}.h5"


def _run(k: int, name: str, config: str, changes: dict) -> None:
    d = config_dict(config)
    for section, values in changes.items():
        d[section].update(values)
    with Timer() as t:
        run_learning(build(d), _file(k), progress=sys.stderr)
    st = load_learning(_file(k))["stats"]
    print(f"{name}: recovery mean {st['recovery_mean'][-1]:.4f}, min "
          f"{st['recovery_min'][-1]:.4f}; activity {np.mean(st['activity'][-5:]):.4f}, KL "
          f"{np.mean(st['kl_prior'][-5:]):.4f}; wall {t.seconds:.0f} s", flush=True)


def _plot() -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for k, (name, _, _) in enumerate(RUNS):
        data = load_learning(_file(k))
        st, sn = data["stats"], data["snapshots"]
        style = dict(marker="o", ms=3, label=name, lw=2.2 if "8 chains" in name else 1.2)
        axes[0].plot(sn["patches_seen"], st["recovery_min"], **style)
        axes[1].plot(st["t"] * 1e3, st["recovery_min"], **style)
    for ax in axes:
        ax.axhline(0.95, color="r", ls="--", lw=0.8)
        ax.grid(alpha=0.3)
    axes[0].set_xlabel("patches seen by the chip (all its chains)")
    axes[1].set_xlabel("circuit time [ms]")
    axes[1].set_xscale("log")
    axes[0].set_ylabel("worst-bar cosine (dashed: 0.95)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Bars (8x8, 16 atoms, pi = 0.3) on 10 fF / 1 uS nodes at T_eff = 1: a batch of "
                 "8 chains sharing the chip's plasticity learns every bar from the same 20000\n"
                 "patches in 1/8 of the circuit time; one chain at the batch's rate is too noisy "
                 "to recover every bar, even from all 20000 patches", fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "batch_learning.png", dpi=110)
    plt.close(fig)
    print(f"wrote {RESULTS / 'batch_learning.png'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plot-only", action="store_true", help="redraw from the files")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    if not args.plot_only:
        for k, (name, config, changes) in enumerate(RUNS):
            _run(k, name, config, changes)
    _plot()
    return 0


if __name__ == "__main__":
    sys.exit(main())
