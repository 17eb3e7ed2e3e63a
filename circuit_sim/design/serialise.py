"""A design written back as a config table: every default and derived value spelled out.

``resolved_dict(design)`` is what ``Config.to_toml()`` writes and every output file stores
as its ``config`` attribute: loading it again gives the same design (the drawn dictionary,
the automatic dt and strides written explicitly; units as SI strings that round-trip).
"""

from __future__ import annotations

_NOISE_UNITS = {"conductance": "S", "temperature": "K", "current": "A", "white_psd": "A^2/Hz",
                "corner_frequency": "Hz", "f_min": "Hz", "f_max": "Hz", "psd": "A^2/Hz",
                "flicker_corner": "Hz", "amplitude": "A", "rate": "Hz"}


def q(value: float, unit: str) -> str:
    """An exact quantity string (``repr`` round-trips) in the SI unit."""
    return f"{value!r} {unit}"


def _model(design) -> dict:
    m = design.config.model
    md = {"n_features": m.n_features, "n_components": m.n_components, "prior": m.prior}
    if m.prior == "laplace":
        md.update(lam=m.lam, u0=m.u0)  # pi = exp(-lam u0)
    else:
        md["prior_variance"] = m.prior_variance
    md.update(positive=m.positive, sigma=m.sigma)
    if not design.own_posteriors:
        md["dictionary"] = [list(map(float, row)) for row in design.model.dictionary]
    # else: a batch of seeds, each drawing its own dictionary from its seed (left drawn)
    return md


def _circuit(c) -> dict:
    cd = {"capacitance": q(c.capacitance, "F"), "transconductance": q(c.transconductance, "S"),
          "volts_per_unit": q(c.volts_per_unit, "V"), "temperature": q(c.temperature, "K"),
          "kappa": c.kappa}
    for key, unit in (("bias_current", "A"), ("supply_voltage", "V"), ("rail_voltage", "V"),
                      ("residual_time_constant", "s"), ("output_conductance", "S"),
                      ("supply_current", "A")):
        if getattr(c, key) is not None:
            cd[key] = q(getattr(c, key), unit)
    return cd


def _noise(entries) -> list:
    out = []
    for n in entries:
        nd = {"kind": n.kind, "name": n.name}
        for k, v in n.params:
            if v is not None:
                nd[k] = q(v, _NOISE_UNITS[k]) if k in _NOISE_UNITS else v
        out.append(nd)
    return out


def _input(i) -> dict:
    if i.kind == "fixed":
        return {"x": list(i.x)}
    ind = {"kind": i.kind, "n_patches": i.n_patches, "presentation": i.presentation,
           "hold": q(i.hold, "s")}
    for key in ("patch_size", "path", "data_pi", "data_lam", "data_sigma"):
        if getattr(i, key) is not None:
            ind[key] = getattr(i, key)
    return ind


def _run(design) -> dict:
    r, ts = design.config.run, design.timestep
    rd = {"duration": q(ts.duration, "s"), "dt": q(ts.dt, "s"),
          "record_every": q(ts.record_stride * ts.dt, "s"), "seed": r.seed,
          "backend": r.backend, "integrator": r.integrator, "crossbar": r.crossbar_mode}
    if r.u_init is not None:
        rd["u_init"] = list(r.u_init)
    if r.chains > 1:
        rd["chains"] = r.chains
    if r.seeds is not None:
        rd["seeds"] = list(r.seeds)
    return rd


def _learning(design) -> dict:
    lc = design.learning
    ld = {"dictionary_time_constant": q(lc.dictionary_time_constant, "s"),
          "normalise": lc.normalise, "normalise_strength": lc.normalise_strength}
    if lc.threshold_time_constant is not None:
        ld["threshold_time_constant"] = q(lc.threshold_time_constant, "s")
        ld["threshold"] = lc.threshold
    if lc.snapshot_every is not None:
        ld["snapshot_every"] = q(lc.snapshot_every, "s")
    ld["dynamics"] = lc.dynamics
    if lc.share != "chains":
        ld["share"] = lc.share
    ld["plasticity_dt"] = q(design.timestep.plasticity_stride * design.dt, "s")
    return ld


def resolved_dict(design) -> dict:
    """The design's configuration as a TOML-ready dict (units as strings)."""
    cfg = design.config
    out = {"model": _model(design), "input": _input(cfg.input), "circuit": _circuit(cfg.circuit),
           "noise": _noise(cfg.noise), "run": _run(design)}
    if cfg.learning is not None:
        out["learning"] = _learning(design)
    if cfg.mismatch is not None:
        out["mismatch"] = cfg.mismatch.resolved_dict()
    if cfg.weights is not None:
        out["weights"] = cfg.weights.resolved_dict()
    if cfg.transconductor is not None:
        t = cfg.transconductor
        out["transconductor"] = {"saturation_current": q(t.saturation_current, "A"),
                                 **({"linear_range": q(t.linear_range, "V")}
                                    if t.linear_range is not None else {}),
                                 **({"input_offset": q(t.input_offset, "V")}
                                    if t.input_offset else {}),
                                 **({"bandwidth": q(t.bandwidth, "Hz")}
                                    if t.bandwidth is not None else {})}
    if cfg.comparator is not None:
        out["comparator"] = cfg.comparator.resolved_dict()
    if cfg.wires is not None:
        out["crossbar"] = cfg.wires.resolved_dict()
    return out
