"""The reference of every config key: unit, default, range and meaning
(``circuit-sim config --describe``, ``docs/config.md``).

The machine facts (type, SI unit, default, allowed range or choices, the keys a table
accepts) are not written here: they are recorded from the parsers themselves
(:func:`.fields.recording`) while they read one example of every table and noise kind, so
the reference cannot drift from what the parser does. Only the one-line meanings are
written by hand (:data:`MEANINGS`); a test checks that every key the parser accepts has one
and that ``docs/config.md`` is this module's output.
"""

from __future__ import annotations

from noise.units import SI_SYMBOL

from . import fields, nonideal, sections

__all__ = ["MEANINGS", "reference_rows", "describe"]

#: One line per key: what it means (the unit, default and range come from the parser).
MEANINGS = {
    "model.n_features": "N, inputs per patch (pixels); required",
    "model.n_components": "M, latent units (capacitor nodes); required",
    "model.prior": "prior on u: spike-and-slab via the soft threshold, or Gaussian",
    "model.lam": "Laplace rate lambda of the slab, exp(-lam |u|)",
    "model.pi": "prior probability that a code is nonzero; sets u0 = -ln(pi) / lam (give pi or u0)",
    "model.u0": "soft threshold u0 (s = 0 for |u| <= u0); default from pi, else 0",
    "model.prior_variance": "variance of each u_i under the Gaussian prior",
    "model.positive": "non-negative codes s = max(|u| - u0, 0)",
    "model.sigma": "observation noise s.d. of x = Phi s + noise",
    "model.dictionary": "Phi as N rows of M numbers; absent: unit-norm random columns drawn from run.seed",
    "input.x": "the one input vector (N numbers) for kind = fixed; required then",
    "input.kind": "fixed input, or a stream of patches: bars (drawn from the model), file, images",
    "input.n_patches": "patches in a stream (with run.chains = K: presentations of K patches, one per chain); required for a stream",
    "input.presentation": "each patch held for hold exactly, or for an exponential time of mean hold",
    "input.hold": "time each patch of a stream is presented; required for a stream",
    "input.path": "patches file (.npy or HDF5 'patches', (K, N)) or Olshausen's IMAGES.mat",
    "input.patch_size": "side p of square patches (p * p = n_features) for bars and images",
    "input.data_pi": "bars: activity of the generating model (default model.pi)",
    "input.data_lam": "bars: Laplace rate of the generating model (default model.lam)",
    "input.data_sigma": "bars: observation noise of the generating model (default model.sigma)",
    "circuit.capacitance": "node capacitance C of a latent unit; required",
    "circuit.transconductance": "G_m of the unit's transconductor (tau_u = C / G_m); default from bias_current",
    "circuit.volts_per_unit": "V_u, node voltage per unit of u (v = V_u u); required",
    "circuit.temperature": "device temperature (thermal noise, subthreshold G_m)",
    "circuit.bias_current": "bias current per unit: power, default shot-noise current, subthreshold G_m = kappa I_b / U_T",
    "circuit.supply_voltage": "supply; power per unit = bias_current x supply_voltage",
    "circuit.kappa": "subthreshold slope factor",
    "circuit.rail_voltage": "node voltages saturate at |v| <= rail_voltage; absent: no rails",
    "circuit.residual_time_constant": "tau_r of the residual nodes (tau_r dr/dt = -r + x - Phi s); absent: instantaneous",
    "noise.kind": "thermal, shot, flicker, injected, measured, common or rtn (one [[noise]] table per source)",
    'noise (kind = "rtn").name': "label in the budget (default: the kind)",
    'noise (kind = "rtn").amplitude': "random telegraph noise: the current step between the trap's two states (one process per unit)",
    'noise (kind = "rtn").rate': "switching rate each way; the PSD is a Lorentzian with corner rate / pi",
    'noise (kind = "common").name': "label in the budget (default: the kind)",
    'noise (kind = "common").psd': "white current noise every node receives as one shared waveform (supply, substrate coupling)",
    'noise (kind = "thermal").name': "label in the budget (default: the kind)",
    'noise (kind = "thermal").conductance': "conductance whose 4 k T gamma G noise it is; default the transconductor's G_m",
    'noise (kind = "thermal").gamma': "excess noise factor (2/3 strong inversion, 1 here by default)",
    'noise (kind = "thermal").temperature': "its temperature; default circuit.temperature",
    'noise (kind = "shot").name': "label in the budget (default: the kind)",
    'noise (kind = "shot").current': "DC current whose 2 q I shot noise it is; default circuit.bias_current",
    'noise (kind = "shot").branches': "independent branches carrying that current (PSD x branches)",
    'noise (kind = "flicker").name': "label in the budget (default: the kind)",
    'noise (kind = "flicker").white_psd': "white level S_w the 1/f part is referred to",
    'noise (kind = "flicker").corner_frequency': "f_c where the 1/f part equals white_psd: S(f) = S_w f_c / f",
    'noise (kind = "flicker").f_min': "lowest frequency of the synthesised 1/f band (default: from the run's length)",
    'noise (kind = "flicker").f_max': "highest frequency of the 1/f band (default: the corner)",
    'noise (kind = "flicker").poles_per_decade': "relaxation processes per decade summed to make 1/f",
    'noise (kind = "injected").name': "label in the budget (default: the kind)",
    'noise (kind = "injected").psd': "an injected (amplified) white current noise PSD; give psd or fill_to",
    'noise (kind = "injected").fill_to': "top the total noise up to this T_eff (the PSD is computed)",
    'noise (kind = "measured").name': "label in the budget (default: the kind); its 1/f part is '<name> 1/f'",
    'noise (kind = "measured").white_psd': "white floor of a cell's output current noise (e.g. from ngspice .noise; circuit-sim characterize)",
    'noise (kind = "measured").flicker_corner': "where its 1/f part equals the floor; absent: white only",
    'noise (kind = "measured").f_min': "lowest frequency of the synthesised band (1/f: default the lower of 1e-3 / (2 pi tau_u) and 1e-3 f_max; spectrum: 1e-5 G_m / (4 C))",
    'noise (kind = "measured").f_max': "highest frequency of the band (1/f: default 10 x flicker_corner; spectrum: 2 G_m / (4 C))",
    'noise (kind = "measured").poles_per_decade': "relaxation processes per decade (default 2 for 1/f, 3 for a spectrum)",
    'noise (kind = "measured").spectrum_f': "a tabulated output noise spectrum (instead of white_psd): frequencies in Hz, increasing (>= 8; characterize writes ngspice's)",
    'noise (kind = "measured").spectrum_psd': "its one-sided PSD in A^2/Hz at spectrum_f; fitted as white + low-pass + high-pass Lorentzian currents (noise.SpectrumNoise)",
    "circuit.output_conductance": "G_o of the transconductor's output: a leak -G_o v at the node (adds (G_o/G_m) u^2/2 to the energy); absent: ideal",
    "circuit.supply_current": "total supply current of a unit (a characterised cell's); power = supply_current x supply_voltage",
    "transconductor.saturation_current": "I_max: the force current is I_max tanh(G_m V_u F / I_max); required with [transconductor]",
    "transconductor.linear_range": "V_L of the fit I_max tanh(dv / V_L); checked against G_m = I_max / V_L (10%)",
    "transconductor.bandwidth": "where the cell's |G_m(f)| is down 3 dB (characterize); not simulated: a warning when the node's fastest rate comes within 3x of it",
    "transconductor.input_offset": "input offset V_os (either sign): I = I_max tanh(G_m (V_u F - V_os) / I_max); characterize writes the fit's dv_0",
    "comparator.gain": "open-loop gain A (V/V) of the threshold's comparators; with swing, width = swing / (4 A)",
    "comparator.swing": "the comparators' output swing (with gain)",
    "comparator.width": "transition width V_w of each comparator's sigmoid (instead of gain and swing): s = h_w(u), w = V_w / V_u",
    "comparator.offset": "systematic offset of the comparators (either sign): u0 -> u0 + offset / V_u",
    "crossbar.wire_resistance": "resistance of the row and column wires per cell pitch: IR drop, solved exactly (static weights)",
    "crossbar.row_resistance": "resistance of a row wire (residual node's) per cell pitch (with column_resistance, instead of wire_resistance)",
    "crossbar.column_resistance": "resistance of a column wire (latent output's) per cell pitch",
    "run.duration": "circuit time simulated; required for a fixed input (absent: one pass over a stream)",
    "run.dt": "integration step; absent: chosen from lambda_max and the integrator (see summary)",
    "run.record_every": "interval between recorded samples; absent: every step up to a memory cap",
    "run.seed": "the one seed of every random stream (noise, draws, data)",
    "run.backend": "Brian2 code generation: numpy (no compiler), cython, or standalone C++",
    "run.integrator": "Euler-Maruyama, or Leimkuhler-Matthews (exact stationary variance on Gaussians)",
    "run.u_init": "initial u (M numbers); absent: the MAP estimate",
    "run.crossbar": "crossbar products: Brian2 summed variables, a dense kernel, or auto (dense for an ensemble)",
    "run.chains": "independent chains of the chip in one network (shared weights, own noise; pooled metrics; on a stream each its own patch, learning as one batch)",
    "run.seeds": "a batch of runs in one network, one chip per seed: chip q's devices are its seed's draw (as run alone with run.seed = seeds[q]), the noise the network's; without a given model.dictionary each seed draws its own (its own posterior, or starting point when learning); on a stream (learning or not) each seed presents its own patches, and the presentation must be synchronous (sweeps make these batches themselves)",
    "run.force": "run although the cost estimate says it will not fit (as --force)",
    "run.time_limit": "refuse runs estimated to take longer (default 12 h)",
    "run.checkpoint_every": "standalone learning: at most this much wall time between saved snapshots (default 30 s)",
    "learning.dictionary_time_constant": "tau_Phi of the dictionary's plasticity; required with [learning]",
    "learning.threshold_time_constant": "tau_u0 of threshold learning; absent: u0 fixed",
    "learning.normalise": "continuous-time column normalisation (the gamma term)",
    "learning.normalise_strength": "gamma of the normalisation",
    "learning.snapshot_every": "circuit time between saved snapshots",
    "learning.dynamics": "inference during learning: Langevin sampling, MAP descent (T = 0) or LCA",
    "learning.plasticity_dt": "step of the plasticity equation (a whole multiple of dt) or \"auto\"",
    "learning.threshold": "one learned u0 per unit, or one shared by all units",
    "learning.share": "with run.chains > 1: \"chains\", the chains of a chip share its plasticity (each its own patch, the average r s^T); \"none\", each chain learns its own dictionary and thresholds on the chip's patches",
    "mismatch.gm_sigma": "relative s.d. of each unit's G_m",
    "mismatch.c_sigma": "relative s.d. of each unit's C",
    "mismatch.threshold_offset_sigma": "s.d. of each unit's comparator offset (moves u0_j)",
    "mismatch.transconductor_offset_sigma": "s.d. of each unit's transconductor input offset V_os,j (force current G_m,j (V_u F - V_os,j))",
    "mismatch.weight_gain_sigma": "relative s.d. of each synapse's gain",
    "mismatch.weight_offset_sigma": "s.d. of each synapse's offset, in units of Phi",
    "mismatch.A_VT": "Pelgrom threshold coefficient (e.g. \"3.5 mV um\"): sigma_VT = A_VT / sqrt(W L)",
    "mismatch.A_beta": "Pelgrom current-factor coefficient (e.g. \"1 % um\")",
    "mismatch.width": "transistor width W for the Pelgrom coefficients",
    "mismatch.length": "transistor length L for the Pelgrom coefficients",
    "mismatch.chips": "chips with independent device draws simulated together (a mismatch Monte Carlo in one network)",
    "mismatch.first_chip": "index of the first chip (chip k's draw is the same alone or in a batch)",
    "weights.bits": "resolution: 2^bits - 1 conductance levels spanning [-range, range]",
    "weights.range": "full scale of |Phi|",
    "weights.rounding": "re-quantisation after each plasticity step: nearest or stochastic",
    "weights.retention_time": "stored weights leak to zero with this time constant; absent: no leak",
    "weights.drift_sigma": "s.d. of each synapse's fixed drift rate dPhi/dt (Phi per second)",
}


