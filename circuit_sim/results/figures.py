"""Figures: an inference run (marginals and traces) and a learning run (dictionary tiles and
learning curves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import models
from noise import format_si

from . import metrics
from .learning_file import learners


#: The inference figure shows at most this many units (the first ones; the title says so).
MAX_UNITS_SHOWN = 4
#: Its traces span about this many autocorrelation times (at least 20 tau_u).
TRACE_AUTOCORRELATION_TIMES = 30


def _reference_codes(res):
    """Exact or reference codes to draw next to the circuit's: (kind, grid or codes)."""
    model = res.model
    if model.prior == "gaussian":
        return "gaussian", models.gaussian_posterior(model, res.x)
    if model.n_components <= 2:
        return "grid", models.grid_posterior(model, res.x)
    if model.n_components <= metrics.MALA_REFERENCE_MAX_M and len(res.t) > 20:
        ref = metrics.mala_reference(res.pooled(res.u), model, res.x, res.design.seeds.rng("mala"))
        return "mala", ref["s"]
    return None, None


def _marginal(ax, s_i, i, kind, ref):
    """One code's marginal: the density of its nonzero values (area = P(s != 0)) and its
    zero mass in the title, the circuit's and the reference's drawn the same way."""
    if kind == "gaussian":
        mu, sd = ref[0][i], np.sqrt(ref[1][i, i])
        edges = np.linspace(mu - 4 * sd, mu + 4 * sd, 41)
        ax.hist(s_i, bins=edges, density=True, alpha=0.5, label="circuit samples")
        z = 0.5 * (edges[1:] + edges[:-1])
        ax.plot(z, np.exp(-0.5 * ((z - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), "k-",
                label="exact posterior")
        ax.set_title(f"s_{i} = u_{i} (Gaussian prior)", fontsize=9)
        ax.set_ylabel("density")
        return
    if kind == "grid":
        edges = metrics.s_edges(ref, i)
    else:
        nz = s_i[s_i != 0] if kind is None else np.concatenate([s_i[s_i != 0], ref[:, i][ref[:, i] != 0]])
        lo, hi = np.quantile(nz, [0.002, 0.998]) if nz.size else (-1.0, 1.0)
        edges = np.linspace(lo, hi, 31)
    widths = np.diff(edges)
    hist = np.histogram(s_i[s_i != 0], edges)[0] / len(s_i) / widths
    ax.bar(edges[:-1], hist, widths, align="edge", alpha=0.5, label="circuit samples")
    title = f"s_{i}: P(s = 0) = {np.mean(s_i == 0):.3f}"
    if kind == "grid":
        ax.plot(ref.s_grid, ref.s_densities[i], "k-", lw=1.2, label="exact posterior")
        title += f" (exact {ref.s_zero_mass[i]:.3f})"
    elif kind == "mala":
        r = ref[:, i]
        ax.step(edges[:-1], np.histogram(r[r != 0], edges)[0] / len(r) / widths, "k-",
                where="post", lw=1.0, label="MALA reference")
        title += f" (MALA {np.mean(r == 0):.3f})"
    ax.set_xlim(edges[0], edges[-1])
    ax.set_title(title, fontsize=9)
    ax.set_ylabel("density of s != 0 (area = P(s != 0))")


def _trace(ax, res, i):
    """Trace of u_i (left axis) and v_i in mV (right axis) over a window of about
    :data:`TRACE_AUTOCORRELATION_TIMES` autocorrelation times; the ``+-u0`` lines are the
    soft threshold (|u| < u0 gives s = 0)."""
    tau = res.metrics.get("autocorrelation_time", res.tau_u)
    span = float(f"{max(TRACE_AUTOCORRELATION_TIMES * tau, 20 * res.tau_u):.1g}")
    t0 = res.t[res.burn_in] if len(res.t) > res.burn_in else res.t[0]
    sel = (res.t >= t0) & (res.t <= t0 + span)
    ax.plot(res.t[sel] * 1e6, res.first_copy(res.u)[sel, i], lw=0.6)
    if res.model.prior == "laplace" and res.model.u0 > 0:
        for sign in (-1, 1):
            ax.axhline(sign * res.model.u0, color="r", lw=0.7, ls="--",
                       label="+-u0: s = 0 between" if sign > 0 else None)
        ax.legend(fontsize=7, loc="upper right")
    ax.set_xlabel("t [us]")
    ax.set_ylabel(f"u_{i} = v_{i}/V_u")
    vu = res.design.circuit.volts_per_unit
    sec = ax.secondary_yaxis("right", functions=(lambda u: u * vu * 1e3, lambda mv: mv / (vu * 1e3)))
    sec.set_ylabel(f"v_{i} [mV]")
    total = len(res.t) * res.record_stride * res.dt
    chain = " of chain 0" if res.design.copies > 1 else ""
    ax.set_title(f"{format_si(span, 's')} of {format_si(total, 's')}{chain} shown (after "
                 "burn-in)", fontsize=9)


def plot_inference(res, path=None):
    """Figure: marginals of ``s`` against the exact posterior (Gaussian, grid quadrature for
    M <= 2) or a MALA reference (M <= 16), and traces in ``u`` and mV, for the first
    :data:`MAX_UNITS_SHOWN` units; the title states the design and what is left out. PNG if
    ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m_all = res.model.n_components
    m = min(m_all, MAX_UNITS_SHOWN)
    fig, axes = plt.subplots(2, m, figsize=(4.2 * m, 7), squeeze=False)
    s = res.pooled(res.s)
    kind, ref = _reference_codes(res)
    for i in range(m):
        _marginal(axes[0, i], s[:, i], i, kind, ref)
        axes[0, i].set_xlabel(f"s_{i} (dimensionless code)")
        axes[0, i].legend(fontsize=7)
        _trace(axes[1, i], res, i)
    shown = f"units 0-{m - 1} of {m_all} shown" if m < m_all else f"all {m_all} units"
    mt = res.metrics
    err = (f"; posterior error {mt['posterior_error']:.4f}"
           + (f" (floor {mt['posterior_error_floor']:.4f})" if "posterior_error_floor" in mt else "")
           if "posterior_error" in mt else "")
    fig.suptitle(f"{res.design.caption()}; {res.design.integrator}, dt = {format_si(res.dt, 's')}\n"
                 f"{res.model.n_features} inputs x {m_all} latents, {shown}; "
                 f"{len(s)} samples after burn-in"
                 + (f" ({res.design.chains} chains pooled)" if res.design.chains > 1 else "")
                 + f", ESS {mt.get('ess', float('nan')):.0f}{err}",
                 fontsize=9)
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


def learning_caption(data: dict) -> str:
    """The design of a learning file in one line (from its stored config and attributes)."""
    a = data["attrs"]
    head = ""
    if a.get("config"):
        from ..config import loads_config

        c = loads_config(str(a["config"])).circuit
        head = (f"C = {format_si(c.capacitance, 'F')}, G_m = {format_si(c.transconductance, 'S')}, "
                f"V_u = {format_si(c.volts_per_unit, 'V')}, T = {format_si(c.temperature, 'K')}, ")
    n, m = (data["dictionary"] if data["dictionary"] is not None
            else data["snapshots"]["dictionary"][-1]).shape[-2:]
    chips, chains = int(a.get("chips", 1)), int(a.get("chains", 1))
    own = a.get("share", "chains") == "none"
    ens = (f"; {chips} chip{'s' * (chips > 1)} x {chains} chain{'s' * (chains > 1)}"
           + (" (each chain its own dictionary)" if own else
              " (chains share a chip's plasticity)" if chains > 1 else "")
           + (" (one chip per seed: run.seeds)" if "seeds" in a else "")
           if chips * chains > 1 else "")
    return (f"{head}tau_u = {format_si(float(a.get('tau_u', float('nan'))), 's')}, "
            f"T_eff = {float(a.get('T_eff', float('nan'))):.3g}; {a.get('integrator')}, "
            f"dt = {format_si(float(a.get('dt', float('nan'))), 's')}, backend {a.get('backend')}\n"
            f"{n} inputs x {m} latents, all atoms shown; dynamics {a.get('dynamics')}, "
            f"{len(data['snapshots']['t'])} snapshots{ens}")


def _curve(ax, t, values, label=None, color=None, who="chips") -> None:
    """A learning curve: one line, or with several learners ((snapshots, learners): chips,
    or chains with ``learning.share = "none"``, named by ``who``) every learner thin, their
    median bold and the 10th-90th percentile band."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        ax.plot(t, v, label=label, color=color)
        return
    line = ax.plot(t, np.nanmedian(v, axis=1), lw=1.8, color=color,
                   label=f"{label or 'median'} (median over {v.shape[1]} {who})")[0]
    ax.fill_between(t, *np.nanpercentile(v, [10, 90], axis=1), color=line.get_color(),
                    alpha=0.2, lw=0)
    ax.plot(t, v, color=line.get_color(), lw=0.4, alpha=0.5)


def plot_learning(data: dict, path) -> Path:
    """Figure: learned dictionary tiles and learning curves; PNG at ``path``. A file of
    several chips shows the first chip's dictionary and every chip's curves (median bold,
    10th-90th percentile band)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st, sn = data["stats"], data["snapshots"]
    t = st["t"] * 1e6
    has_true = data["true_dictionary"] is not None
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    learned = data["dictionary"] if data["dictionary"] is not None else sn["dictionary"][-1]
    n_learn = learners(data["attrs"])
    who = "learners" if data["attrs"].get("share", "chains") == "none" else "chips"
    if n_learn > 1:
        tiles(learned[0], axes[0, 0], f"learned dictionary of {who[:-1]} 0 of {n_learn}")
    else:
        tiles(learned, axes[0, 0], "learned dictionary")
    if has_true:
        tiles(data["true_dictionary"], axes[0, 1], "true dictionary")
        ax = axes[0, 2]
        _curve(ax, t, st["recovery_mean"], label="mean", who=who)
        _curve(ax, t, st["recovery_min"], label="min", who=who)
        ax.axhline(0.95, color="r", ls="--", lw=0.8, label="0.95 (every bar recovered above)")
        ax.set_title("recovery (best-match cosine)")
        ax.set_xlabel("t [us]")
        ax.legend(fontsize=8)
    else:
        axes[0, 1].set_axis_off()
        axes[0, 2].set_axis_off()
    ax = axes[1, 0]
    _curve(ax, t, st["activity"], label="activity", who=who)
    pi = np.exp(-np.mean(sn["u0"], axis=-1))
    _curve(ax, sn["t"] * 1e6, pi, label="model pi = exp(-lam u0) (lam=1)", who=who)
    ax.set_xlabel("t [us]")
    ax.set_title("activity (fraction of nonzero s)")
    ax.legend(fontsize=7, loc="best")
    ax = axes[1, 1]
    _curve(ax, t, st["reconstruction_error"], who=who)
    ax.set_xlabel("t [us]")
    ax.set_title("reconstruction error |x - Phi s|^2 / N")
    ax = axes[1, 2]
    kl = np.asarray(st["kl_prior"], dtype=float)
    _curve(ax, t, np.maximum(kl, 1e-4), who=who)
    ax.set_yscale("log")
    ax.set_ylabel("KL [nat] (values below 1e-4 drawn at 1e-4)")
    ax.set_xlabel("t [us]")
    ax.set_title("KL(nonzero coefficients || slab prior)")
    fig.suptitle(learning_caption(data), fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


#: The panels of the chips figure: key of ``chip_metrics``, axis label, scale; the first of
#: each group that the chips have is drawn.
CHIP_PANELS = ((("tv_s_vs_mala", "posterior error: largest TV of a code vs MALA", 1.0),
                ("tv_s", "posterior error: largest TV of a code vs grid quadrature", 1.0),
                ("cov_error", "posterior error: relative covariance error", 1.0)),
               (("activity_error_vs_mala", "largest |P(s_i != 0) - MALA's|", 1.0),
                ("activity_bias", "activity bias  P(s != 0) / pi - 1", 1.0)),
               (("energy_per_sample", "energy per effective sample [fJ]", 1e15),))


def plot_chips(res, path=None):
    """Figure of a mismatch Monte Carlo (``mismatch.chips > 1``): each chip's posterior
    error (with its own noise floor), activity bias and energy per effective sample against
    the chip's index, the median and the 10th-90th percentile band across chips; the title
    states the design, the mismatch figures and the number of chips. PNG if ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm, d = res.chip_metrics, res.design
    panels = [next(p for p in group if p[0] in cm) for group in CHIP_PANELS
              if any(p[0] in cm for p in group)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4), squeeze=False)
    seeds = "seed" in cm  # a batch of seeds (run.seeds): each chip is its seed's draw
    chip = cm["seed"] if seeds else cm["chip"]
    for ax, (key, label, scale) in zip(axes[0], panels):
        v = cm[key] * scale
        ax.plot(chip, v, "o", ms=3.5, label="one chip")
        if f"{key}_floor" in cm:
            ax.plot(chip, cm[f"{key}_floor"] * scale, "_", color="0.4", ms=7,
                    label="its noise floor (exact sampler)")
        p10, med, p90 = np.percentile(v[np.isfinite(v)], [10, 50, 90]) if np.any(np.isfinite(v)) \
            else (np.nan,) * 3
        ax.axhspan(p10, p90, color="C1", alpha=0.15, label="10th-90th percentile")
        ax.axhline(med, color="C1", lw=1.2, label=f"median {med:.3g}")
        ax.set_xlabel("the chip's seed (run.seeds: its device draw)" if seeds else
                      "chip index (its device draw: mismatch.first_chip)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    mm = d.mismatch
    sig = (f"sigma G_m {mm.gm_sigma:.3g}, C {mm.c_sigma:.3g}, offset "
           f"{format_si(mm.threshold_offset_sigma, 'V')}, weight gain {mm.weight_gain_sigma:.3g}, "
           f"weight offset {mm.weight_offset_sigma:.3g}") if mm is not None else "no mismatch"
    fig.suptitle(f"{d.caption()}\n{d.chips} chips{' (one per seed)' if seeds else ''} x "
                 f"{d.chains} chain(s), {res.model.n_features} "
                 f"inputs x {res.model.n_components} latents; mismatch: {sig}", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
