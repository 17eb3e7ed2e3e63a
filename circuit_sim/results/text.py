"""Text a user reads: the summary of an inference run and of a learning run."""

from __future__ import annotations

import numpy as np

from noise import format_si

from .. import __version__
from .learning_file import learners


def inference_summary(res) -> str:
    """A human-readable summary of an inference run."""
    mt, design = res.metrics, res.design
    c = design.circuit
    lines = [f"circuit-sim {__version__}: {res.model.n_features} inputs x "
             f"{res.model.n_components} latent units, prior {res.model.prior}"
             + (f" (pi = {res.model.pi:.3g}, u0 = {res.model.u0:.4g}"
                f"{', positive' if res.model.positive else ''})" if res.model.prior == "laplace" else ""),
             f"  design point : C = {format_si(c.capacitance, 'F')}, G_m = "
             f"{format_si(c.transconductance, 'S')}"
             f"{' (subthreshold, from bias current)' if c.transconductance_from_bias else ''}, "
             f"V_u = {format_si(c.volts_per_unit, 'V')}, T = {c.temperature:.4g} K",
             f"  tau_u = C/G_m = {format_si(res.tau_u, 's')};  T_eff = {res.T_eff:.4g} "
             f"(noise budget)",
             f"  integrator   : {design.integrator}, dt = {format_si(res.dt, 's')} "
             f"(h = dt/tau_u = {mt['h']:.3g}, stability limit 2/lambda_max = "
             f"{2 / mt['lambda_max']:.3g}{'; dt chosen automatically' if res.dt_auto else ''}); "
             f"crossbar: {'dense kernel' if design.crossbar == 'dense' else 'Brian2 summed variables'}"
             + (f"; plasticity dt = {format_si(design.timestep.plasticity_stride * res.dt, 's')} "
                f"({design.timestep.plasticity_stride} steps"
                f"{', automatic' if design.learning.plasticity_dt is None else ''})"
                if design.learning is not None else ""),
             f"  simulated    : {format_si(len(res.t) * res.record_stride * res.dt, 's')} of "
             f"circuit time on backend '{design.backend}' in {res.wall_time:.2f} s wall, "
             f"{res.run_time:.2f} s of it simulating "
             f"(seed {design.seed}); {len(res.t)} samples, burn-in {res.burn_in}"
             + (f" (each of the {design.copies} copies)" if design.copies > 1 else "")
             + ("  [INTERRUPTED]" if res.interrupted else "")]
    lines.extend(nonideal_lines(design))
    lines.extend(ensemble_lines(res))
    if "autocorrelation_time" in mt:
        lines.append(f"  autocorrelation time {format_si(mt['autocorrelation_time'], 's')} per "
                     f"effective sample (ESS {mt['ess']:.0f}; {mt['ess_per_second']:.4g} "
                     f"effective samples per second of circuit time)")
    if "power_total" in mt:
        copies = (f" (one copy; the network's {design.copies} copies draw "
                  f"{format_si(mt['power_total'] * design.copies, 'W')})"
                  if design.copies > 1 else "")
        lines.append(f"  power {format_si(mt['power_per_unit'], 'W')} per unit, "
                     f"{format_si(mt['power_total'], 'W')} total{copies}"
                     + (f"; energy per effective sample {format_si(mt['energy_per_sample'], 'J')}"
                        if "energy_per_sample" in mt else ""))
    lines.extend(quality_lines(res))
    return "\n".join(lines)


def nonideal_lines(design) -> list[str]:
    """The cell's non-idealities in force (transconductor, output conductance, comparators),
    each with what it does in the model's own units; nothing for an ideal cell."""
    cfg, c = design.config, design.circuit
    parts = []
    if cfg.transconductor is not None:
        i_max = cfg.transconductor.saturation_current
        parts.append(f"transconductor saturates at I_max = {format_si(i_max, 'A')} "
                     f"(|force| <= {i_max / (c.transconductance * c.volts_per_unit):.3g})")
    if c.output_conductance is not None:
        parts.append(f"output conductance {format_si(c.output_conductance, 'S')} "
                     f"(leak G_o/G_m = {c.output_conductance / c.transconductance:.3g})")
    cmp = cfg.comparator
    if cmp is not None:
        src = (f"gain {cmp.gain:.4g}, swing {format_si(cmp.swing, 'V')}: " if cmp.gain else "")
        parts.append(f"comparators {src}width {format_si(cmp.width, 'V')} "
                     f"(w = {cmp.width / c.volts_per_unit:.3g} of u), offset "
                     f"{format_si(cmp.offset, 'V')} (u0 {cmp.offset / c.volts_per_unit:+.3g})")
    if cfg.wires is not None:
        w = cfg.wires
        parts.append(f"crossbar wires {format_si(w.row_resistance, 'ohm')} (rows) / "
                     f"{format_si(w.column_resistance, 'ohm')} (columns) per cell: IR drop moves "
                     f"the dictionary by {100 * design.ir_drop_error:.3g}% (Frobenius)")
    return [f"  non-ideal    : {'; '.join(parts)}"] if parts else []


