"""Configuration: a TOML file parsed once into frozen dataclasses holding SI floats.

The file layout is a public contract (see README): sections ``[model]``, ``[input]``,
``[circuit]``, ``[[noise]]``, ``[run]``, ``[learning]``, ``[mismatch]``, ``[weights]``.
Physical values are strings with units (``capacitance = "10 fF"``); they are parsed here,
once, and every later stage works with SI floats. Every problem is reported as a
:class:`~circuit_sim.errors.ConfigError` naming the field, the expected unit or range and
the value given. Parsing is all this package does: what a config *means* (model, step,
noise amplitudes, device draws) is :func:`circuit_sim.design.resolve`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import ConfigError
from .fields import check_keys
from .keys import flatten, normalise_key, parse_assignment, set_key
from .nonideal import ComparatorConfig, CrossbarConfig, MismatchConfig, TransconductorConfig, WeightConfig
from .sections import (BACKENDS, CROSSBAR_MODES, INTEGRATORS, NOISE_KINDS, CircuitConfig,
                       InputConfig, LearningConfig, ModelConfig, NoiseConfig, RunConfig)
from .toml import dumps_toml, read_toml, read_toml_text

__all__ = ["Config", "load_config", "loads_config", "dumps_toml", "ConfigError", "BACKENDS",
           "INTEGRATORS", "CROSSBAR_MODES", "NOISE_KINDS", "ModelConfig", "InputConfig",
           "CircuitConfig", "NoiseConfig", "RunConfig", "LearningConfig", "MismatchConfig",
           "WeightConfig", "set_key", "normalise_key", "flatten", "parse_assignment"]


def _wires(d: dict, learning, weights) -> CrossbarConfig | None:
    """``[crossbar]`` (wire resistance), refused where the weights change during the run (its
    exact solution is for static conductances)."""
    if "crossbar" not in d:
        return None
    wires = CrossbarConfig.from_dict(d["crossbar"])
    if learning is not None:
        raise ConfigError("[crossbar]", "static weights (IR drop is solved once for the "
                          "programmed conductances; not built for learning yet)", "[learning]")
    if weights is not None and weights.dynamic:
        raise ConfigError("[crossbar]", "static weights (IR drop is solved once; not built "
                          "with weights.retention_time or weights.drift_sigma yet)",
                          "[weights] with retention or drift")
    return wires


@dataclass(frozen=True)
class Config:
    """A complete, validated configuration (all physical values SI floats).

    A Config holds what the file says, parsed; :attr:`design` is what it means (resolved
    once, :func:`circuit_sim.design.resolve`). The accessors below (``build_model``,
    ``noise_budget``, ``resolved_dt``, ...) read the design.
    """

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
    transconductor: TransconductorConfig | None = None
    comparator: ComparatorConfig | None = None
    wires: CrossbarConfig | None = None  # the [crossbar] section (wire resistance)

    # ---- construction
    @classmethod
    def from_dict(cls, d: dict, source: str | None = None) -> "Config":
        if not isinstance(d, dict):
            raise ConfigError("config", "a table of sections", type(d).__name__)
        check_keys(d, ("model", "input", "circuit", "noise", "run", "learning", "mismatch",
                        "weights", "transconductor", "comparator", "crossbar"), "config")
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
        mismatch = MismatchConfig.from_dict(d["mismatch"]) if "mismatch" in d else None
        weights = WeightConfig.from_dict(d["weights"]) if "weights" in d else None
        transconductor = (TransconductorConfig.from_dict(d["transconductor"],
                                                         circuit.transconductance)
                          if "transconductor" in d else None)
        comparator = ComparatorConfig.from_dict(d["comparator"]) if "comparator" in d else None
        if comparator is not None and model.prior != "laplace":
            raise ConfigError("[comparator]", "a soft threshold to make (prior = \"laplace\")",
                              "prior = \"gaussian\" (no threshold)")
        wires = _wires(d, learning, weights)
        cfg = cls(model, inp, circuit, noises, run, learning, source, d, mismatch, weights,
                  transconductor, comparator, wires)
        cfg.design  # resolve once: validates what only the derived design reveals
        return cfg

    # ---- changing a config
    def replace(self, **changes) -> "Config":
        """A new config with dotted keys set (``cfg.replace(**{"run.duration": "20 us"})``),
        validated like a file (the same errors). Starts from the table the config was read
        from."""
        d = copy.deepcopy(self.raw) if self.raw is not None else self.resolved_dict()
        if isinstance(d.get("noise"), dict):
            d["noise"] = [d["noise"]]
        for key, value in changes.items():
            set_key(d, normalise_key(key), value)
        return _from_table(d)

    def without(self, key: str) -> "Config":
        """A new config without the dotted ``key`` (its default applies; the same config if
        it is not set), validated like a file."""
        d = copy.deepcopy(self.raw) if self.raw is not None else self.resolved_dict()
        *path, last = normalise_key(key).split(".")
        node = d
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or last not in node:
            return self
        del node[last]
        return _from_table(d)

    def with_overrides(self, *, seed=None, backend=None) -> "Config":
        """A copy with the run's seed and/or backend replaced (``None``: unchanged)."""
        changes = {}
        if seed is not None:
            changes["run.seed"] = seed
        if backend is not None:
            changes["run.backend"] = backend
        return self.replace(**changes) if changes else self

    # ---- the design, and shorthands that read it
    @cached_property
    def design(self):
        """The resolved design (:func:`circuit_sim.design.resolve`), computed once."""
        from ..design import resolve

        return resolve(self)

    def build_model(self):
        """The dimensionless model (``design.model``; a missing dictionary is drawn from the
        seed's ``dictionary`` stream)."""
        return self.design.model

    @property
    def x(self):
        """The fixed input (N,); for a stream, the first patch."""
        return self.design.x

    def noise_sources(self) -> tuple:
        """The ``noise`` package's source objects (``design.noise.sources``)."""
        return self.design.noise.sources

    def noise_budget(self):
        """The noise budget of this design point (``design.noise.budget``)."""
        return self.design.noise.budget

    def resolved_dt(self) -> tuple[float, bool]:
        """``(dt, chosen_automatically)``."""
        ts = self.design.timestep
        return ts.dt, ts.auto

    def record_stride(self) -> int:
        return self.design.timestep.record_stride

    def plasticity_stride(self) -> int:
        return self.design.timestep.plasticity_stride

    def n_steps(self) -> int:
        return self.design.timestep.n_steps

    @property
    def duration(self) -> float:
        """Simulated time in s: ``run.duration``, or one pass over the input stream."""
        return self.design.timestep.duration

    def devices(self):
        """This chip's fixed variations (``design.devices``)."""
        return self.design.devices

    # ---- serialisation
    def resolved_dict(self) -> dict:
        """The configuration with every default and derived value written out."""
        return self.design.resolved_dict()

    def to_toml(self) -> str:
        """The resolved configuration as TOML text (loadable by :func:`load_config`)."""
        return self.design.to_toml()


