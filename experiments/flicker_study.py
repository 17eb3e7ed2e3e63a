"""1/f corner against posterior bias (sweep ``sweeps/flicker_corner.toml``).

The demo design (2-latent spike-and-slab, tau_u = 10 ns) with flicker noise on its natural
white floor; the corner f_c sweeps from 0.01 / tau_u to 3 / tau_u while the injected source
keeps the total T_eff at 1. Colored noise breaks the fluctuation-dissipation balance the
sampler relies on, so the bias grows with the corner.

    python flicker_study.py [--workers 2]

Writes ``results/flicker_corner/`` (index.csv, per-point HDF5) and ``results/flicker_corner.png``.
"""

from __future__ import annotations

import argparse

from _common import by_key, run_study, save_figure

TAU_U = 10e-9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    idx = run_study("flicker_corner", args.workers)
    si = "noise.3.corner_frequency [Hz]"
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, label in ((axes[0], "tv_s", "TV distance of the codes (vs exact)"),
                              (axes[1], "activity", "activity P(s != 0)")):
        x, mean, lo, hi = by_key(idx, si, metric, si_key=si)
        ax.errorbar(x * TAU_U, mean, yerr=[mean - lo, hi - mean], fmt="o-", capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel("1/f corner f_c x tau_u")
        ax.set_ylabel(label)
        print(f"{metric}: " + ", ".join(f"f_c tau_u = {a * TAU_U:.3g}: {m:.4f}" for a, m in zip(x, mean)))
    axes[0].set_title("posterior bias against the 1/f corner (T_eff = 1 throughout)")
    print(idx.summary())
    save_figure(fig, "flicker_corner")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