def _examples():
    """One example of every table and noise kind, each read by its own parser."""
    yield sections.ModelConfig.from_dict, ({"n_features": 4, "n_components": 2, "pi": 0.3},)
    yield sections.ModelConfig.from_dict, ({"n_features": 4, "n_components": 2, "u0": 1.0},)
    yield sections.InputConfig.from_dict, ({"x": [0.0] * 4}, 4)
    yield sections.InputConfig.from_dict, ({"kind": "bars", "n_patches": 1, "hold": "1 us"}, 4)
    yield sections.InputConfig.from_dict, ({"kind": "file", "n_patches": 1, "hold": "1 us",
                                            "path": "patches.npy"}, 4)
    yield sections.CircuitConfig.from_dict, ({"capacitance": "1 fF", "volts_per_unit": "10 mV",
                                              "transconductance": "1 uS"},)
    for i, n in enumerate([{"kind": "thermal"}, {"kind": "shot", "current": "1 nA"},
                           {"kind": "flicker", "white_psd": "1e-24 A^2/Hz",
                            "corner_frequency": "1 MHz"}, {"kind": "injected", "fill_to": 1.0},
                           {"kind": "measured", "white_psd": "1e-24 A^2/Hz"},
                           {"kind": "measured", "spectrum_f": [float(10 ** k) for k in range(8)],
                            "spectrum_psd": [1e-24] * 8},
                           {"kind": "common", "psd": "1e-24 A^2/Hz"},
                           {"kind": "rtn", "amplitude": "1 nA", "rate": "1 MHz"}]):
        yield sections.NoiseConfig.from_dict, (n, i)
    yield sections.RunConfig.from_dict, ({"duration": "1 us"},)
    yield sections.LearningConfig.from_dict, ({"dictionary_time_constant": "1 us",
                                               "plasticity_dt": "1 ns"},)
    yield nonideal.MismatchConfig.from_dict, ({"gm_sigma": 0.01},)
    yield nonideal.WeightConfig.from_dict, ({"bits": 4},)
    yield nonideal.TransconductorConfig.from_dict, ({"saturation_current": "60 nA"}, 1e-6)
    yield nonideal.ComparatorConfig.from_dict, ({"gain": 100, "swing": "1 V", "offset": "1 mV"},)
    yield nonideal.ComparatorConfig.from_dict, ({"width": "1 mV"},)
    yield nonideal.CrossbarConfig.from_dict, ({"wire_resistance": "1 ohm"},)
    yield nonideal.CrossbarConfig.from_dict, ({"row_resistance": "1 ohm",
                                               "column_resistance": "1 ohm"},)


