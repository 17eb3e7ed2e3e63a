"""The sections of a config file, each parsed once into a frozen dataclass of SI floats.

``[model]``, ``[input]``, ``[circuit]``, ``[[noise]]``, ``[run]`` and ``[learning]`` (the
non-idealities ``[mismatch]`` and ``[weights]`` are in :mod:`.nonideal`). Each
``from_dict`` reads one TOML table, fills in its documented defaults and raises
:class:`~circuit_sim.errors.ConfigError` for a bad field. Nothing here derives physics across
sections: that is :func:`circuit_sim.design.resolve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import models
import noise

from ..errors import ConfigError
from .fields import _note, check_keys, choice, flag, number, quantity

BACKENDS = ("numpy", "cython", "standalone")
INTEGRATORS = ("euler", "leimkuhler_matthews")
CROSSBAR_MODES = ("auto", "summed", "dense")
NOISE_KINDS = ("thermal", "shot", "flicker", "injected", "measured", "common", "rtn")


@dataclass(frozen=True)
class ModelConfig:
    """The dimensionless sparse-coding model (SPEC section 2).

    ``dictionary`` is ``None`` when the file gives none; it is then drawn from the
    run's seed (unit-norm random columns) by :meth:`Config.build_model`.
    """

    n_features: int
    n_components: int
    prior: str = "laplace"
    lam: float = 1.0
    u0: float = 0.0
    prior_variance: float = 1.0
    positive: bool = False
    sigma: float = 0.5
    dictionary: tuple | None = None  # N rows of M floats

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        w = "model"
        check_keys(d, ("n_features", "n_components", "prior", "lam", "pi", "u0",
                        "prior_variance", "positive", "sigma", "dictionary"), w)
        for key in ("n_features", "n_components"):
            if key not in d:
                raise ConfigError(f"{w}.{key}", "a positive integer (required)", None)
        n = number(d, "n_features", w, low=1, integer=True)
        m = number(d, "n_components", w, low=1, integer=True)
        prior = choice(d, "prior", ("laplace", "gaussian"), w, "laplace")
        lam = number(d, "lam", w, 1.0, low=0, low_open=True)
        sigma = number(d, "sigma", w, 0.5, low=0, low_open=True)
        prior_variance = number(d, "prior_variance", w, 1.0, low=0, low_open=True)
        positive = flag(d, "positive", w)
        if "pi" in d and "u0" in d:
            raise ConfigError(f"{w}.pi", "either pi or u0, not both", d["pi"])
        u0 = 0.0
        if "pi" in d:
            pi = number(d, "pi", w, low=0, high=1, low_open=True)
            u0 = models.u0_from_pi(lam, pi)
        elif "u0" in d:
            u0 = number(d, "u0", w, low=0)
        if prior == "gaussian":
            for key in ("pi", "u0"):
                if key in d and not (key == "pi" and d[key] == 1) and not (key == "u0" and d[key] == 0):
                    raise ConfigError(f"{w}.{key}", "no threshold with prior = \"gaussian\" "
                                      "(the Gaussian model has u0 = 0)", d[key])
            if positive:
                raise ConfigError(f"{w}.positive", "false with prior = \"gaussian\"", positive)
        dictionary = None
        if "dictionary" in d:
            try:
                arr = np.asarray(d["dictionary"], dtype=float)
            except (TypeError, ValueError):
                raise ConfigError(f"{w}.dictionary", f"{n} rows of {m} numbers", d["dictionary"]) from None
            if arr.shape != (n, m):
                raise ConfigError(f"{w}.dictionary",
                                  f"{n} rows of {m} numbers (shape (n_features, n_components) = "
                                  f"({n}, {m}))", f"shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ConfigError(f"{w}.dictionary", "finite numbers", "non-finite entries")
            dictionary = tuple(tuple(float(v) for v in row) for row in arr)
        return cls(n, m, prior, lam, u0, prior_variance, positive, sigma, dictionary)

    @property
    def pi(self) -> float:
        return models.pi_from_u0(self.lam, self.u0) if self.prior == "laplace" else 1.0


@dataclass(frozen=True)
class InputConfig:
    """The data presented to the circuit.

    ``kind = "fixed"`` (the default when ``x`` is given): one input vector ``x`` (N,),
    presented for the whole run. Otherwise a stream of ``n_patches`` patches, each held
    for ``hold`` (``synchronous``) or for an exponential time of mean ``hold``
    (``poisson``): ``bars`` (drawn from the model; ``data_pi``, ``data_lam``,
    ``data_sigma`` default to the model's), ``file`` (``path``: .npy or HDF5 ``patches``,
    (K, N)) or ``images`` (whitened natural-image patches of ``patch_size``; ``path`` to
    Olshausen's IMAGES.mat, else photographs shipped with scikit-image).
    """

    x: tuple | None = None
    kind: str = "fixed"
    n_patches: int | None = None
    presentation: str = "synchronous"
    hold: float | None = None
    path: str | None = None
    patch_size: int | None = None
    data_pi: float | None = None
    data_lam: float | None = None
    data_sigma: float | None = None

    KINDS = ("fixed", "bars", "file", "images")

    @classmethod
    def from_dict(cls, d: dict, n_features: int) -> "InputConfig":
        w = "input"
        check_keys(d, ("x", "kind", "n_patches", "presentation", "hold", "path", "patch_size",
                        "data_pi", "data_lam", "data_sigma"), w)
        kind = choice(d, "kind", cls.KINDS, w, "fixed")
        if kind == "fixed":
            if "x" not in d:
                raise ConfigError("input.x", f"a list of {n_features} numbers (required), or "
                                  "input.kind = \"bars\" | \"file\" | \"images\"", None)
            try:
                arr = np.asarray(d["x"], dtype=float)
            except (TypeError, ValueError):
                raise ConfigError("input.x", f"a list of {n_features} numbers", d["x"]) from None
            if arr.shape != (n_features,):
                raise ConfigError("input.x", f"a list of model.n_features = {n_features} numbers",
                                  d["x"])
            if not np.all(np.isfinite(arr)):
                raise ConfigError("input.x", "finite numbers", d["x"])
            return cls(tuple(float(v) for v in arr))
        if "n_patches" not in d:
            raise ConfigError(f"{w}.n_patches", "a positive integer (required for a stream)", None)
        n_patches = number(d, "n_patches", w, low=1, integer=True)
        presentation = choice(d, "presentation", ("synchronous", "poisson"), w, "synchronous")
        if "hold" not in d:
            raise ConfigError(f"{w}.hold", "a time (required for a stream), e.g. \"200 ns\"", None)
        hold = quantity(d, "hold", "time", w)
        path = d.get("path")
        if path is not None and not isinstance(path, str):
            raise ConfigError(f"{w}.path", "a file path (string)", path)
        if kind == "file" and path is None:
            raise ConfigError(f"{w}.path", "a .npy or HDF5 file of patches (required)", None)
        side = int(round(math.sqrt(n_features)))
        patch_size = None
        if kind in ("bars", "images"):
            patch_size = number(d, "patch_size", w, side, low=2, integer=True)
        if kind in ("bars", "images") and patch_size * patch_size != n_features:
            raise ConfigError(f"{w}.patch_size", f"a patch side p with p*p = model.n_features = "
                              f"{n_features}", patch_size)
        return cls(None, kind, n_patches, presentation, hold, path, patch_size,
                   number(d, "data_pi", w, low=0, high=1, low_open=True),
                   number(d, "data_lam", w, low=0, low_open=True),
                   number(d, "data_sigma", w, low=0))


@dataclass(frozen=True)
class CircuitConfig:
    """Physical design point of one latent unit (all SI floats).

    Attributes
    ----------
    capacitance : float
        Node capacitance ``C`` in F.
    transconductance : float
        ``G_m`` in S; if the file gives only ``bias_current``, the subthreshold value
        ``kappa * I_b / U_T`` is used.
    volts_per_unit : float
        ``V_u`` in V: node voltage per unit of the dimensionless ``u``.
    temperature : float
        Device temperature in K (default for thermal noise sources).
    bias_current : float or None
        Bias current per unit in A (for power and as the default shot-noise current).
    supply_voltage : float or None
        Supply in V (power per unit = bias_current * supply_voltage).
    kappa : float
        Subthreshold slope factor.
    rail_voltage : float or None
        Node voltages saturate at the supply rails ``|v| <= rail_voltage`` (V); None: no rails.
    residual_time_constant : float or None
        ``tau_r`` in s: the residual nodes have finite bandwidth,
        ``tau_r dr/dt = -r + x - Phi s`` (None: instantaneous, ``r = x - Phi s``).
    output_conductance : float or None
        ``G_o`` in S: the transconductor's finite output conductance, a leak ``-G_o v`` at the
        node (``G_o / G_m`` adds ``u^2 / 2`` to the energy). None: ideal (0).
    supply_current : float or None
        Total supply current of a unit in A (a characterised cell's); power per unit =
        ``supply_current * supply_voltage`` (it wins over ``bias_current`` for power).
    """

    capacitance: float
    transconductance: float
    volts_per_unit: float
    temperature: float = 300.0
    bias_current: float | None = None
    supply_voltage: float | None = None
    kappa: float = 0.7
    transconductance_from_bias: bool = False
    rail_voltage: float | None = None
    residual_time_constant: float | None = None
    output_conductance: float | None = None
    supply_current: float | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "CircuitConfig":
        w = "circuit"
        check_keys(d, ("capacitance", "transconductance", "volts_per_unit", "temperature",
                        "bias_current", "supply_voltage", "kappa", "rail_voltage",
                        "residual_time_constant", "output_conductance", "supply_current"), w)
        for key in ("capacitance", "volts_per_unit"):
            if key not in d:
                raise ConfigError(f"{w}.{key}", "a value with a unit (required)", None)
        c = quantity(d, "capacitance", "capacitance", w)
        vu = quantity(d, "volts_per_unit", "voltage", w)
        temp = quantity(d, "temperature", "temperature", w, "300 K")
        ib = quantity(d, "bias_current", "current", w)
        vdd = quantity(d, "supply_voltage", "voltage", w)
        kappa = number(d, "kappa", w, 0.7, low=0, high=1, low_open=True)
        gm = quantity(d, "transconductance", "conductance", w)
        from_bias = False
        if gm is None:
            if ib is None:
                raise ConfigError(f"{w}.transconductance",
                                  "a conductance (e.g. \"1 uS\"), or circuit.bias_current to "
                                  "derive the subthreshold G_m = kappa I_b / U_T", None)
            gm = noise.subthreshold_transconductance(ib, kappa=kappa, temperature=temp)
            from_bias = True
        rail = quantity(d, "rail_voltage", "voltage", w)
        tau_r = quantity(d, "residual_time_constant", "time", w)
        g_o = quantity(d, "output_conductance", "conductance", w, allow_zero=True)
        i_sup = quantity(d, "supply_current", "current", w)
        return cls(c, gm, vu, temp, ib, vdd, kappa, from_bias, rail, tau_r,
                   g_o or None, i_sup)

    @property
    def tau_u(self) -> float:
        """Time constant of a unit, ``C / G_m``, in s."""
        return self.capacitance / self.transconductance


def _spectrum_list(d: dict, key: str, where: str, unit: str) -> tuple:
    _note(where, key, kind="list", default=None)
    v = d[key]
    if (not isinstance(v, list) or len(v) < 8
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
        raise ConfigError(f"{where}.{key}", f"a list of >= 8 numbers in {unit} (SI)",
                          v if not isinstance(v, list) else f"{len(v)} entries")
    return tuple(float(x) for x in v)


def _measured_params(d: dict, w: str) -> dict:
    """A ``measured`` entry: a white floor (and 1/f corner), or a tabulated spectrum
    (``spectrum_f`` in Hz, ``spectrum_psd`` in A^2/Hz; :class:`noise.SpectrumNoise`)."""
    p = {}
    if "spectrum_f" in d or "spectrum_psd" in d:
        for key in ("spectrum_f", "spectrum_psd"):
            if key not in d:
                raise ConfigError(f"{w}.{key}", "spectrum_f (Hz) and spectrum_psd (A^2/Hz) "
                                  "together", None)
        for key in ("white_psd", "flicker_corner"):
            if key in d:
                raise ConfigError(f"{w}.{key}", "no white_psd or flicker_corner with a "
                                  "tabulated spectrum (it is fitted from the table)", d[key])
        p["spectrum_f"] = _spectrum_list(d, "spectrum_f", w, "Hz")
        p["spectrum_psd"] = _spectrum_list(d, "spectrum_psd", w, "A^2/Hz")
        if len(p["spectrum_f"]) != len(p["spectrum_psd"]):
            raise ConfigError(f"{w}.spectrum_psd", f"as many values as spectrum_f "
                              f"({len(p['spectrum_f'])})", f"{len(p['spectrum_psd'])}")
    elif "white_psd" not in d:
        raise ConfigError(f"{w}.white_psd", "a PSD (required), e.g. \"3e-26 A^2/Hz\", or "
                          "spectrum_f and spectrum_psd", None)
    else:
        p["white_psd"] = quantity(d, "white_psd", "current_psd", w, allow_zero=True)
        p["flicker_corner"] = quantity(d, "flicker_corner", "frequency", w)
    p["f_min"] = quantity(d, "f_min", "frequency", w)
    p["f_max"] = quantity(d, "f_max", "frequency", w)
    p["poles_per_decade"] = number(d, "poles_per_decade", w, None, low=0, low_open=True)
    return p


@dataclass(frozen=True)
class NoiseConfig:
    """One ``[[noise]]`` entry, as parsed (SI floats); :mod:`circuit_sim.design.noise` makes the
    source object."""

    kind: str
    name: str
    params: tuple  # (key, SI value) pairs
    index: int = 0  # position in the file's [[noise]] list

    def get(self, key, default=None):
        return dict(self.params).get(key, default)

    @property
    def where(self) -> str:
        """The entry's name in messages: ``noise[<index>]``."""
        return f"noise[{self.index}]"

    @classmethod
    def from_dict(cls, d: dict, index: int) -> "NoiseConfig":
        w = f"noise[{index}]"
        if not isinstance(d, dict):
            raise ConfigError(w, "a [[noise]] table (kind = ..., ...)", d)
        if "kind" not in d:
            raise ConfigError(f"{w}.kind", "one of " + ", ".join(repr(k) for k in NOISE_KINDS), None)
        kind = choice(d, "kind", NOISE_KINDS, w, None)
        name = d.get("name", kind)
        if not isinstance(name, str):
            raise ConfigError(f"{w}.name", "a string", name)
        p = {}
        if kind == "thermal":
            check_keys(d, ("kind", "name", "conductance", "gamma", "temperature"), w)
            p["conductance"] = quantity(d, "conductance", "conductance", w)
            p["gamma"] = number(d, "gamma", w, 1.0, low=0, low_open=True)
            p["temperature"] = quantity(d, "temperature", "temperature", w)
        elif kind == "shot":
            check_keys(d, ("kind", "name", "current", "branches"), w)
            p["current"] = quantity(d, "current", "current", w)
            p["branches"] = number(d, "branches", w, 1, low=1, integer=True)
        elif kind == "flicker":
            check_keys(d, ("kind", "name", "white_psd", "corner_frequency", "f_min", "f_max",
                            "poles_per_decade"), w)
            if "corner_frequency" not in d:
                raise ConfigError(f"{w}.corner_frequency", "a frequency (required), e.g. \"10 kHz\"",
                                  None)
            p["white_psd"] = quantity(d, "white_psd", "current_psd", w)
            p["corner_frequency"] = quantity(d, "corner_frequency", "frequency", w)
            p["f_min"] = quantity(d, "f_min", "frequency", w)
            p["f_max"] = quantity(d, "f_max", "frequency", w)
            p["poles_per_decade"] = number(d, "poles_per_decade", w, 2.0, low=0, low_open=True)
        elif kind == "rtn":
            check_keys(d, ("kind", "name", "amplitude", "rate"), w)
            for key, example in (("amplitude", "\"1 nA\""), ("rate", "\"1 MHz\"")):
                if key not in d:
                    raise ConfigError(f"{w}.{key}", f"a value (required), e.g. {example}", None)
            p["amplitude"] = quantity(d, "amplitude", "current", w)
            p["rate"] = quantity(d, "rate", "frequency", w)
        elif kind == "common":
            check_keys(d, ("kind", "name", "psd"), w)
            if "psd" not in d:
                raise ConfigError(f"{w}.psd", "a PSD (required), e.g. \"1e-24 A^2/Hz\"", None)
            p["psd"] = quantity(d, "psd", "current_psd", w, allow_zero=True)
        elif kind == "measured":
            check_keys(d, ("kind", "name", "white_psd", "flicker_corner", "f_min", "f_max",
                            "poles_per_decade", "spectrum_f", "spectrum_psd"), w)
            p.update(_measured_params(d, w))
        else:  # injected
            check_keys(d, ("kind", "name", "psd", "fill_to"), w)
            if ("psd" in d) == ("fill_to" in d):
                raise ConfigError(f"{w}.psd", "exactly one of psd (A^2/Hz) or fill_to (a target "
                                  "T_eff)", {k: d[k] for k in ("psd", "fill_to") if k in d})
            p["psd"] = quantity(d, "psd", "current_psd", w, allow_zero=True)
            p["fill_to"] = number(d, "fill_to", w, low=0, low_open=True)
        return cls(kind, name, tuple(p.items()), index)


@dataclass(frozen=True)
class RunConfig:
    """Simulation controls. ``dt = None`` means: choose from ``lambda_max`` (see :func:`resolve_dt`)."""

    duration: float
    dt: float | None = None
    record_every: float | None = None
    seed: int = 1
    backend: str = "numpy"
    integrator: str = "euler"
    u_init: tuple | None = None
    crossbar: str = "auto"
    #: independent chains of one chip simulated together in one network (an ensemble)
    chains: int = 1
    #: guards, not part of the design (not written to the resolved config, they change no
    #: number a run computes): refuse a run expected to take longer than ``time_limit`` of
    #: wall time or more memory than the machine has, unless ``force`` (``--force``); a
    #: standalone learning run writes its snapshots at least every ``checkpoint_every`` of
    #: wall time (or every snapshot interval, if one takes longer), so a crash loses at most that
    force: bool = False
    time_limit: float = 12 * 3600.0
    checkpoint_every: float = 30.0
    #: a batch of runs in one network, one chip per seed (its devices drawn with that seed;
    #: design.ensemble); None: one run of ``seed``
    seeds: tuple | None = None

    @property
    def crossbar_mode(self) -> str:
        """``summed`` or ``dense``; ``auto`` is dense on standalone, summed on runtime backends."""
        if self.crossbar != "auto":
            return self.crossbar
        return "dense" if self.backend == "standalone" or self.chains > 1 else "summed"

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        w = "run"
        check_keys(d, ("duration", "dt", "record_every", "seed", "backend", "integrator",
                        "u_init", "crossbar", "chains", "force", "time_limit", "checkpoint_every",
                        "seeds"), w)
        duration = quantity(d, "duration", "time", w)  # None: one pass over a stream
        dt = quantity(d, "dt", "time", w)
        rec = quantity(d, "record_every", "time", w)
        seed = number(d, "seed", w, 1, low=0, integer=True)
        backend = choice(d, "backend", BACKENDS, w, "numpy")
        integrator = choice(d, "integrator", INTEGRATORS, w, "euler")
        crossbar = choice(d, "crossbar", CROSSBAR_MODES, w, "auto")
        chains = number(d, "chains", w, 1, low=1, integer=True)
        u_init = d.get("u_init")
        if u_init is not None:
            try:
                u_init = tuple(float(v) for v in u_init)
            except (TypeError, ValueError):
                raise ConfigError(f"{w}.u_init", "a list of n_components numbers", u_init) from None
            if not all(math.isfinite(v) for v in u_init):
                raise ConfigError(f"{w}.u_init", "finite numbers", list(u_init))
        force = flag(d, "force", w)
        time_limit = quantity(d, "time_limit", "time", w, "43200 s")
        checkpoint = quantity(d, "checkpoint_every", "time", w, "30 s")
        return cls(duration, dt, rec, seed, backend, integrator, u_init, crossbar, chains,
                   force, time_limit, checkpoint, _seeds(d.get("seeds"), f"{w}.seeds"))


def _seeds(value, field: str) -> tuple | None:
    """``run.seeds``: absent, or a non-empty list of distinct non-negative integers."""
    if value is None:
        return None
    ok = (isinstance(value, (list, tuple)) and len(value) > 0
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value))
    if not ok or len(set(value)) != len(value):
        raise ConfigError(field, "a non-empty list of distinct non-negative integer seeds "
                          "(one chip per seed)", value)
    return tuple(int(v) for v in value)


@dataclass(frozen=True)
class LearningConfig:
    """Plasticity running at the same time as inference (SPEC section 2, "Learning").

    Attributes
    ----------
    dictionary_time_constant : float
        ``tau_Phi`` in s: ``tau_Phi dPhi/dt = (x - Phi s) s^T / sigma^2 - gamma Phi_j (|Phi_j|^2 - 1)``.
    threshold_time_constant : float or None
        ``tau_u0`` in s (``tau_u0 du0/dt = -dE/du0``); None: ``u0`` fixed.
    threshold : {"per_unit", "shared"}
        With ``threshold_time_constant``: one learned ``u0_j`` per unit (each follows its own
        ``-dE/du0_j``), or one threshold shared by all units (it follows ``-sum_j dE/du0_j``,
        the gradient of the one parameter; the paper's set-up, ``pi = exp(-lam u0)`` for the
        whole layer). Comparator offsets stay per unit in both.
    normalise : bool
        Continuous-time column normalisation (the ``gamma`` term) on or off.
    normalise_strength : float
        ``gamma`` (dimensionless).
    snapshot_every : float or None
        Interval (s of circuit time) between saved snapshots of a learning run.
    dynamics : {"langevin", "map", "lca"}
        Inference dynamics: Langevin sampling (the configured noise), MAP descent (T = 0,
        noise off: the "DSC" baseline), or LCA, ``tau_u du/dt = Phi^T r / sigma^2 - (u - s)``
        (noise off).
    plasticity_dt : float or None
        Step in s of the plasticity equation ``dg/dt`` (its own Brian2 clock; a whole
        multiple of ``run.dt``). None: automatic, see :meth:`Config.plasticity_stride`.
    share : {"chains", "none"}
        An ensemble (``run.chains > 1``). ``"chains"``: the chains of one chip share its
        plasticity, as the paper's batches do: each chain sees its own patch of the stream
        and the chip's conductances follow the chains' average ``mean_k r_k s_k^T / sigma^2``
        (:mod:`circuit_sim.design.ensemble`). ``"none"``: every chain learns its own
        dictionary and thresholds from its own ``r s^T`` (independent learners with the
        chip's devices and their own noise, all on the chip's patches: their spread is the
        noise's). Each chip (``mismatch.chips``) learns its own dictionary either way.
        The weights change on the time scale ``tau_Phi`` and ``r s^T`` decorrelates within
        ``tau_u``, so stepping the rule every ``K`` steps with the step ``K dt`` (a
        multirate Euler scheme) integrates the same equation while its loop over all
        ``N M`` synapses runs ``K`` times less often.
    """

    dictionary_time_constant: float
    threshold_time_constant: float | None = None
    normalise: bool = False
    normalise_strength: float = 1.0
    snapshot_every: float | None = None
    dynamics: str = "langevin"
    plasticity_dt: float | None = None
    threshold: str = "per_unit"
    share: str = "chains"

    DYNAMICS = ("langevin", "map", "lca")
    THRESHOLDS = ("per_unit", "shared")
    SHARES = ("chains", "none")

    @classmethod
    def from_dict(cls, d: dict) -> "LearningConfig":
        w = "learning"
        check_keys(d, ("dictionary_time_constant", "threshold_time_constant", "normalise",
                        "normalise_strength", "snapshot_every", "dynamics", "plasticity_dt",
                        "threshold", "share"), w)
        share = choice(d, "share", cls.SHARES, w, "chains")
        if "dictionary_time_constant" not in d:
            raise ConfigError(f"{w}.dictionary_time_constant", "a time (required), e.g. \"50 us\"",
                              None)
        tau_phi = quantity(d, "dictionary_time_constant", "time", w)
        tau_u0 = quantity(d, "threshold_time_constant", "time", w)
        normalise = flag(d, "normalise", w)
        strength = number(d, "normalise_strength", w, 1.0, low=0, low_open=True)
        snap = quantity(d, "snapshot_every", "time", w)
        dynamics = choice(d, "dynamics", cls.DYNAMICS, w, "langevin")
        plast = None if d.get("plasticity_dt", "auto") == "auto" else \
            quantity(d, "plasticity_dt", "time", w, "auto")
        threshold = choice(d, "threshold", cls.THRESHOLDS, w, "per_unit")
        if threshold == "shared" and tau_u0 is None:
            raise ConfigError(f"{w}.threshold", "\"shared\" only with a learned threshold "
                              "(learning.threshold_time_constant)", threshold)
        return cls(tau_phi, tau_u0, normalise, strength, snap, dynamics, plast, threshold, share)

    @property
    def gamma(self) -> float:
        return self.normalise_strength if self.normalise else 0.0


