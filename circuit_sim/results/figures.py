"""Figures: an inference run (marginals and traces) and a learning run (dictionary tiles and
learning curves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import models
from noise import format_si

from . import metrics


def plot_inference(res, path=None):
    """Figure: marginals of ``s`` (exact where computable) and sample traces; PNG if ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = min(res.model.n_components, 4)
    fig, axes = plt.subplots(2, m, figsize=(4 * m, 6.5), squeeze=False)
    s = res.kept(res.s)
    grid = None
    if res.model.prior == "laplace" and res.model.n_components <= 2:
        grid = models.grid_posterior(res.model, res.x)
    gauss = models.gaussian_posterior(res.model, res.x) if res.model.prior == "gaussian" else None
    for i in range(m):
        ax = axes[0, i]
        if grid is not None:
            edges = metrics.s_edges(grid, i)
            nz = s[:, i][s[:, i] != 0]
            widths = np.diff(edges)
            hist, _ = np.histogram(nz, edges)
            ax.bar(edges[:-1], hist / len(s) / widths, widths, align="edge", alpha=0.5,
                   label="circuit samples")
            ax.plot(grid.s_grid, grid.s_densities[i], "k-", lw=1.2, label="exact posterior")
            p0 = np.mean(s[:, i] == 0)
            ax.set_title(f"s_{i}: P(s=0) = {p0:.3f} (exact {grid.s_zero_mass[i]:.3f})")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylabel("density of s != 0 (area = P(s != 0))")
        else:
            ax.hist(s[:, i], bins=40, density=True, alpha=0.5, label="circuit samples")
            if gauss is not None:
                mu, sd = gauss[0][i], np.sqrt(gauss[1][i, i])
                z = np.linspace(mu - 4 * sd, mu + 4 * sd, 200)
                ax.plot(z, np.exp(-0.5 * ((z - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), "k-",
                        label="exact posterior")
            ax.set_title(f"s_{i}")
        ax.set_xlabel(f"s_{i}")
        ax.legend(fontsize=8)
        ax2 = axes[1, i]
        n_show = min(len(res.t), 2000)
        ax2.plot(res.t[:n_show] * 1e6, res.u[:n_show, i], lw=0.6)
        if res.model.prior == "laplace" and res.model.u0 > 0:
            for sign in (-1, 1):
                ax2.axhline(sign * res.model.u0, color="r", lw=0.6, ls="--")
        ax2.set_xlabel("t [us]")
        ax2.set_ylabel(f"u_{i} = v_{i}/V_u")
    fig.suptitle(f"T_eff = {res.T_eff:.3g}, tau_u = {format_si(res.tau_u, 's')}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


#: Colour of the gaps between tiles: not a grey level, so a tile's white or black pixels never
#: merge with the grid.
SEPARATOR = "#c03030"


def tiles(dictionary: np.ndarray, ax, title: str = "", cols: int | None = None) -> None:
    """Draw the atoms (columns) as square tiles (pixels row-major), each on its own symmetric
    grey scale (``-max|atom|`` black, 0 mid-grey, ``+max|atom|`` white), separated by
    coloured gaps."""
    import matplotlib

    n, m = dictionary.shape
    p = int(round(np.sqrt(n)))
    if p * p != n:
        ax.imshow(dictionary, aspect="auto", cmap="gray")
        ax.set_title(title)
        return
    cols = cols or int(np.ceil(np.sqrt(m)))
    rows = int(np.ceil(m / cols))
    canvas = np.full((rows * (p + 1) + 1, cols * (p + 1) + 1), np.nan)
    for j in range(m):
        atom = dictionary[:, j].reshape(p, p)
        atom = atom / (np.abs(atom).max() or 1.0)
        r, c = divmod(j, cols)
        canvas[1 + r * (p + 1):1 + r * (p + 1) + p, 1 + c * (p + 1):1 + c * (p + 1) + p] = atom
    cmap = matplotlib.colormaps["gray"].copy()
    cmap.set_bad(SEPARATOR)
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)


def plot_learning(data: dict, path) -> Path:
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
        ax.axhline(0.95, color="r", ls="--", lw=0.8, label="0.95 (every bar recovered above)")
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
    kl = np.asarray(st["kl_prior"], dtype=float)
    ax.plot(t, np.maximum(kl, 1e-4))
    ax.set_yscale("log")
    ax.set_ylabel("KL [nat] (values below 1e-4 drawn at 1e-4)")
    ax.set_xlabel("t [us]")
    ax.set_title("KL(nonzero coefficients || slab prior)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
