"""Reading a learning run's HDF5 file back: a text summary and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ConfigError


def load_learning(path) -> dict:
    """The arrays and attributes of a learning file (SI, as stored)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ConfigError("FILE.h5", "an existing learning HDF5 file", str(path))
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise ConfigError("FILE.h5", "an HDF5 file written by circuit-sim learn", str(path)) from None
    with f:
        if "snapshots" not in f or "stats" not in f:
            raise ConfigError("FILE.h5", "a file written by circuit-sim learn (snapshots/, stats/)",
                              str(path))
        out = {"attrs": dict(f.attrs),
               "snapshots": {k: f["snapshots"][k][()] for k in f["snapshots"]},
               "stats": {k: f["stats"][k][()] for k in f["stats"]},
               "dictionary": f["dictionary"][()] if "dictionary" in f else None,
               "true_dictionary": f["true_dictionary"][()] if "true_dictionary" in f else None}
    return out


def summary(data: dict) -> str:
    """Text summary of a learning run."""
    a, st, sn = data["attrs"], data["stats"], data["snapshots"]
    n = len(sn["t"])
    lines = [f"learning run: {n} snapshots, last at t = {sn['t'][-1] * 1e6:.4g} us of circuit time "
             f"({int(sn['patches_seen'][-1])} patches); backend {a.get('backend')}, integrator "
             f"{a.get('integrator')}, dynamics {a.get('dynamics')}; complete: {bool(a.get('complete'))}"
             + ("  [INTERRUPTED]" if a.get("interrupted") else ""),
             f"  wall time {float(a.get('wall_time', float('nan'))):.1f} s"]
    last = slice(max(0, n - max(1, n // 5)), n)  # the last fifth of the run
    lines.append(f"  activity (fraction of nonzero s), last fifth: {np.nanmean(st['activity'][last]):.4f}; "
                 f"mean u0 {np.mean(sn['u0'][-1]):.4f}")
    lines.append(f"  reconstruction error |x - Phi s|^2 / N, last fifth: "
                 f"{np.nanmean(st['reconstruction_error'][last]):.4f}")
    lines.append(f"  KL(nonzero |s| histogram || slab prior), last fifth: "
                 f"{np.nanmean(st['kl_prior'][last]):.4f} nat")
    if data["true_dictionary"] is not None:
        lines.append(f"  dictionary recovery (best-match cosine, optimal assignment): mean "
                     f"{st['recovery_mean'][-1]:.4f}, min {st['recovery_min'][-1]:.4f}")
    return "\n".join(lines)


def tiles(dictionary: np.ndarray, ax, title: str = "") -> None:
    """Draw the atoms (columns) as square tiles (pixels row-major)."""
    n, m = dictionary.shape
    p = int(round(np.sqrt(n)))
    if p * p != n:
        ax.imshow(dictionary, aspect="auto", cmap="gray")
        ax.set_title(title)
        return
    cols = int(np.ceil(np.sqrt(m)))
    rows = int(np.ceil(m / cols))
    canvas = np.full((rows * (p + 1) + 1, cols * (p + 1) + 1), np.nan)
    for j in range(m):
        atom = dictionary[:, j].reshape(p, p)
        atom = atom / (np.abs(atom).max() or 1.0)
        r, c = divmod(j, cols)
        canvas[1 + r * (p + 1):1 + r * (p + 1) + p, 1 + c * (p + 1):1 + c * (p + 1) + p] = atom
    ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)


def plot(data: dict, path) -> Path:
    """Figure: learned dictionary tiles and learning curves; PNG at ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st, sn = data["stats"], data["snapshots"]
    t = st["t"] * 1e6
    has_true = data["true_dictionary"] is not None
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    tiles(data["dictionary"] if data["dictionary"] is not None else sn["dictionary"][-1],
          axes[0, 0], "learned dictionary")
    if has_true:
        tiles(data["true_dictionary"], axes[0, 1], "true dictionary")
        ax = axes[0, 2]
        ax.plot(t, st["recovery_mean"], label="mean")
        ax.plot(t, st["recovery_min"], label="min")
        ax.axhline(0.95, color="r", ls="--", lw=0.8)
        ax.set_title("recovery (best-match cosine)")
        ax.set_xlabel("t [us]")
        ax.legend()
    else:
        axes[0, 1].set_axis_off()
        axes[0, 2].set_axis_off()
    ax = axes[1, 0]
    ax.plot(t, st["activity"], label="activity")
    ax.plot(sn["t"] * 1e6, np.exp(-np.mean(sn["u0"], axis=1)), label="model pi = exp(-lam u0) (lam=1)")
    ax.set_xlabel("t [us]")
    ax.set_title("activity (fraction of nonzero s)")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(t, st["reconstruction_error"])
    ax.set_xlabel("t [us]")
    ax.set_title("reconstruction error |x - Phi s|^2 / N")
    ax = axes[1, 2]
    ax.plot(t, st["kl_prior"])
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("t [us]")
    ax.set_title("KL(nonzero coefficients || slab prior)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
