"""Natural images (SPEC 5.7, paper figures figures_vh_learn_pi_dim_8_oc_4.png and
figures_oc_vs_pi_exp_learn_pi.png).

    python experiments/natural_images.py [--oc 2] [--patches N] [--backend standalone]
    python experiments/natural_images.py --oc 1 2 4      # learned pi against overcompleteness
    python experiments/natural_images.py --oc 1 2 4 --plot-only   # redraw from the HDF5 files

Learns an 8x8 dictionary with M = 64 * oc atoms and per-unit thresholds from whitened
natural-image patches; reports the fraction of atoms whose best-fitting Gabor explains more
than 80% of their variance (localised, oriented, band-pass), and the learned activity against
the paper's pi = 18.5 / overcompleteness (with M = 64 oc atoms of 64 pixels). Writes
results/images_oc<k>.h5 / .png and results/pi_vs_oc.png.

As in the paper's runs (mike-fang/mixed_time_sparse_coding, vh_learn_pi.py), one threshold
shared by all units is learned from pi = 0.5, and "learned pi" is exp(-lam u0) averaged over
the last fifth of the snapshots; the measured fraction of nonzero codes over the same window
is reported beside it.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy.optimize import least_squares

from circuit_sim import load_learning, plot_learning, run_learning

from _common import RESULTS, Timer, build, config_dict


def gabor(params, yy, xx):
    amp, y0, x0, theta, sigma_x, sigma_y, freq, phase, offset = params
    ct, st = np.cos(theta), np.sin(theta)
    xr = (xx - x0) * ct + (yy - y0) * st
    yr = -(xx - x0) * st + (yy - y0) * ct
    env = np.exp(-0.5 * ((xr / sigma_x) ** 2 + (yr / sigma_y) ** 2))
    return amp * env * np.cos(2 * np.pi * freq * xr + phase) + offset


def gabor_r2(atom: np.ndarray) -> float:
    """Best R^2 of a 2-D Gabor fit to one atom (several starts)."""
    p = int(round(np.sqrt(atom.size)))
    img = atom.reshape(p, p)
    yy, xx = np.mgrid[0:p, 0:p].astype(float)
    tot = np.sum((img - img.mean()) ** 2)
    if tot <= 0:
        return 0.0
    cy, cx = np.unravel_index(np.argmax(np.abs(img)), img.shape)
    best = 0.0
    for theta in np.linspace(0, np.pi, 4, endpoint=False):
        for freq in (0.1, 0.25):
            x0 = [img[cy, cx], cy, cx, theta, 1.5, 1.5, freq, 0.0, 0.0]
            lo = [-np.inf, -1, -1, -np.inf, 0.3, 0.3, 0.0, -np.inf, -np.inf]
            hi = [np.inf, p, p, np.inf, p, p, 0.5, np.inf, np.inf]
            try:
                r = least_squares(lambda q: (gabor(q, yy, xx) - img).ravel(), x0,
                                  bounds=(lo, hi), max_nfev=400)
            except ValueError:
                continue
            best = max(best, 1 - np.sum(r.fun ** 2) / tot)
    return float(best)


def run(oc: int, n_patches: int | None, backend: str) -> None:
    d = config_dict("images_oc2.toml")
    d["model"]["n_components"] = 64 * oc
    if n_patches:
        d["input"]["n_patches"] = n_patches
    d["run"]["backend"] = backend
    RESULTS.mkdir(exist_ok=True)
    with Timer() as t:
        run_learning(build(d), RESULTS / f"images_oc{oc}.h5", progress=sys.stderr)
    print(f"oc {oc}: learning took {t.seconds:.0f} s", flush=True)


def analyse(oc: int) -> dict:
    data = load_learning(RESULTS / f"images_oc{oc}.h5")
    lam = 1.0
    phi = data["dictionary"]
    r2 = np.array([gabor_r2(phi[:, j]) for j in range(phi.shape[1])])
    st, snaps = data["stats"], data["snapshots"]
    n = len(st["t"])
    tail = slice(n - max(1, n // 5), n)
    activity = float(np.nanmean(st["activity"][tail]))
    pi_learned = float(np.mean(np.exp(-lam * snaps["u0"][tail])))
    plot_learning(data, RESULTS / f"images_oc{oc}.png")
    out = {"oc": oc, "gabor_fraction": float(np.mean(r2 > 0.8)), "activity": activity,
           "pi": pi_learned, "paper_pi": 18.5 / (64 * oc),
           "pi_trace": np.exp(-lam * snaps["u0"]).mean(axis=1), "t": snaps["t"]}
    print(f"oc {oc}: Gabor R^2 > 0.8 for {100 * out['gabor_fraction']:.0f}% of atoms; learned "
          f"pi {pi_learned:.4f} (activity {activity:.4f}) vs paper 18.5/M = "
          f"{out['paper_pi']:.4f}: ratio {pi_learned / out['paper_pi']:.3f}; pi over the "
          f"snapshots {np.round(out['pi_trace'], 3).tolist()}", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oc", type=int, nargs="+", default=[2])
    ap.add_argument("--patches", type=int, default=None)
    ap.add_argument("--backend", default="standalone")
    ap.add_argument("--plot-only", action="store_true",
                    help="analyse and draw the existing results/images_oc<k>.h5")
    args = ap.parse_args(argv)
    if not args.plot_only:
        for oc in args.oc:
            run(oc, args.patches, args.backend)
    results = [analyse(oc) for oc in args.oc]
    if len(results) > 1:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        ocs = [r["oc"] for r in results]
        ax.plot(ocs, [r["pi"] for r in results], "o-", label="learned pi = exp(-lam u0)")
        ax.plot(ocs, [r["activity"] for r in results], "s:", label="fraction of nonzero s")
        grid = np.linspace(min(ocs), max(ocs), 50)
        ax.plot(grid, 18.5 / (64 * grid), "k--", label="paper: 18.5 / M")
        ax.fill_between(grid, 0.75 * 18.5 / (64 * grid), 1.25 * 18.5 / (64 * grid),
                        color="0.85", label="paper +- 25%")
        ax.set_xlabel("overcompleteness M / 64")
        ax.set_ylabel("pi")
        ax.legend()
        fig.tight_layout()
        fig.savefig(RESULTS / "pi_vs_oc.png", dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
