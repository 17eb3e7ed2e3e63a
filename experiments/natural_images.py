"""Natural images (SPEC 5.7, paper figures figures_vh_learn_pi_dim_8_oc_4.png and
figures_oc_vs_pi_exp_learn_pi.png).

    python experiments/natural_images.py [--oc 2] [--patches N] [--backend standalone]
    python experiments/natural_images.py --oc 1 2 4      # learned pi against overcompleteness
    python experiments/natural_images.py --oc 1 2 4 --plot-only   # redraw from the HDF5 files

Learns an 8x8 dictionary of M = 64 * oc atoms from whitened natural-image patches (the
photographs shipped in the installed packages, whitened by their own spectrum with Olshausen
& Field's roll-off at 0.4 cycles/pixel), then judges the atoms with
``circuit_sim.atom_shapes`` (spectral peak >= 0.15 c/px, orientation selectivity >= 0.5,
extent <= 0.65 of the patch) beside three references judged the same way: random whitened
data patches (the baseline a learned atom must beat), the paper's own dictionary (its 8x8 grid
of tiles read back from ``figures_vh_learn_pi_dim_8_oc_4.png``) and scikit-learn's
``MiniBatchDictionaryLearning`` on the same patches (if scikit-learn is installed). Also the
learned activity against the paper's pi = 18.5 / overcompleteness.

As in the paper's runs (mike-fang/mixed_time_sparse_coding, vh_learn_pi.py), one threshold
shared by all units is learned from pi = 0.5, and "learned pi" is exp(-lam u0) averaged over
the last fifth of the snapshots; the measured fraction of nonzero codes over the same window
is reported beside it. Writes results/images_oc<k>.h5 / .png, results/whitening.png,
results/atoms_oc<k>.png and results/pi_vs_oc.png.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from circuit_sim import (atom_shapes, default_photographs, draw_tiles, load_learning,
                         load_natural_images,
                         patch_radial_power, plot_learning, random_patches, run_learning,
                         tiles_from_figure)

from _common import RESULTS, Timer, build, config_dict, save_figure

PAPER = Path(__file__).resolve().parents[2] / "shared" / "reference" / \
    "figures_vh_learn_pi_dim_8_oc_4.png"


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


def references(n_atoms: int = 128) -> dict:
    """Atoms that set the scale: random data patches, the paper's dictionary, scikit-learn's."""
    images, _ = load_natural_images(None)
    images = [im / np.std(im) for im in images]  # as the patch source scales them
    rng = np.random.default_rng(0)
    out = {"random data patches": random_patches(images, 2000, 8, rng).T}
    if PAPER.is_file():
        import matplotlib.image as mpimg

        grey = np.asarray(mpimg.imread(PAPER), dtype=float)[..., :3].mean(-1)
        out["paper (oc 4, read from its figure)"] = tiles_from_figure(grey, 8, 8)
    try:
        from sklearn.decomposition import MiniBatchDictionaryLearning
    except ImportError:
        return out
    x = random_patches(images, 20000, 8, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dl = MiniBatchDictionaryLearning(n_components=n_atoms, alpha=3.0, batch_size=256,
                                         max_iter=30, random_state=0, positive_code=True,
                                         fit_algorithm="cd", transform_algorithm="lasso_cd")
        dl.fit(x)
    out[f"scikit-learn MiniBatchDictionaryLearning (M = {n_atoms}, alpha 3)"] = dl.components_.T
    return out


def analyse(oc: int) -> dict:
    data = load_learning(RESULTS / f"images_oc{oc}.h5")
    lam = 1.0
    phi = data["dictionary"]
    st, snaps = data["stats"], data["snapshots"]
    n = len(st["t"])
    tail = slice(n - max(1, n // 5), n)
    activity = float(np.nanmean(st["activity"][tail]))
    pi_learned = float(np.mean(np.exp(-lam * snaps["u0"][tail])))
    plot_learning(data, RESULTS / f"images_oc{oc}.png")
    shapes = atom_shapes(phi)
    out = {"oc": oc, "shapes": shapes, "dictionary": phi, "activity": activity,
           "pi": pi_learned, "paper_pi": 18.5 / (64 * oc),
           "pi_trace": np.exp(-lam * snaps["u0"]).mean(axis=1), "t": snaps["t"]}
    print(f"oc {oc}: learned pi {pi_learned:.4f} (activity {activity:.4f}) vs paper 18.5/M = "
          f"{out['paper_pi']:.4f}: ratio {pi_learned / out['paper_pi']:.3f}", flush=True)
    return out


def _row(name: str, s: dict) -> str:
    return (f"| {name} | {s['n_atoms']} | {s['median_peak_frequency']:.3f} | "
            f"{s['median_orientation']:.2f} | {s['median_area']:.2f} | "
            f"{100 * s['band_pass_and_oriented']:.0f}% | {100 * s['edge_like']:.0f}% |")


def atoms_figure(result: dict, refs: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    oc, phi = result["oc"], result["dictionary"]
    fig = plt.figure(figsize=(15, 8.5))
    ax = fig.add_axes([0.01, 0.05, 0.5, 0.88])
    s = result["shapes"].summary()
    draw_tiles(phi, ax, f"learned dictionary, oc {oc} (M = {phi.shape[1]}; each atom on its own "
                   f"symmetric grey scale)\nedge-like {100 * s['edge_like']:.0f}%, band-pass "
                   f"and oriented {100 * s['band_pass_and_oriented']:.0f}%",
          cols=16 if phi.shape[1] >= 128 else 8)
    groups = {"learned (circuit)": result["shapes"], **{k: atom_shapes(v) for k, v in refs.items()}}
    for k, (attr, label, thr) in enumerate((
            ("peak_frequency", "spectral peak [cycles/pixel]", 0.15),
            ("orientation", "orientation selectivity", 0.5),
            ("area", "extent (fraction of the patch)", 0.65))):
        ax = fig.add_axes([0.58, 0.70 - 0.31 * k, 0.4, 0.23])
        for name, sh in groups.items():
            ax.hist(getattr(sh, attr), bins=20, range=(0, 0.71 if k == 0 else 1), density=True,
                    histtype="step", lw=1.5, label=name)
        ax.axvline(thr, color="k", ls="--", lw=0.8)
        ax.set_xlabel(label + f" (criterion at {thr})")
        ax.set_ylabel("density")
        if k == 0:
            ax.legend(fontsize=7)
    save_figure(fig, f"atoms_oc{oc}")


def whitening_figure() -> None:
    """Radial power of 8x8 patches: the photographs raw, with O&F's |f| filter alone, and
    whitened by their own spectrum (the project's), against the flatness band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    named = default_photographs()
    raw = [im - im.mean() for _, im in named]
    of = []
    for im in raw:
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(im.shape[0]), np.fft.fftfreq(im.shape[1]),
                                  indexing="ij"))
        of.append(np.real(np.fft.ifft2(np.fft.fft2(im) * f * np.exp(-(f / 0.4) ** 4))))
    ours, _ = load_natural_images(None)
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, ims in (("photographs, raw", raw), ("O&F filter |f| exp(-(f/0.4)^4)", of),
                      ("whitened by their own spectrum (ours)", ours)):
        f, pw = patch_radial_power(random_patches(ims, 8000, 8, rng), 8)
        band = (f >= 0.05) & (f <= 0.35)
        ratio = pw[band].max() / pw[band].min()
        ax.loglog(f[1:], pw[1:] / np.median(pw[band]), "o-", ms=3,
                  label=f"{name}: max/min over the band {ratio:.3g}")
    ax.axvspan(0.05, 0.35, color="0.9", label="0.05-0.35 c/px (flat within 2x required)")
    ax.axhline(2, color="0.5", ls=":", lw=0.8)
    ax.axhline(0.5, color="0.5", ls=":", lw=0.8)
    ax.set_xlabel("radial frequency [cycles/pixel]")
    ax.set_ylabel("patch power / its median in the band")
    ax.set_title(f"8x8 patches of {len(named)} photographs ({sum(im.size for im in raw) / 1e6:.2f}"
                 " Mpixel), Hann-windowed", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    save_figure(fig, "whitening")


def pi_figure(results: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ocs = [r["oc"] for r in results]
    ax.plot(ocs, [r["pi"] for r in results], "o-", label="learned pi = exp(-lam u0)")
    ax.plot(ocs, [r["activity"] for r in results], "s:", label="fraction of nonzero s")
    grid = np.linspace(min(ocs), max(ocs), 50)
    ax.plot(grid, 18.5 / (64 * grid), "k--", label="paper: 18.5 / M")
    ax.fill_between(grid, 0.75 * 18.5 / (64 * grid), 1.25 * 18.5 / (64 * grid), color="0.85",
                    label="paper +- 25%")
    ax.set_xlabel("overcompleteness M / 64")
    ax.set_ylabel("pi")
    ax.legend(fontsize=8)
    save_figure(fig, "pi_vs_oc")


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
    whitening_figure()
    refs = references()
    results = [analyse(oc) for oc in args.oc]
    print("| atoms | M | median spectral peak [c/px] | median orientation | median extent | "
          "band-pass and oriented | edge-like |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(_row(f"circuit, oc {r['oc']}", r["shapes"].summary()))
        atoms_figure(r, refs)
    for name, d in refs.items():
        print(_row(name, atom_shapes(d).summary()))
    if len(results) > 1:
        pi_figure(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