def reference_rows() -> list[dict]:
    """Every key the parsers accept, in file order: ``table``, ``key``, ``type``, ``unit``,
    ``default``, ``range``, ``meaning``."""
    with fields.recording() as rec:
        for parse, args in _examples():
            parse(*args)
    rows = []
    for label, keys in rec["labels"].items():
        if label == "config" or label.startswith("noise[") or label == "noise":
            continue
        if label.startswith("noise ") and not any(r["table"] == "noise" for r in rows):
            rows.append(_row(rec, "noise", "kind"))
        for key in keys:
            if label.startswith("noise ") and key == "kind":
                continue
            rows.append(_row(rec, label, key))
    return rows


def _row(rec, label: str, key: str) -> dict:
    spec = rec["fields"].get((label, key), {})
    kind = spec.get("kind", "text" if key in ("name", "path") else "list")
    unit = ""
    if kind == "quantity":
        dim = spec["dimension"]
        unit = SI_SYMBOL.get(dim) or {"voltage x length": "V m", "fraction x length": "m"}[dim]
    rng = ""
    if "choices" in spec:
        rng = ", ".join(f'"{c}"' for c in spec["choices"])
    elif spec.get("low") is not None or spec.get("high") is not None:
        lo, hi = spec.get("low"), spec.get("high")
        lo_s = "" if lo is None else f"{'>' if spec.get('low_open') else '>='} {lo:g}"
        hi_s = "" if hi is None else f"<= {hi:g}"
        rng = ", ".join(x for x in (lo_s, hi_s) if x)
    default = spec.get("default")
    return {"table": label, "key": key, "type": kind, "unit": unit,
            "default": "" if default is None else (str(default).lower()
                                                   if isinstance(default, bool) else str(default)),
            "range": rng, "meaning": MEANINGS.get(f"{label}.{key}", "")}


def describe(section: str | None = None) -> str:
    """The reference as Markdown tables, one per table of the file (``section``: only the
    tables whose name starts with it)."""
    rows = [r for r in reference_rows() if section is None or r["table"].startswith(section)]
    out = ["# Config reference", "",
           "Every key of a config file: quantities are strings with a unit (`\"10 fF\"`, "
           "`\"1 uS\"`; stored in SI), numbers are plain. Generated from the parsers by "
           "`circuit-sim config --describe` (the unit, default and range are what the parser "
           "checks; an empty default means none: the key is required where its meaning says "
           "so, otherwise the feature is off or derived as said).", ""]
    table = None
    for r in rows:
        if r["table"] != table:
            table = r["table"]
            head = f"[[noise]] {table[6:]}" if table.startswith("noise ") else \
                "[[noise]]" if table == "noise" else f"[{table}]"
            out += ["", f"## {head}", "", "| key | type | SI unit | default | range | meaning |",
                    "|---|---|---|---|---|---|"]
        cells = [f"`{r['key']}`"] + [r[k].replace("|", "\\|") for k in
                                     ("type", "unit", "default", "range", "meaning")]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
