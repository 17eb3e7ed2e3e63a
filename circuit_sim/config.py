"""Configuration: a TOML file parsed once into frozen dataclasses holding SI floats.

The file layout is a public contract (see README): sections ``[model]``, ``[input]``,
``[circuit]``, ``[[noise]]`` and ``[run]``. Physical values are strings with units
(``capacitance = "10 fF"``); they are parsed here, once, and every later stage works
with SI floats. Every problem is reported as a :class:`~circuit_sim.errors.ConfigError`
naming the field, the expected unit or range and the value given.
"""

from __future__ import annotations

import math
import tomllib
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

import models
import noise

from .errors import ConfigError
from .nonideal import DeviceDraw, MismatchConfig, WeightConfig, draw_devices
from .units import parse_quantity

BACKENDS = ("numpy", "cython", "standalone")
INTEGRATORS = ("euler", "leimkuhler_matthews")
CROSSBAR_MODES = ("auto", "summed", "dense")
NOISE_KINDS = ("thermal", "shot", "flicker", "injected")

#: Default dimensionless step h = dt/tau_u, per integrator, as a multiple of 1/lambda_max.
#: Euler-Maruyama inflates the variance of a mode of curvature lambda by 1/(1 - h lambda/2):
#: h = 0.02/lambda_max keeps that at 1% on the stiffest mode. Leimkuhler-Matthews has the
#: exact stationary variance on every Gaussian mode for any stable h (its noise is an MA(1)
#: sequence whose ARMA(1,1) variance is 2 c^2/(1 - a) = T/lambda), so its step is limited
#: by the non-Gaussian parts of the posterior only: h = 1/lambda_max (half the stability
#: limit), at most 0.1 (checked by halving dt on the 2-D spike-and-slab posterior).
DEFAULT_STEP = {"euler": 0.02, "leimkuhler_matthews": 1.0}
DEFAULT_STEP_CAP = {"euler": 0.02, "leimkuhler_matthews": 0.1}

#: How each integrator is described in outputs (interpretation and order).
INTEGRATOR_DESCRIPTIONS = {
    "euler": "Euler-Maruyama (Ito; additive noise, so = Stratonovich), weak order 1",
    "leimkuhler_matthews": "Leimkuhler-Matthews (non-Markovian Euler with averaged noise "
                           "(R_n + R_n+1)/2; exact stationary variance for Gaussian targets), "
                           "weak order 1, order 2 in the invariant measure",
}


# --------------------------------------------------------------------------- helpers
def _check_keys(section: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in section:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}", f"one of the keys {', '.join(allowed)}", key)


def _number(section: dict, key: str, where: str, default=None, *, low=None, high=None,
            low_open=False, integer=False):
    value = section.get(key, default)
    name = f"{where}.{key}"
    if value is None:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            integer and not isinstance(value, int)):
        raise ConfigError(name, kind, value)
    if not math.isfinite(value):
        raise ConfigError(name, f"a finite {kind[2:] if integer else 'number'}", value)
    too_low = low is not None and (value < low or (low_open and value == low))
    if too_low or (high is not None and value > high):
        parts = []
        if low is not None:
            parts.append(f"> {low}" if low_open else f">= {low}")
        if high is not None:
            parts.append(f"<= {high}")
        raise ConfigError(name, f"{kind} {' and '.join(parts)}", value)
    return int(value) if integer else float(value)