def ensemble_lines(res) -> list[str]:
    """What an ensemble is and how its figures are pooled (nothing for a plain run)."""
    d, mt = res.design, res.metrics
    if d.copies == 1:
        return []
    ens = d.ensemble
    first, last = ens.chip_index[0], ens.chip_index[-1]
    chips = f"chip {first}" if d.chips == 1 else f"{d.chips} chips ({first}-{last})"
    if ens.chip_seed:  # a batch of seeds (run.seeds)
        seeds = ", ".join(map(str, ens.chip_seed))
        chips = (f"{d.chips} chip(s), one per seed (run.seeds = [{seeds}]; each chip "
                 f"{first} of its seed's device draws)")
    lines = [f"  ensemble     : {chips} x {d.chains} chain(s) = {d.copies} copies in one network; "
             + (("each chip's chains pooled (ESS summed over chains" if d.chains > 1 else
                 "one chain per chip (R-hat over each chain's two halves")
                + (f", split R-hat {mt['r_hat']:.4f}" if "r_hat" in mt else "") + ")"
                + ("; every figure below is the median over chips" if d.chips > 1 else ""))]
    if d.chips > 1:
        for key, label, unit in (("posterior_error", "posterior error", ""),
                                 ("activity_error_vs_mala", "activity vs MALA", ""),
                                 ("activity_bias", "activity bias", ""),
                                 ("energy_per_sample", "energy per sample", "J"),
                                 ("T_measured", "temperature", "")):
            if f"{key}_median" in mt:
                f = (lambda v: format_si(v, unit)) if unit else (lambda v: f"{v:.4g}")
                lines.append(f"    across chips: {label} median {f(mt[key + '_median'])} "
                             f"(10th-90th percentile {f(mt[key + '_p10'])} to "
                             f"{f(mt[key + '_p90'])})")
    return lines


#: The quality figures of an inference run: key, label, what it means (formatted with the
#: run's ``model`` and metrics ``mt``). Each prints with its floor or standard error
#: (:mod:`.quality`); keys absent from a run's metrics are skipped.
QUALITY = (
    ("cov_error", "covariance error",
     "relative Frobenius distance of the sample covariance from the exact Gaussian posterior's"),
    ("mean_error", "mean error",
     "distance of the sample mean from the exact posterior mean, in posterior s.d."),
    ("T_measured", "temperature",
     "tr(A C_hat)/M, the temperature the chain samples; expected = T_eff x the integrator's "
     "factor (Euler-Maruyama inflates a mode of curvature lambda by 1/(1 - h lambda/2), "
     "Leimkuhler-Matthews is exact on Gaussians)"),
    ("tv_u", "TV(u) vs exact",
     "largest total-variation distance of a marginal of u from grid quadrature (0 = equal, "
     "1 = disjoint)"),
    ("tv_s", "TV(s) vs exact",
     "the same for the codes s_i, their atom at zero included"),
    ("tv_s_vs_mala", "TV(s) vs MALA",
     "largest total-variation distance of a code's marginal from a MALA reference "
     "({mala_samples:.0f} samples, ESS {mala_ess:.0f}, acceptance {mala_acceptance:.2f})"),
    ("activity_error_vs_mala", "activity vs MALA",
     "largest |P(s_i != 0) circuit - P(s_i != 0) MALA| over the {M} units"),
    ("mean_error_vs_mala", "E[s] vs MALA",
     "largest |E[s_i] circuit - E[s_i] MALA| over the units, in the reference's s.d."),
    ("activity", "activity",
     "fraction of nonzero codes; the prior's pi = {pi:.3g} (equal on average over data drawn "
     "from the model, not for one input x)"),
)


def _quality_value(mt: dict, key: str) -> str:
    value = mt[key]
    if f"{key}_se" in mt:
        se = mt[f"{key}_se"]
        text = f"{value:.4f} +- {se:.4f}"
        if f"{key}_expected" in mt:
            exp = mt[f"{key}_expected"]
            text += f" (expected {exp:.4f}, z = {(value - exp) / se:+.1f})"
        return text
    if f"{key}_floor" in mt:
        floor = mt[f"{key}_floor"]
        return f"{value:.4f} (floor {floor:.4f}: {value / floor:.2f}x)"
    return f"{value:.4f}"


