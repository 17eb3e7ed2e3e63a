"""Text a user reads: the summary of an inference run and of a learning run."""

from __future__ import annotations

import numpy as np

from noise import format_si

from .. import __version__


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
             + ("  [INTERRUPTED]" if res.interrupted else "")]
    if "autocorrelation_time" in mt:
        lines.append(f"  autocorrelation time {format_si(mt['autocorrelation_time'], 's')} per "
                     f"effective sample (ESS {mt['ess']:.0f}; {mt['ess_per_second']:.4g} "
                     f"effective samples per second of circuit time)")
    if "power_total" in mt:
        lines.append(f"  power {format_si(mt['power_per_unit'], 'W')} per unit, "
                     f"{format_si(mt['power_total'], 'W')} total"
                     + (f"; energy per effective sample {format_si(mt['energy_per_sample'], 'J')}"
                        if "energy_per_sample" in mt else ""))
    if "cov_error" in mt:
        lines.append(f"  vs exact Gaussian posterior: covariance error (rel. Frobenius) "
                     f"{mt['cov_error']:.4f}, mean error {mt['mean_error']:.4f} (in posterior sd), "
                     f"measured temperature {mt['T_measured']:.4f}")
    if "tv_s" in mt:
        zm = ", ".join(f"{mt[f'zero_mass_{i}']:.3f} (exact {mt[f'zero_mass_exact_{i}']:.3f})"
                       for i in range(res.model.n_components))
        lines.append(f"  vs exact posterior (grid quadrature): TV(u) = {mt['tv_u']:.4f}, "
                     f"TV(s) = {mt['tv_s']:.4f}; P(s_i = 0) = {zm}")
    if "activity" in mt:
        lines.append(f"  activity (fraction of nonzero s) {mt['activity']:.4f}; prior pi = "
                     f"{res.model.pi:.4f}")
    return "\n".join(lines)


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
