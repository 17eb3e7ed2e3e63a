"""``resolve(cfg) -> Design``: everything a run derives from its config, computed once.

The flow of the package is config -> design -> circuit -> run -> results -> files. A
:class:`~circuit_sim.config.Config` holds what the file says; a :class:`Design` holds what
it means: the model (a drawn dictionary included), the input or stream, the step and its
stability check, the strides, the noise sources with their amplitudes and the budget, the
chip's device draws, the named random streams and the integrator. The network builder and
the run take the design alone; every output file is written from it.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np

import models

from ..errors import ConfigError
from ..seeds import Seeds
from .cost import check_network_size
from .devices import DeviceDraw, draw_devices
from .ir_drop import effective_conductances, relative_error
from .ensemble import Ensemble, check_ensemble, own_learners, single
from .noise import NoiseDesign, resolve_noise
from .streams import Schedule, make_stream
from .timestep import (INTEGRATOR_DESCRIPTIONS, TimeStep, check_flicker_poles, choose_dt,
                       fmt, plasticity_stride, record_stride)

__all__ = ["Design", "resolve"]


@dataclass(frozen=True, eq=False)
class Design:
    """A resolved design point (SI floats; dimensionless model).

    Attributes
    ----------
    config : Config
        The parsed config it was resolved from (for provenance and serialisation).
    seeds : Seeds
        The named random streams of ``run.seed`` (:mod:`circuit_sim.seeds`).
    model : models.SparseCodingModel
        The dimensionless model; its dictionary (N, M) as programmed before device variation.
    circuit : CircuitConfig
        ``C``, ``G_m``, ``V_u``, temperature, rails, residual bandwidth, bias and supply.
    tau_u : float
        ``C / G_m`` in s.
    timestep : TimeStep
        ``dt``, the strides, the number of steps, the stability data.
    noise : NoiseDesign
        Sources, budget and the amplitudes the nodes are driven with.
    devices : DeviceDraw
        This chip's fixed variations (all ones / zeros when ideal).
    schedule : Schedule or None
        When each patch of a stream arrives (None for a fixed input).
    ensemble : Ensemble
        The copies simulated together (chains and chips; one copy by default).
    """

    config: object
    seeds: Seeds
    model: models.SparseCodingModel
    circuit: object
    tau_u: float
    timestep: TimeStep
    noise: NoiseDesign
    devices: DeviceDraw
    schedule: Schedule | None
    ensemble: Ensemble | None = None

    @property
    def copies(self) -> int:
        """Copies of the circuit in the network (``chips x chains``; 1 for a plain run)."""
        return 1 if self.ensemble is None else self.ensemble.copies

    @property
    def chains(self) -> int:
        return 1 if self.ensemble is None else self.ensemble.chains

    @property
    def chips(self) -> int:
        return 1 if self.ensemble is None else self.ensemble.chips

    def chip_alone(self, c: int) -> "Design":
        """The design of chip ``c`` (its position in this ensemble of several chips) run
        alone: ``mismatch.first_chip`` its index and ``chips = 1``; in a batch of seeds,
        ``run.seed`` its seed and no ``run.seeds``. When the step is automatic and the chip
        alone would choose another, the batch's ``dt`` and record interval are set explicitly
        (the batch steps at the smallest step any of its chips would choose).

        Raises
        ------
        RuntimeError
            If the chip alone would still take other steps than the batch.
        """
        changes = {}
        if self.mismatch is not None:
            changes = {"mismatch.first_chip": int(self.ensemble.chip_index[c]),
                       "mismatch.chips": 1}
        if self.ensemble.chip_seed:  # a batch of seeds: the chip is its seed's run alone
            changes["run.seed"] = int(self.ensemble.chip_seed[c])
        base = self.config.without("run.seeds")
        alone = base.replace(**changes).design
        ts = self.timestep
        if alone.dt != self.dt:
            changes.update({"run.dt": f"{self.dt!r} s",
                            "run.record_every": f"{ts.record_stride * self.dt!r} s"})
            alone = base.replace(**changes).design
        steps = lambda t: (t.n_steps, t.record_stride, t.plasticity_stride)  # noqa: E731
        if steps(alone.timestep) != steps(ts):
            raise RuntimeError(f"chip {c} alone would take (steps, record and plasticity "
                               f"strides) {steps(alone.timestep)}, the batch {steps(ts)}")
        return alone

    def caption(self) -> str:
        """The design in one line, for figure titles: ``C = 10 fF, G_m = 1 uS, V_u = 10 mV,
        T = 300 K, tau_u = 10 ns, T_eff = 1``."""
        c = self.circuit
        return (f"C = {fmt(c.capacitance, 'F')}, G_m = {fmt(c.transconductance, 'S')}, "
                f"V_u = {fmt(c.volts_per_unit, 'V')}, T = {fmt(c.temperature, 'K')}, "
                f"tau_u = {fmt(self.tau_u, 's')}, T_eff = {self.T_eff:.4g}")

    # ---- what the config says, read through the design
    @property
    def n_features(self) -> int:
        return self.model.n_features

    @property
    def n_components(self) -> int:
        return self.model.n_components

    @property
    def learning(self):
        """The ``[learning]`` section (None: fixed weights and thresholds)."""
        return self.config.learning

    @property
    def mismatch(self):
        return self.config.mismatch

    @property
    def weights(self):
        return self.config.weights

    @property
    def seed(self) -> int:
        return self.seeds.seed

    @property
    def backend(self) -> str:
        return self.config.run.backend

    @property
    def integrator(self) -> str:
        return self.config.run.integrator

    @property
    def integrator_description(self) -> str:
        return INTEGRATOR_DESCRIPTIONS[self.integrator]

    @property
    def crossbar(self) -> str:
        """``"summed"`` (Brian2 summed variables) or ``"dense"`` (the crossbar kernel)."""
        return self.config.run.crossbar_mode

    @property
    def dynamics(self) -> str:
        """``"langevin"`` (sampling), ``"map"`` (T = 0 descent) or ``"lca"``."""
        return self.learning.dynamics if self.learning is not None else "langevin"

    @property
    def learn_u0(self) -> bool:
        lc = self.learning
        return lc is not None and lc.threshold_time_constant is not None \
            and self.model.prior == "laplace"

    @property
    def shared_u0(self) -> bool:
        return self.learn_u0 and self.learning.threshold == "shared"

    @property
    def is_stream(self) -> bool:
        return self.schedule is not None

    @property
    def records_devices(self) -> bool:
        """Whether the file gets a ``devices`` group (a [mismatch] or [weights] section)."""
        return self.mismatch is not None or self.weights is not None

    @property
    def dt(self) -> float:
        return self.timestep.dt

    @property
    def T_eff(self) -> float:
        return self.noise.budget.T_eff

    # ---- derived lazily (loading images, computing a posterior mean), at most once
    @cached_property
    def stream(self):
        """The input stream (patches and schedule); ConfigError for a fixed input."""
        if self.schedule is None:
            raise ConfigError("input.kind", "a stream (\"bars\", \"file\" or \"images\")", "fixed")
        return make_stream(self.config.input, self.config.model, self.seed, self.schedule)

    @property
    def chip_seeds(self) -> tuple:
        """Each chip's seed, in the ensemble's order (``run.seeds``, each repeated for its
        learners with ``learning.share = "none"``; otherwise ``run.seed`` for every chip)."""
        ens = self.ensemble
        return tuple(ens.chip_seed) if ens is not None and ens.chip_seed else \
            (self.seed,) * self.chips

    @property
    def n_streams(self) -> int:
        """Streams the network presents side by side: one per seed of a batch of seeds
        (``run.seeds``) on a stream, else 1."""
        ens = self.ensemble
        return len(self.config.run.seeds) if self.is_stream and ens.chip_seed else 1

    @cached_property
    def streams(self) -> tuple:
        """The input streams, one per seed of a batch of seeds (:attr:`n_streams`): seed
        ``s``'s is the stream of the run alone with ``run.seed = s``."""
        if self.n_streams == 1:
            return (self.stream,)
        return tuple(make_stream(self.config.input, self.config.model, s, self.schedule)
                     for s in self.config.run.seeds)

    @property
    def own_posteriors(self) -> bool:
        """Whether the chips have dictionaries of their own (a batch of seeds without a given
        ``model.dictionary``: each seed's draw), hence each its own posterior."""
        return (self.ensemble is not None and len(set(self.ensemble.chip_seed)) > 1
                and self.config.model.dictionary is None)

    @cached_property
    def chip_dictionaries(self) -> tuple:
        """Each chip's programmed (starting) dictionary (N, M): the model's; in a batch of
        seeds without a given ``model.dictionary``, each seed's own draw (as alone)."""
        if not self.own_posteriors:
            return (self.model.dictionary,) * self.chips
        drawn = {s: _model(self.config, Seeds(s)).dictionary for s in set(self.chip_seeds)}
        return tuple(drawn[s] for s in self.chip_seeds)

    def copy_starts(self) -> np.ndarray:
        """Every copy's initial ``u`` (Q M,): :attr:`u_init` (:attr:`map_start` for MAP
        descent on the Laplace prior); in a batch of seeds each chip's as its seed alone
        (its prior draw, or its start under its own dictionary and first patch)."""
        laplace_map = self.dynamics == "map" and self.model.prior == "laplace"
        if not (self.ensemble is not None and self.ensemble.chip_seed):
            return np.tile(self.map_start if laplace_map else self.u_init, self.copies)
        per = self.chips // self.n_streams  # a seed's learners
        gaussian = self.model.prior == "gaussian"
        starts = [_prior_draw(Seeds(s), self.model) if laplace_map else self._start(
            dataclasses.replace(self.model, dictionary=phi),
            (self.streams[c // per].patches(0, 1)[0] if self.is_stream else self.x)
            if gaussian else None)
            for c, (s, phi) in enumerate(zip(self.chip_seeds, self.chip_dictionaries))]
        return np.repeat(np.stack(starts), self.chains, axis=0).ravel()

    @cached_property
    def x(self) -> np.ndarray:
        """The fixed input (N,); for a stream, its first patch."""
        if self.config.input.x is not None:
            return np.array(self.config.input.x, dtype=float)
        return self.stream.patches(0, 1)[0]

    @cached_property
    def u_init(self) -> np.ndarray:
        """Initial ``u`` (M,): ``run.u_init`` if given, else the posterior mean (Gaussian
        prior) or zero (Laplace: every unit starts in the dead zone, off)."""
        return self._start(self.model, self.x if self.model.prior == "gaussian" else None)

    def _start(self, model, x) -> np.ndarray:
        """:attr:`u_init` for ``model`` and input ``x`` (read for a Gaussian prior only)."""
        if self.config.run.u_init is not None:
            return np.array(self.config.run.u_init, dtype=float)
        if model.prior == "gaussian":
            return models.gaussian_posterior(model, x)[0]
        return np.zeros(self.n_components)

    @cached_property
    def map_start(self) -> np.ndarray:
        """Initial ``u`` of a MAP-descent learning run on the Laplace prior: T = 0 descent
        cannot leave the dead zone (``h'(u) = 0`` gates the likelihood's pull), so from
        ``u = 0`` nothing would ever switch on; a draw of the prior instead (stream
        ``start``)."""
        return _prior_draw(self.seeds, self.model)

    def wired(self, phi: np.ndarray) -> np.ndarray:
        """The dictionary the crossbar computes with for programmed weights ``phi`` (N, M):
        ``phi`` itself, or with wire resistance (``[crossbar]``) ``G_eff / G_w``
        (:mod:`.ir_drop`)."""
        wires = self.config.wires
        if wires is None:
            return phi
        g_w = self.circuit.transconductance
        return effective_conductances(phi * g_w, wires.row_resistance,
                                      wires.column_resistance) / g_w

    @cached_property
    def ir_drop_error(self) -> float | None:
        """``|Phi_eff - Phi|_F / |Phi|_F`` of the nominal dictionary (None without wires)."""
        if self.config.wires is None:
            return None
        phi = self.model.dictionary
        return relative_error(phi, self.wired(phi))

    @property
    def has_input_offset(self) -> bool:
        """Whether the force current subtracts per-unit input offsets ``Vosj``: a configured
        ``transconductor.input_offset``, or their mismatch."""
        t, mm = self.config.transconductor, self.mismatch
        return ((t is not None and t.input_offset != 0.0)
                or (mm is not None and mm.transconductor_offset_sigma > 0))

    def structure_key(self, kind: str) -> str:
        """What decides the generated code's layout (the standalone build cache's key)."""
        m, lc, w, mm = self.model, self.learning, self.weights, self.mismatch
        return "|".join(map(str, (
            kind, m.n_features, m.n_components, self.chains, self.chips, m.prior, m.positive,
            self.integrator,
            self.crossbar, [n.kind for n in self.config.noise],
            self.timestep.plasticity_stride > 1,
            mm is not None and mm.weight_gain_sigma > 0,
            None if w is None else (w.bits is None, w.rounding, w.retention_time is None,
                                    w.drift_sigma > 0),
            self.circuit.rail_voltage is None, self.circuit.residual_time_constant is None,
            self.config.transconductor is None, self.circuit.output_conductance is None,
            self.config.comparator is None,
            self.has_input_offset,
            [n.get("flicker_corner") is None for n in self.config.noise if n.kind == "measured"],
            None if lc is None else (lc.threshold_time_constant is None, lc.gamma > 0,
                                     lc.dynamics))))

    # ---- serialisation
    def resolved_dict(self) -> dict:
        """The configuration with every default and derived value written out."""
        from .serialise import resolved_dict

        return resolved_dict(self)

    def to_toml(self) -> str:
        from ..config.toml import dumps_toml

        return dumps_toml(self.resolved_dict())


def _model(cfg, seeds: Seeds) -> models.SparseCodingModel:
    m = cfg.model
    if m.dictionary is None:
        phi = models.random_dictionary(m.n_features, m.n_components, seeds.rng("dictionary"))
    else:
        phi = np.array(m.dictionary, dtype=float)
    return models.SparseCodingModel(dictionary=phi, sigma=m.sigma, prior=m.prior, lam=m.lam,
                                    u0=m.u0, positive=m.positive, prior_variance=m.prior_variance)


def _prior_draw(seeds: Seeds, model) -> np.ndarray:
    """A draw of the Laplace prior (M,) from stream ``start``: the MAP-descent start."""
    return seeds.rng("start").laplace(0.0, 1.0 / model.lam, model.n_components)


def _warn_bandwidth(cfg, tau_u: float, lam_max: float) -> None:
    """The behavioural transconductor has no internal poles: warn when the node's fastest
    rate comes within a factor 3 of the cell's measured bandwidth."""
    t = cfg.transconductor
    if t is None or t.bandwidth is None:
        return
    rate = lam_max / (2 * np.pi * tau_u)
    if 3 * rate > t.bandwidth:
        warnings.warn(f"the node's fastest rate lambda_max / (2 pi tau_u) = {fmt(rate, 'Hz')} is "
                      f"not << transconductor.bandwidth = {fmt(t.bandwidth, 'Hz')}: the cell's "
                      "own poles, which the model does not have, act on the sampler (raise C "
                      "or lower G_m)", stacklevel=4)


def _warn_time_scales(cfg, tau_u: float) -> None:
    """Learning must be much slower than inference, and an input held for many ``tau_u``."""
    lc, inp = cfg.learning, cfg.input
    if lc is None:
        return
    for key, tau in (("dictionary_time_constant", lc.dictionary_time_constant),
                     ("threshold_time_constant", lc.threshold_time_constant)):
        if tau is not None and tau < 10 * tau_u:
            warnings.warn(f"learning.{key} = {fmt(tau, 's')} is not >> tau_u = C/G_m = "
                          f"{fmt(tau_u, 's')}: learning should be much slower than inference "
                          "(tau_u << tau_Phi)", stacklevel=4)
    if inp.hold is not None:
        if inp.hold < 3 * tau_u:
            warnings.warn(f"input.hold = {fmt(inp.hold, 's')} is not >> tau_u = "
                          f"{fmt(tau_u, 's')}: each input should be held for many circuit "
                          "time constants (tau_u << tau_x)", stacklevel=4)
        if lc.dictionary_time_constant < 3 * inp.hold:
            warnings.warn(f"learning.dictionary_time_constant = "
                          f"{fmt(lc.dictionary_time_constant, 's')} is not >> input.hold = "
                          f"{fmt(inp.hold, 's')}: the dictionary should average over many "
                          "inputs (tau_x << tau_Phi)", stacklevel=4)


def _comparator_curvature(cfg, model) -> float:
    """The curvature a finite-gain comparator adds (units of ``1/tau_u``): the force's term
    ``h_w''(u) [Phi^T r] / sigma^2`` with ``max h_w'' = 1 / (4 w)``, the drive estimated at
    ``s = 0`` (``r = x``; a stream's first patch is not known here: the bars / image patches
    are of the order of the atoms, so ``|Phi^T x| <= max_j |Phi_j|^2``)."""
    cmp = cfg.comparator
    if cmp is None:
        return 0.0
    w = cmp.width / cfg.circuit.volts_per_unit
    phi = model.dictionary
    if cfg.input.kind == "fixed":
        drive = float(np.max(np.abs(phi.T @ np.asarray(cfg.input.x, dtype=float))))
    else:
        drive = float(np.max(np.sum(phi**2, axis=0)))
    return drive / (4.0 * w * model.sigma**2)


def _timestep(cfg, model, chip_devices, tau_u: float, noise_sources, duration) -> TimeStep:
    tau = tau_u
    mm = cfg.mismatch
    if mm is not None and (mm.gm_sigma > 0 or mm.c_sigma > 0):
        # the fastest unit (of every chip), tau_j = C_j / G_m,j, bounds the step
        tau = tau_u / max(float(np.max(d.gm_rel / d.c_rel)) for d in chip_devices)
    lam_max = models.lambda_max(model) + _comparator_curvature(cfg, model)
    dt, auto = choose_dt(cfg.run, tau, tau_u, lam_max,
                         model.lam if model.prior == "laplace" else None)
    check_flicker_poles(noise_sources, dt)
    if duration < dt:
        raise ConfigError("run.duration", f"at least one step dt = {fmt(dt, 's')}",
                          fmt(duration, "s"))
    rec = record_stride(cfg.run.record_every, dt, auto, tau_u)
    plast = plasticity_stride(cfg.learning, dt, tau_u, cfg.run.crossbar_mode == "dense")
    return TimeStep(dt=dt, auto=auto, tau_step=tau, lambda_max=lam_max,
                    n_steps=int(round(duration / dt)), duration=duration, record_stride=rec,
                    plasticity_stride=plast)


def resolve(cfg) -> Design:
    """Resolve a parsed config into its :class:`Design` (a pure function of ``cfg``).

    Raises
    ------
    ConfigError
        For what only the derived design can reveal: an unstable ``run.dt``, a noise
        section the circuit cannot realise, a ``record_every`` or ``plasticity_dt`` that is
        not a whole number of steps, a flicker band the step cannot resolve.
    """
    seeds = Seeds(cfg.run.seed)
    check_network_size(cfg.model.n_features, cfg.model.n_components, cfg.run.force)
    check_ensemble(cfg)
    model = _model(cfg, seeds)
    mm = cfg.mismatch
    first, n_chips = (mm.first_chip, mm.chips) if mm is not None else (0, 1)
    chip_of = [(seeds.seed, k) for k in range(first, first + n_chips)]
    if cfg.run.seeds is not None:  # a batch of seeds: chip first_chip of each
        chip_of = [(s, first) for s in cfg.run.seeds]
    chip_devices = [draw_devices(mm, cfg.weights, s, model.n_features, model.n_components,
                                 chip=k) for s, k in chip_of]
    devices = chip_devices[0]
    c = cfg.circuit
    tau_u = c.capacitance / c.transconductance
    dynamics = cfg.learning.dynamics if cfg.learning is not None else "langevin"
    chip_noise = [resolve_noise(cfg.noise, c, d, active=dynamics == "langevin")
                  for d in chip_devices]
    noise_design = chip_noise[0]
    ensemble = (single(devices, noise_design) if len(chip_devices) * cfg.run.chains == 1 else
                Ensemble(cfg.run.chains, tuple(k for _, k in chip_of), tuple(chip_devices),
                         tuple(chip_noise),
                         chip_seed=() if cfg.run.seeds is None else tuple(cfg.run.seeds)))
    if cfg.learning is not None and cfg.learning.share == "none" and ensemble.chains > 1:
        ensemble = own_learners(ensemble)
    schedule = None
    if cfg.input.kind != "fixed":
        i = cfg.input
        schedule = Schedule(i.n_patches, i.hold, i.presentation, seeds.seed)
    duration = cfg.run.duration if cfg.run.duration is not None else schedule.duration
    timestep = _timestep(cfg, model, chip_devices, tau_u, noise_design.sources, duration)
    _warn_time_scales(cfg, tau_u)
    _warn_bandwidth(cfg, tau_u, timestep.lambda_max)
    return Design(cfg, seeds, model, c, tau_u, timestep, noise_design, devices, schedule,
                  ensemble)