def quality_lines(res) -> list[str]:
    """The quality block of the summary: every figure computed, its floor or standard error,
    one line of meaning."""
    mt = res.metrics
    rows = [(label, _quality_value(mt, key), meaning) for key, label, meaning in QUALITY
            if key in mt]
    if not rows:
        return []
    fields = {**mt, "M": res.model.n_components, "pi": res.model.pi or float("nan")}
    lines = [f"  quality of the samples (value +- standard error, or its floor: what an exact "
             f"sampler shows at ESS {mt.get('ess', float('nan')):.0f}; a value near 1x its "
             f"floor is all noise):"]
    width = max(len(v) for _, v, _ in rows)
    for label, value, meaning in rows:
        lines.append(f"    {label:<17} {value:<{width}}  {meaning.format(**fields)}")
    for i in range(res.model.n_components):
        if f"zero_mass_{i}" in mt:
            lines.append(f"    P(s_{i} = 0)        {mt[f'zero_mass_{i}']:.4f} +- "
                         f"{mt.get(f'zero_mass_{i}_se', float('nan')):.4f} (exact "
                         f"{mt[f'zero_mass_exact_{i}']:.4f})")
    return lines


def learning_summary(data: dict) -> str:
    """Text summary of a learning run."""
    a, st, sn = data["attrs"], data["stats"], data["snapshots"]
    n = len(sn["t"])
    if n == 0:
        return (f"learning run: 0 snapshots: it stopped before its first snapshot "
                f"(backend {a.get('backend')}; complete: {bool(a.get('complete'))}"
                + (", interrupted" if a.get("interrupted") else "") + "); nothing learned is "
                "stored yet. `circuit-sim learn CONFIG --resume FILE` starts it again from the "
                "beginning.")
    lines = [f"learning run: {n} snapshots, last at t = {sn['t'][-1] * 1e6:.4g} us of circuit time "
             f"({int(sn['patches_seen'][-1])} patches); backend {a.get('backend')}, integrator "
             f"{a.get('integrator')}, dynamics {a.get('dynamics')}; complete: {bool(a.get('complete'))}"
             + ("  [INTERRUPTED]" if a.get("interrupted") else ""),
             f"  wall time {float(a.get('wall_time', float('nan'))):.1f} s"]
    last = slice(max(0, n - max(1, n // 5)), n)  # the last fifth of the run
    chips, chains, n_learn = int(a.get("chips", 1)), int(a.get("chains", 1)), learners(a)
    if chips * chains > 1:
        own = a.get("share", "chains") == "none"
        who = "learners" if own else "chips"
        lines.append(f"  ensemble: {chips} chip{'s' * (chips > 1)} x {chains} "
                     f"chain{'s' * (chains > 1)} in one network"
                     + (f"; every chain learns its own dictionary (learning.share = none): "
                        f"{n_learn} learners, the chains of a chip on the same patches" if own
                        else "; the chains of a chip share its plasticity, each on its own "
                        "patch (patches counted per chip)" if chains > 1 else "")
                     + (f"; one chip per seed (run.seeds = [{', '.join(map(str, a['seeds']))}]"
                        ": each its seed's devices, patches and starting dictionary)"
                        if "seeds" in a else "")
                     + (f"; every figure below is the median over {who} (10th-90th "
                        f"percentile across {who} in brackets)" if n_learn > 1 else ""))

    def show(values, fmt=".4f") -> str:
        """A statistic: one number, or with several chips their median and percentiles."""
        v = np.asarray(values, dtype=float)
        if v.ndim == 0:
            return format(float(v), fmt)
        p10, med, p90 = np.nanpercentile(v, [10, 50, 90])
        return f"{med:{fmt}} ({p10:{fmt}} to {p90:{fmt}})"

    def tail(name):
        return np.nanmean(np.asarray(st[name], dtype=float)[last], axis=0)

    u0 = np.asarray(sn["u0"][-1], dtype=float)
    lines.append(f"  activity (fraction of nonzero s), last fifth: {show(tail('activity'))}; "
                 f"mean u0 {show(np.mean(u0, axis=-1))}")
    lines.append(f"  reconstruction error |x - Phi s|^2 / N, last fifth: "
                 f"{show(tail('reconstruction_error'))}")
    lines.append(f"  KL(nonzero |s| histogram || slab prior), last fifth: "
                 f"{show(tail('kl_prior'))} nat")
    if data["true_dictionary"] is not None:
        lines.append(f"  dictionary recovery (best-match cosine, optimal assignment): mean "
                     f"{show(st['recovery_mean'][-1])}, min {show(st['recovery_min'][-1])}")
    return "\n".join(lines)