def _quantity(section: dict, key: str, dimension: str, where: str, default=None, *,
              positive=True, allow_zero=False):
    value = section.get(key, default)
    if value is None:
        return None
    name = f"{where}.{key}"
    result = parse_quantity(value, dimension, name)
    if positive and (result < 0 or (result == 0 and not allow_zero)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(name, f"a {dimension.replace('_', ' ')} {bound}", value)
    return result


def _choice(section: dict, key: str, choices, where: str, default):
    value = section.get(key, default)
    if value not in choices:
        raise ConfigError(f"{where}.{key}", "one of " + ", ".join(repr(c) for c in choices), value)
    return value


# --------------------------------------------------------------------------- sections
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
        _check_keys(d, ("n_features", "n_components", "prior", "lam", "pi", "u0",
                        "prior_variance", "positive", "sigma", "dictionary"), w)
        for key in ("n_features", "n_components"):
            if key not in d:
                raise ConfigError(f"{w}.{key}", "a positive integer (required)", None)
        n = _number(d, "n_features", w, low=1, integer=True)
        m = _number(d, "n_components", w, low=1, integer=True)
        prior = _choice(d, "prior", ("laplace", "gaussian"), w, "laplace")
        lam = _number(d, "lam", w, 1.0, low=0, low_open=True)
        sigma = _number(d, "sigma", w, 0.5, low=0, low_open=True)
        prior_variance = _number(d, "prior_variance", w, 1.0, low=0, low_open=True)
        positive = d.get("positive", False)
        if not isinstance(positive, bool):
            raise ConfigError(f"{w}.positive", "true or false", positive)
        if "pi" in d and "u0" in d:
            raise ConfigError(f"{w}.pi", "either pi or u0, not both", d["pi"])
        u0 = 0.0
        if "pi" in d:
            pi = _number(d, "pi", w, low=0, high=1, low_open=True)
            u0 = models.u0_from_pi(lam, pi)
        elif "u0" in d:
            u0 = _number(d, "u0", w, low=0)
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
        _check_keys(d, ("x", "kind", "n_patches", "presentation", "hold", "path", "patch_size",
                        "data_pi", "data_lam", "data_sigma"), w)
        kind = _choice(d, "kind", cls.KINDS, w, "fixed")
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
        n_patches = _number(d, "n_patches", w, low=1, integer=True)
        presentation = _choice(d, "presentation", ("synchronous", "poisson"), w, "synchronous")
        if "hold" not in d:
            raise ConfigError(f"{w}.hold", "a time (required for a stream), e.g. \"200 ns\"", None)
        hold = _quantity(d, "hold", "time", w)
        path = d.get("path")
        if path is not None and not isinstance(path, str):
            raise ConfigError(f"{w}.path", "a file path (string)", path)
        if kind == "file" and path is None:
            raise ConfigError(f"{w}.path", "a .npy or HDF5 file of patches (required)", None)
        side = int(round(math.sqrt(n_features)))
        patch_size = None
        if kind in ("bars", "images"):
            patch_size = _number(d, "patch_size", w, side, low=2, integer=True)
        if kind in ("bars", "images") and patch_size * patch_size != n_features:
            raise ConfigError(f"{w}.patch_size", f"a patch side p with p*p = model.n_features = "
                              f"{n_features}", patch_size)
        return cls(None, kind, n_patches, presentation, hold, path, patch_size,
                   _number(d, "data_pi", w, low=0, high=1, low_open=True),
                   _number(d, "data_lam", w, low=0, low_open=True),
                   _number(d, "data_sigma", w, low=0))


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

    @classmethod
    def from_dict(cls, d: dict) -> "CircuitConfig":
        w = "circuit"
        _check_keys(d, ("capacitance", "transconductance", "volts_per_unit", "temperature",
                        "bias_current", "supply_voltage", "kappa", "rail_voltage",
                        "residual_time_constant"), w)
        for key in ("capacitance", "volts_per_unit"):
            if key not in d:
                raise ConfigError(f"{w}.{key}", "a value with a unit (required)", None)
        c = _quantity(d, "capacitance", "capacitance", w)
        vu = _quantity(d, "volts_per_unit", "voltage", w)
        temp = _quantity(d, "temperature", "temperature", w, "300 K")
        ib = _quantity(d, "bias_current", "current", w)
        vdd = _quantity(d, "supply_voltage", "voltage", w)
        kappa = _number(d, "kappa", w, 0.7, low=0, high=1, low_open=True)
        gm = _quantity(d, "transconductance", "conductance", w)
        from_bias = False
        if gm is None:
            if ib is None:
                raise ConfigError(f"{w}.transconductance",
                                  "a conductance (e.g. \"1 uS\"), or circuit.bias_current to "
                                  "derive the subthreshold G_m = kappa I_b / U_T", None)
            gm = noise.subthreshold_transconductance(ib, kappa=kappa, temperature=temp)
            from_bias = True
        rail = _quantity(d, "rail_voltage", "voltage", w)
        tau_r = _quantity(d, "residual_time_constant", "time", w)
        return cls(c, gm, vu, temp, ib, vdd, kappa, from_bias, rail, tau_r)

    @property
    def tau_u(self) -> float:
        """Time constant of a unit, ``C / G_m``, in s."""
        return self.capacitance / self.transconductance


@dataclass(frozen=True)
class NoiseConfig:
    """One ``[[noise]]`` entry, as parsed (SI floats); see :meth:`Config.noise_sources`."""

    kind: str
    name: str
    params: tuple  # (key, SI value) pairs

    def get(self, key, default=None):
        return dict(self.params).get(key, default)

    @classmethod
    def from_dict(cls, d: dict, index: int) -> "NoiseConfig":
        w = f"noise[{index}]"
        if "kind" not in d:
            raise ConfigError(f"{w}.kind", "one of " + ", ".join(repr(k) for k in NOISE_KINDS), None)
        kind = _choice(d, "kind", NOISE_KINDS, w, None)
        name = d.get("name", kind)
        if not isinstance(name, str):
            raise ConfigError(f"{w}.name", "a string", name)
        p = {}
        if kind == "thermal":
            _check_keys(d, ("kind", "name", "conductance", "gamma", "temperature"), w)
            p["conductance"] = _quantity(d, "conductance", "conductance", w)
            p["gamma"] = _number(d, "gamma", w, 1.0, low=0, low_open=True)
            p["temperature"] = _quantity(d, "temperature", "temperature", w)
        elif kind == "shot":
            _check_keys(d, ("kind", "name", "current", "branches"), w)
            p["current"] = _quantity(d, "current", "current", w)
            p["branches"] = _number(d, "branches", w, 1, low=1, integer=True)
        elif kind == "flicker":
            _check_keys(d, ("kind", "name", "white_psd", "corner_frequency", "f_min", "f_max",
                            "poles_per_decade"), w)
            if "corner_frequency" not in d:
                raise ConfigError(f"{w}.corner_frequency", "a frequency (required), e.g. \"10 kHz\"",
                                  None)
            p["white_psd"] = _quantity(d, "white_psd", "current_psd", w)
            p["corner_frequency"] = _quantity(d, "corner_frequency", "frequency", w)
            p["f_min"] = _quantity(d, "f_min", "frequency", w)
            p["f_max"] = _quantity(d, "f_max", "frequency", w)
            p["poles_per_decade"] = _number(d, "poles_per_decade", w, 2.0, low=0, low_open=True)
        else:  # injected
            _check_keys(d, ("kind", "name", "psd", "fill_to"), w)
            if ("psd" in d) == ("fill_to" in d):
                raise ConfigError(f"{w}.psd", "exactly one of psd (A^2/Hz) or fill_to (a target "
                                  "T_eff)", {k: d[k] for k in ("psd", "fill_to") if k in d})
            p["psd"] = _quantity(d, "psd", "current_psd", w, allow_zero=True)
            p["fill_to"] = _number(d, "fill_to", w, low=0, low_open=True)
        return cls(kind, name, tuple(p.items()))


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

    @property
    def crossbar_mode(self) -> str:
        """``summed`` or ``dense``; ``auto`` is dense on standalone, summed on runtime backends."""
        if self.crossbar != "auto":
            return self.crossbar
        return "dense" if self.backend == "standalone" else "summed"

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        w = "run"
        _check_keys(d, ("duration", "dt", "record_every", "seed", "backend", "integrator",
                        "u_init", "crossbar"), w)
        duration = _quantity(d, "duration", "time", w)  # None: one pass over a stream
        dt = _quantity(d, "dt", "time", w)
        rec = _quantity(d, "record_every", "time", w)
        seed = _number(d, "seed", w, 1, low=0, integer=True)
        backend = _choice(d, "backend", BACKENDS, w, "numpy")
        integrator = _choice(d, "integrator", INTEGRATORS, w, "euler")
        crossbar = _choice(d, "crossbar", CROSSBAR_MODES, w, "auto")
        u_init = d.get("u_init")
        if u_init is not None:
            try:
                u_init = tuple(float(v) for v in u_init)
            except (TypeError, ValueError):
                raise ConfigError(f"{w}.u_init", "a list of n_components numbers", u_init) from None
        return cls(duration, dt, rec, seed, backend, integrator, u_init, crossbar)


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

    DYNAMICS = ("langevin", "map", "lca")
    THRESHOLDS = ("per_unit", "shared")

    @classmethod
    def from_dict(cls, d: dict) -> "LearningConfig":
        w = "learning"
        _check_keys(d, ("dictionary_time_constant", "threshold_time_constant", "normalise",
                        "normalise_strength", "snapshot_every", "dynamics", "plasticity_dt",
                        "threshold"), w)
        if "dictionary_time_constant" not in d:
            raise ConfigError(f"{w}.dictionary_time_constant", "a time (required), e.g. \"50 us\"",
                              None)
        tau_phi = _quantity(d, "dictionary_time_constant", "time", w)
        tau_u0 = _quantity(d, "threshold_time_constant", "time", w)
        normalise = d.get("normalise", False)
        if not isinstance(normalise, bool):
            raise ConfigError(f"{w}.normalise", "true or false", normalise)
        strength = _number(d, "normalise_strength", w, 1.0, low=0, low_open=True)
        snap = _quantity(d, "snapshot_every", "time", w)
        dynamics = _choice(d, "dynamics", cls.DYNAMICS, w, "langevin")
        plast = None if d.get("plasticity_dt", "auto") == "auto" else \
            _quantity(d, "plasticity_dt", "time", w)
        threshold = _choice(d, "threshold", cls.THRESHOLDS, w, "per_unit")
        if threshold == "shared" and tau_u0 is None:
            raise ConfigError(f"{w}.threshold", "\"shared\" only with a learned threshold "
                              "(learning.threshold_time_constant)", threshold)
        return cls(tau_phi, tau_u0, normalise, strength, snap, dynamics, plast, threshold)

    @property
    def gamma(self) -> float:
        return self.normalise_strength if self.normalise else 0.0


# --------------------------------------------------------------------------- whole file
@dataclass(frozen=True)
class Config:
    """A complete, validated configuration (all physical values SI floats)."""

    model: ModelConfig
    input: InputConfig
    circuit: CircuitConfig
    noise: tuple  # of NoiseConfig
    run: RunConfig
    learning: LearningConfig | None = None
    source: str | None = None  # the TOML text the config came from, if any
    raw: dict = field(default=None, compare=False, repr=False)
    mismatch: MismatchConfig | None = None
    weights: WeightConfig | None = None

    # ---- construction
    @classmethod
    def from_dict(cls, d: dict, source: str | None = None) -> "Config":
        if not isinstance(d, dict):
            raise ConfigError("config", "a table of sections", type(d).__name__)
        _check_keys(d, ("model", "input", "circuit", "noise", "run", "learning", "mismatch",
                        "weights"), "config")
        for section in ("model", "input", "circuit", "run"):
            if section not in d:
                raise ConfigError(f"[{section}]", "a section in the config file", None)
            if not isinstance(d[section], dict):
                raise ConfigError(f"[{section}]", "a table", d[section])
        model = ModelConfig.from_dict(d["model"])
        inp = InputConfig.from_dict(d["input"], model.n_features)
        circuit = CircuitConfig.from_dict(d["circuit"])
        noise_list = d.get("noise", [])
        if isinstance(noise_list, dict):
            noise_list = [noise_list]
        if not isinstance(noise_list, list):
            raise ConfigError("noise", "a list of [[noise]] tables", noise_list)
        noises = tuple(NoiseConfig.from_dict(n, i) for i, n in enumerate(noise_list))
        if sum(n.get("fill_to") is not None for n in noises) > 1:
            raise ConfigError("noise", "at most one injected source with fill_to",
                              [n.name for n in noises if n.get("fill_to") is not None])
        run = RunConfig.from_dict(d["run"])
        if run.duration is None and inp.kind == "fixed":
            raise ConfigError("run.duration", "a time (required for a fixed input), e.g. \"2 ms\"",
                              None)
        if run.u_init is not None and len(run.u_init) != model.n_components:
            raise ConfigError("run.u_init", f"a list of model.n_components = {model.n_components} "
                              "numbers", list(run.u_init))
        learning = None
        if "learning" in d:
            if not isinstance(d["learning"], dict):
                raise ConfigError("[learning]", "a table", d["learning"])
            learning = LearningConfig.from_dict(d["learning"])
            if learning.threshold_time_constant is not None and model.prior != "laplace":
                raise ConfigError("learning.threshold_time_constant",
                                  "no threshold learning with prior = \"gaussian\" (u0 = 0)",
                                  d["learning"]["threshold_time_constant"])
            if learning.dynamics == "lca" and model.prior != "laplace":
                raise ConfigError("learning.dynamics", "\"lca\" only with prior = \"laplace\"",
                                  learning.dynamics)
            tau_u = circuit.tau_u
            for key, tau in (("dictionary_time_constant", learning.dictionary_time_constant),
                             ("threshold_time_constant", learning.threshold_time_constant)):
                if tau is not None and tau < 10 * tau_u:
                    warnings.warn(f"learning.{key} = {_fmt(tau, 's')} is not >> tau_u = C/G_m = "
                                  f"{_fmt(tau_u, 's')}: learning should be much slower than "
                                  "inference (tau_u << tau_Phi)", stacklevel=2)
            if inp.hold is not None:
                if inp.hold < 3 * tau_u:
                    warnings.warn(f"input.hold = {_fmt(inp.hold, 's')} is not >> tau_u = "
                                  f"{_fmt(tau_u, 's')}: each input should be held for many "
                                  "circuit time constants (tau_u << tau_x)", stacklevel=2)
                if learning.dictionary_time_constant < 3 * inp.hold:
                    warnings.warn(f"learning.dictionary_time_constant = "
                                  f"{_fmt(learning.dictionary_time_constant, 's')} is not >> "
                                  f"input.hold = {_fmt(inp.hold, 's')}: the dictionary should "
                                  "average over many inputs (tau_x << tau_Phi)", stacklevel=2)
        mismatch = MismatchConfig.from_dict(d["mismatch"]) if "mismatch" in d else None
        weights = WeightConfig.from_dict(d["weights"]) if "weights" in d else None
        cfg = cls(model, inp, circuit, noises, run, learning, source, d, mismatch, weights)
        cfg.noise_budget()  # validates the noise section against the circuit (fill_to etc.)
        cfg.resolved_dt()   # validates dt against the stability bound
        cfg.record_stride()  # validates record_every against dt
        cfg.plasticity_stride()  # validates learning.plasticity_dt against dt
        return cfg

    def with_overrides(self, *, seed=None, backend=None) -> "Config":
        """Return a copy with the run's seed and/or backend replaced."""
        run = self.run
        if seed is not None:
            run = replace(run, seed=_number({"seed": seed}, "seed", "run", low=0, integer=True))
        if backend is not None:
            run = replace(run, backend=_choice({"backend": backend}, "backend", BACKENDS, "run", None))
        return replace(self, run=run)

    # ---- derived objects
    def build_model(self) -> models.SparseCodingModel:
        """The dimensionless model; a missing dictionary is drawn from ``run.seed``."""
        m = self.model
        if m.dictionary is None:
            rng = np.random.default_rng(self.run.seed)
            phi = models.random_dictionary(m.n_features, m.n_components, rng)
        else:
            phi = np.array(m.dictionary, dtype=float)
        return models.SparseCodingModel(
            dictionary=phi, sigma=m.sigma, prior=m.prior, lam=m.lam, u0=m.u0,
            positive=m.positive, prior_variance=m.prior_variance)

    @property
    def x(self) -> np.ndarray:
        """The fixed input (N,); for a stream, the first patch."""
        if self.input.x is not None:
            return np.array(self.input.x, dtype=float)
        from .streams import make_stream
        return make_stream(self).patches(0, 1)[0]

    def noise_sources(self) -> tuple:
        """The ``noise`` package's source objects, with circuit defaults filled in.

        Defaults a hardware researcher expects: a thermal source without ``conductance``
        is the transconductor's own (``G_n = G_m``) at the circuit temperature; a shot
        source without ``current`` uses ``circuit.bias_current``; a flicker source
        without ``white_psd`` has its corner where it meets the sum of the white
        thermal and shot floors; its band defaults to [1e-3, 1e3] / tau_u.
        """
        c = self.circuit
        out = []
        white_natural = 0.0
        for i, n in enumerate(self.noise):
            w = f"noise[{i}]"
            if n.kind == "thermal":
                g = n.get("conductance") or c.transconductance
                src = noise.ThermalNoise(conductance=g, temperature=n.get("temperature") or c.temperature,
                                         gamma=n.get("gamma"), name=n.name)
                white_natural += src.white_psd
            elif n.kind == "shot":
                cur = n.get("current")
                if cur is None:
                    cur = c.bias_current
                if cur is None:
                    raise ConfigError(f"{w}.current", "a current (e.g. \"1 nA\"), or "
                                      "circuit.bias_current as its default", None)
                src = noise.ShotNoise(current=cur, branches=n.get("branches"), name=n.name)
                white_natural += src.white_psd
            else:
                src = None
            out.append(src)
        for i, n in enumerate(self.noise):
            w = f"noise[{i}]"
            if n.kind == "flicker":
                white = n.get("white_psd")
                if white is None:
                    if white_natural <= 0:
                        raise ConfigError(f"{w}.white_psd", "a PSD in A^2/Hz, or a thermal/shot "
                                          "source whose white floor sets it", None)
                    white = white_natural
                fc = 1.0 / (2 * math.pi * c.tau_u)
                f_min = n.get("f_min") or 1e-3 * fc
                f_max = n.get("f_max") or 1e3 * fc
                if f_min >= f_max:
                    raise ConfigError(f"{w}.f_min", f"a frequency below f_max = {f_max:g} Hz",
                                      f"{f_min:g} Hz")
                out[i] = noise.FlickerNoise(white_psd=white, corner_frequency=n.get("corner_frequency"),
                                            f_min=f_min, f_max=f_max,
                                            poles_per_decade=n.get("poles_per_decade"), name=n.name)
            elif n.kind == "injected":
                out[i] = noise.InjectedNoise(psd=n.get("psd"), fill_to=n.get("fill_to"), name=n.name)
        return tuple(out)

    def noise_budget(self) -> noise.NoiseBudget:
        """The noise budget of this design point (raises ConfigError on an impossible fill)."""
        c = self.circuit
        try:
            return noise.noise_budget(self.noise_sources(), transconductance=c.transconductance,
                                      capacitance=c.capacitance, volts_per_unit=c.volts_per_unit)
        except ConfigError:
            raise
        except ValueError as exc:
            idx = [i for i, n in enumerate(self.noise) if n.kind == "injected"]
            where = f"noise[{idx[0]}]" if idx else "noise"
            raise ConfigError(where, "a noise section this circuit can realise", str(exc)) from None

    def resolved_dt(self) -> tuple[float, bool]:
        """Return ``(dt, chosen_automatically)``; check the Euler-Maruyama stability bound.

        Euler-Maruyama on a mode of curvature ``lambda`` (in units of ``1/tau_u``) is the
        linear recursion ``u <- (1 - h lambda) u + noise`` with ``h = dt/tau_u``; it is
        stable only for ``|1 - h lambda| < 1``, i.e. ``h < 2/lambda_max``, and inflates the
        mode's variance by ``1/(1 - h lambda/2)``; Leimkuhler-Matthews has the same bound.
        Without ``run.dt`` the step comes from ``lambda_max`` and the integrator (see
        :data:`DEFAULT_STEP`).
        """
        tau = self.circuit.tau_u
        if self.mismatch is not None and (self.mismatch.gm_sigma > 0 or self.mismatch.c_sigma > 0):
            dev = self.devices()  # the fastest unit, tau_j = C_j / G_m,j, bounds the step
            tau = tau / float(np.max(dev.gm_rel / dev.c_rel))
        lam_max = models.lambda_max(self.build_model())
        h_limit = 2.0 / lam_max
        if self.run.dt is None:
            integ = self.run.integrator
            h = min(DEFAULT_STEP[integ] / lam_max, DEFAULT_STEP_CAP[integ])
            dt = _round_sig(h * tau)
            auto = True
        else:
            dt, auto = self.run.dt, False
            h = dt / tau
            if h >= h_limit:
                raise ConfigError(
                    "run.dt", f"dt < 2 tau_u / lambda_max = {_fmt(h_limit * tau, 's')} for a stable "
                    f"{'Euler-Maruyama' if self.run.integrator == 'euler' else 'Leimkuhler-Matthews'} "
                    f"step (tau_u = C/G_m = {_fmt(tau, 's')}"
                    f"{' for the fastest unit of this mismatched chip' if tau != self.circuit.tau_u else ''}"
                    f", lambda_max = "
                    f"{lam_max:.3g}; dt/tau_u = {h:.3g} must be < {h_limit:.3g})",
                    _fmt(dt, "s"))
        # flicker OU poles must be resolved too
        for i, src in enumerate(self.noise_sources()):
            if getattr(src, "kind", None) == "flicker":
                taus, _ = src.ou_bank()
                if dt >= 2 * taus.min():
                    raise ConfigError(f"noise[{i}].f_max", f"a band whose fastest pole (tau = "
                                      f"{_fmt(taus.min(), 's')}) is resolved by dt = {_fmt(dt, 's')}; "
                                      f"lower f_max or dt", _fmt(src.f_max, "Hz"))
        if self.duration < dt:
            raise ConfigError("run.duration", f"at least one step dt = {_fmt(dt, 's')}",
                              _fmt(self.duration, "s"))
        return dt, auto

    def record_stride(self) -> int:
        """Number of steps between recorded samples (>= 1)."""
        dt, auto = self.resolved_dt()
        if self.run.record_every is None:
            return max(1, int(round(self.circuit.tau_u / 5 / dt)))
        stride = self.run.record_every / dt
        if auto:  # dt chosen here: record at the nearest whole number of steps
            return max(1, int(round(stride)))
        if stride < 1 - 1e-9 or abs(stride - round(stride)) > 1e-6 * stride:
            raise ConfigError("run.record_every", f"a whole multiple of dt = {_fmt(dt, 's')}",
                              _fmt(self.run.record_every, "s"))
        return int(round(stride))

    def devices(self) -> DeviceDraw:
        """This chip's fixed device variations (mismatch, weight drift), drawn from ``run.seed``."""
        m = self.model
        return draw_devices(self.mismatch, self.weights, self.run.seed, m.n_features,
                            m.n_components)

    def plasticity_stride(self) -> int:
        """Steps ``K`` between two steps of the plasticity equation (1 without learning).

        ``learning.plasticity_dt`` if given (a whole multiple of ``dt``). Automatic: with
        the dense crossbar, the largest ``K`` with ``K dt <= tau_u / 4`` (``r s^T``, whose
        time average drives the weights, decorrelates within ``tau_u``; the weights' own
        Euler step ``K dt / tau_Phi`` stays below ``tau_u / (4 tau_Phi)``); with the summed
        crossbar 1 (its conductances share the circuit's clock).
        """
        lc = self.learning
        if lc is None:
            return 1
        dt, _ = self.resolved_dt()
        dense = self.run.crossbar_mode == "dense"
        if lc.plasticity_dt is None:
            return max(1, int(math.floor(self.circuit.tau_u / (4.0 * dt) + 1e-9))) if dense else 1
        k = lc.plasticity_dt / dt
        if k < 1 - 1e-9 or abs(k - round(k)) > 1e-6 * k:
            raise ConfigError("learning.plasticity_dt", f"a whole multiple of run.dt = {_fmt(dt, 's')}",
                              _fmt(lc.plasticity_dt, "s"))
        if round(k) > 1 and not dense:
            raise ConfigError("learning.plasticity_dt",
                              f"run.dt = {_fmt(dt, 's')} with the summed crossbar (its conductances "
                              "share the circuit's clock; use run.crossbar = \"dense\")",
                              _fmt(lc.plasticity_dt, "s"))
        return int(round(k))

    def n_steps(self) -> int:
        dt, _ = self.resolved_dt()
        return int(round(self.duration / dt))

    @property
    def duration(self) -> float:
        """Simulated time in s: ``run.duration``, or one pass over the input stream."""
        if self.run.duration is not None:
            return self.run.duration
        from .streams import Schedule

        i = self.input
        return Schedule(i.n_patches, i.hold, i.presentation, self.run.seed).duration

    # ---- serialisation
    def resolved_dict(self) -> dict:
        """The configuration with every default and derived value written out (units as strings)."""
        m, c, r = self.model, self.circuit, self.run
        model = self.build_model()
        md = {"n_features": m.n_features, "n_components": m.n_components, "prior": m.prior}
        if m.prior == "laplace":
            md.update(lam=m.lam, u0=m.u0)  # pi = exp(-lam u0)
        else:
            md["prior_variance"] = m.prior_variance
        md.update(positive=m.positive, sigma=m.sigma,
                  dictionary=[list(map(float, row)) for row in model.dictionary])
        def q(value, unit):  # exact (repr round-trips), SI unit
            return f"{value!r} {unit}"

        cd = {"capacitance": q(c.capacitance, "F"), "transconductance": q(c.transconductance, "S"),
              "volts_per_unit": q(c.volts_per_unit, "V"), "temperature": q(c.temperature, "K"),
              "kappa": c.kappa}
        if c.bias_current is not None:
            cd["bias_current"] = q(c.bias_current, "A")
        if c.supply_voltage is not None:
            cd["supply_voltage"] = q(c.supply_voltage, "V")
        if c.rail_voltage is not None:
            cd["rail_voltage"] = q(c.rail_voltage, "V")
        if c.residual_time_constant is not None:
            cd["residual_time_constant"] = q(c.residual_time_constant, "s")
        units = {"conductance": "S", "temperature": "K", "current": "A", "white_psd": "A^2/Hz",
                 "corner_frequency": "Hz", "f_min": "Hz", "f_max": "Hz", "psd": "A^2/Hz"}
        nl = []
        for n in self.noise:
            nd = {"kind": n.kind, "name": n.name}
            for k, v in n.params:
                if v is None:
                    continue
                nd[k] = q(v, units[k]) if k in units else v
            nl.append(nd)
        dt, _ = self.resolved_dt()
        rd = {"duration": q(self.duration, "s"), "dt": q(dt, "s"),
              "record_every": q(self.record_stride() * dt, "s"), "seed": r.seed,
              "backend": r.backend, "integrator": r.integrator, "crossbar": r.crossbar_mode}
        if r.u_init is not None:
            rd["u_init"] = list(r.u_init)
        if self.input.kind == "fixed":
            ind = {"x": list(self.input.x)}
        else:
            i = self.input
            ind = {"kind": i.kind, "n_patches": i.n_patches, "presentation": i.presentation,
                   "hold": q(i.hold, "s")}
            if i.patch_size is not None:
                ind["patch_size"] = i.patch_size
            if i.path is not None:
                ind["path"] = i.path
            for key in ("data_pi", "data_lam", "data_sigma"):
                if getattr(i, key) is not None:
                    ind[key] = getattr(i, key)
        out = {"model": md, "input": ind, "circuit": cd, "noise": nl, "run": rd}
        if self.learning is not None:
            lc = self.learning
            ld = {"dictionary_time_constant": q(lc.dictionary_time_constant, "s"),
                  "normalise": lc.normalise, "normalise_strength": lc.normalise_strength}
            if lc.threshold_time_constant is not None:
                ld["threshold_time_constant"] = q(lc.threshold_time_constant, "s")
                ld["threshold"] = lc.threshold
            if lc.snapshot_every is not None:
                ld["snapshot_every"] = q(lc.snapshot_every, "s")
            ld["dynamics"] = lc.dynamics
            ld["plasticity_dt"] = q(self.plasticity_stride() * self.resolved_dt()[0], "s")
            out["learning"] = ld
        if self.mismatch is not None:
            out["mismatch"] = self.mismatch.resolved_dict()
        if self.weights is not None:
            out["weights"] = self.weights.resolved_dict()
        return out

    def to_toml(self) -> str:
        """The resolved configuration as TOML text (loadable by :func:`load_config`)."""
        return dumps_toml(self.resolved_dict())


def _round_sig(x: float, digits: int = 2) -> float:
    """Round down to ``digits`` significant figures (a readable, never larger, dt)."""
    e = math.floor(math.log10(x)) - digits + 1
    return math.floor(x / 10**e) * 10**e


def _fmt(value: float, unit: str) -> str:
    from noise import format_si
    return format_si(value, unit)


# --------------------------------------------------------------------------- TOML I/O
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(d: dict) -> str:
    """Write a dict of sections (tables, or lists of tables) as TOML text."""
    lines = []
    for section, body in d.items():
        tables = body if isinstance(body, list) else [body]
        header = f"[[{section}]]" if isinstance(body, list) else f"[{section}]"
        for table in tables:
            lines.append(header)
            for k, v in table.items():
                lines.append(f"{k} = {_toml_value(v)}")
            lines.append("")
    return "\n".join(lines)


def load_config(path) -> Config:
    """Read and validate a TOML configuration file.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or any field is invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file", "an existing TOML file", str(path))
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}", "valid TOML", str(exc)) from None
    return Config.from_dict(data, source=text)


def loads_config(text: str) -> Config:
    """Validate a configuration given as TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", "valid TOML", str(exc)) from None
    return Config.from_dict(data, source=text)