def load_config(path, changes: dict | None = None) -> Config:
    """Read and validate a TOML configuration file.

    Parameters
    ----------
    path : path
        The TOML file.
    changes : dict, optional
        Dotted keys to set before validation (``{"run.duration": "20 us"}``; the grammar of
        ``--set`` and sweeps), applied to the file's table so that a change can also lift
        a check (``run.force``) that the file alone would fail.

    Raises
    ------
    ConfigError
        If the file is missing, is not a UTF-8 TOML text, or any field is invalid.
    """
    data, text = read_toml(path, "config file")
    return _with_changes(data, text, changes)


def loads_config(text: str, changes: dict | None = None) -> Config:
    """Validate a configuration given as TOML text (``changes``: as :func:`load_config`)."""
    return _with_changes(read_toml_text(text, "config"), text, changes)


def _with_changes(data: dict, text: str, changes: dict | None) -> Config:
    if not changes:
        return Config.from_dict(data, source=text)
    if isinstance(data.get("noise"), dict):
        data["noise"] = [data["noise"]]
    for key, value in changes.items():
        set_key(data, normalise_key(key), value)
    try:
        text = dumps_toml(data)
    except (TypeError, ValueError):
        text = None
    return Config.from_dict(data, source=text)


def _from_table(d: dict) -> Config:
    """A config from a changed table, its TOML text kept where the table has one."""
    text = None
    try:
        text = dumps_toml(d)
    except (TypeError, ValueError):
        pass
    return Config.from_dict(d, source=text)
