"""The Brian2 circuit of one design: latent capacitor nodes, residual nodes and the synaptic
crossbar (the equations are :mod:`.equations`; this module wires them).

:func:`build_network` takes the resolved :class:`~circuit_sim.design.Design` and nothing
else. The run layer then presents its input (:meth:`CircuitNetwork.set_schedule`), seeds
Brian2 and runs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

import brian2 as b2

from models.constraints import Shown

from ..design import quantise
from ..errors import ConfigError
from . import equations as eq
from .crossbar import add_dense_kernel, add_hebb_kernel, add_noise_kernel, dense_codeobject_class

# The input TimedArrays are indexed by patch number (k seconds with dt = 1 s), not by time:
# Brian2's warning that their dt differs from the clock's does not apply.
b2.BrianLogger.suppress_hierarchy("brian2.input.timedarray")


class _Network(b2.Network):
    """A Brian2 ``Network`` that visits its clocks in name order.

    Brian2 keeps a network's clocks in a ``set`` (ordered by object address), and the
    standalone device writes one initialisation line per clock into ``main.cpp`` in that
    order: the same design then gives a different ``main.cpp`` from run to run, and the
    cached project recompiles. Sorting makes the generated code a function of the design.
    """

    @property
    def _clocks(self):
        return self._sorted_clocks

    @_clocks.setter
    def _clocks(self, clocks):
        self._sorted_clocks = tuple(sorted(clocks, key=lambda c: c.name))


@dataclass
class CircuitNetwork:
    """The Brian2 objects of one circuit."""

    net: b2.Network
    latent: b2.NeuronGroup
    residual: b2.NeuronGroup
    crossbar: b2.Synapses
    monitor: b2.StateMonitor
    weight_conductance: float  # G_w, S
    volts_per_unit: float
    finite_bandwidth: bool = False
    n_features: int = 0        # N of one copy
    chips: int = 1             # an ensemble: chips x chains copies (design.ensemble)
    chains: int = 1
    patch_width: int = 0       # columns of a presented patch: N, or K_c N (a stream ensemble)
    standalone: bool = False
    #: per-synapse starting values (name: Quantity, synapse order) a standalone program reads
    #: from files at the start of its run (run_args, :meth:`run_args`)
    synapse_values: dict = field(default_factory=dict)
    #: the dense crossbar: synapse ``k`` is element ``k`` of the row-major (chips, N, M)
    #: conductances (on standalone made without index arrays: ``crossbar.i`` is empty there)
    dense: bool = False
    #: the patch column each residual node reads (:func:`patch_columns`)
    columns: np.ndarray | None = None

    @property
    def copies(self) -> int:
        return self.chips * self.chains

    @property
    def n_synapses(self) -> int:
        """Synapses of the crossbar: ``N M`` per chip (known before a standalone run, where
        the generator that creates them has not run yet)."""
        return self.chips * self.n_features * (len(self.latent) // self.copies)

    def set_synapses(self, name: str, values) -> None:
        """Set the crossbar's per-synapse variable ``name`` (a Quantity, synapse order) before
        a run. On standalone the program reads it from a file as it starts its run (a
        ``run_args`` value) instead of holding a copy of it as a static array next to the
        variable: one array of N M values in memory, not two, and a program whose code
        does not depend on the values."""
        _set_synapses(self.crossbar, self.synapse_values if self.standalone else None, name,
                      values)

    def run_args(self) -> dict:
        """The ``run_args`` of :meth:`set_synapses` (standalone; empty otherwise)."""
        return {getattr(self.crossbar, k): v for k, v in self.synapse_values.items()}

    def set_schedule(self, patches: np.ndarray, switch_at: np.ndarray, n_step: int | None = None,
                     settle: bool = False) -> None:
        """Present ``patches`` (K, N) in turn (an ensemble on a stream: (K, K_c N), chain ``k``
        of every chip reading columns ``k N .. k N + N - 1``); patch ``k`` is replaced at step
        ``switch_at[k]``
        (integer step numbers counted from the start of the stream, increasing; the last
        entry may be ``inf``). ``n_step``: the stream's step number at the start of the next
        run (default: keep counting). ``settle``: start a finite-bandwidth residual settled
        on the first patch (``s = 0``). Call before a ``run``."""
        patches = np.atleast_2d(np.asarray(patches, dtype=float))
        switch_at = np.asarray(switch_at, dtype=float)
        width = self.patch_width or self.n_features
        if patches.shape[1] != width or len(switch_at) != len(patches):
            raise ConfigError("schedule", f"patches (K, {width}) and K switch times",
                              Shown(f"{patches.shape} and {switch_at.shape}"))
        far = np.where(np.isfinite(switch_at), switch_at, 1e300)
        ns = self.residual.namespace
        ns["patches"] = b2.TimedArray(patches * self.volts_per_unit * b2.volt, dt=1 * b2.second,
                                      name="patches")
        ns["switch_at"] = b2.TimedArray(far, dt=1 * b2.second, name="switch_at")
        self.residual.k_patch = 0
        self.residual.n_next = far[0]
        if n_step is not None:
            self.residual.n_step = n_step
        if settle and self.finite_bandwidth:
            self.residual.vr = patches[0][self.columns] * self.volts_per_unit * b2.volt

    def dictionary(self) -> np.ndarray:
        """The dictionary ``Phi`` (N, M) read back from the synaptic conductances; (chips,
        N, M) for an ensemble of several chips."""
        return self.dictionary_from(np.asarray(self.crossbar.g_[:]))

    def dictionary_from(self, g: np.ndarray) -> np.ndarray:
        """``Phi`` (N, M) (several chips: (chips, N, M)) from a vector of conductances in
        synapse order (S)."""
        n, m = self.n_features, len(self.latent) // self.copies
        if self.dense:  # row-major blocks, one per chip (an ensemble is always dense)
            phi = np.asarray(g, dtype=float).reshape(self.chips, n, m) / self.weight_conductance
            return phi[0] if self.chips == 1 else phi
        i = np.asarray(self.crossbar.i[:])
        j = np.asarray(self.crossbar.j[:])
        phi = np.zeros((n, m))
        phi[j, i] = np.asarray(g) / self.weight_conductance
        return phi

    def state_names(self) -> list[str]:
        """Latent state variables a resume needs beyond ``v``, ``u0`` and ``g`` (the previous
        Leimkuhler-Matthews draw, the flicker OU currents, a spectrum's components)."""
        return [k for k in self.latent.variables
                if k.startswith(("rprev_", "y_", "ys_", "zh_", "ih_"))]


def add_run_time_stop(circ: CircuitNetwork) -> None:
    """Make a standalone program end itself after ``residual.n_stop`` steps.

    ``residual.n_step`` counts the steps (incremented at the start of each step); once it
    reaches ``n_stop`` the step finishes and Brian2's run loop ends (the flag its Ctrl-C
    handler also sets). The network is then run for :data:`RUN_TIME_STOP_HORIZON` steps and
    ``n_stop`` is passed as a ``run_args`` value, so runs of different lengths share one
    compiled program.
    """
    f = b2.Function(pyfunc=None, arg_units=[1, 1], return_unit=1, stateless=False)
    f.implementations.add_implementation("cpp", eq.STOP_CODE, name="circuit_stop_at",
                                         compiler_kwds={"headers": ['"network.h"']})
    circ.residual.namespace["circuit_stop_at"] = f
    circ.residual.run_regularly("kernel_stop = circuit_stop_at(n_step, n_stop)", when="end",
                                name="residual_stop")  # after every other object of the step


def add_progress_file(circ: CircuitNetwork, dt: float) -> None:
    """Make a standalone program write its step count to ``results/progress.txt`` about twice
    a second (checked every :data:`PROGRESS_EVERY` steps), for the caller's progress bar. The
    residual group declares the shared dummy ``kernel_progress`` on the standalone backend."""
    f = b2.Function(pyfunc=None, arg_units=[1], return_unit=1, stateless=False)
    f.implementations.add_implementation("cpp", eq.PROGRESS_CODE, name="circuit_progress",
                                         compiler_kwds={"headers": ["<chrono>", "<cstdio>",
                                                                     '"objects.h"']})
    circ.residual.namespace["circuit_progress"] = f
    circ.residual.run_regularly("kernel_progress = circuit_progress(n_step)", when="end",
                                dt=eq.PROGRESS_EVERY * dt * b2.second, name="residual_progress")


def _namespace(design) -> dict:
    c, model, lc = design.circuit, design.model, design.learning
    ns = {"C": c.capacitance * b2.farad, "G_m": c.transconductance * b2.siemens,
          "V_u": c.volts_per_unit * b2.volt, "G_w": c.transconductance * b2.siemens,
          "sigma2": model.sigma**2, "lam": model.lam, "prior_var": model.prior_variance}
    if lc is not None:
        ns["tau_Phi"] = lc.dictionary_time_constant * b2.second
        ns["gamma_n"] = lc.gamma
        if design.learn_u0:
            ns["tau_u0"] = lc.threshold_time_constant * b2.second
    for k, (taus, sds) in enumerate(design.noise.flicker):
        for p, (tau, sd) in enumerate(zip(taus, sds)):
            ns[f"tauf_{k}_{p}"] = float(tau) * b2.second
            ns[f"sdf_{k}_{p}"] = float(sd) * b2.amp
    if c.rail_voltage is not None:
        ns["v_rail"] = c.rail_voltage * b2.volt
    if design.config.transconductor is not None:
        ns["I_sat"] = design.config.transconductor.saturation_current * b2.amp
    if c.output_conductance is not None:
        ns["G_o"] = c.output_conductance * b2.siemens
    if design.config.comparator is not None:
        ns["w_cmp"] = design.config.comparator.width / c.volts_per_unit
    w = design.weights
    if w is not None and w.retention_time is not None:
        ns["tau_ret"] = w.retention_time * b2.second
    return ns


def _linked_threshold(design) -> bool:
    """Whether the learned thresholds follow a gradient summed in the group ``threshold``:
    one threshold shared by the units, or an ensemble (a chip's chains share its thresholds)."""
    return design.learn_u0 and (design.shared_u0 or design.copies > 1)


def _threshold_gradient(latent, ns, clock, design) -> list:
    """The learned thresholds' gradient, summed per chip: a group of one node per threshold
    of each chip (``shared``: one per chip; else one per unit) summing ``dE/du0_j`` over the
    units it serves (a summed variable, after the drive ``i_d`` is in place) and averaging it
    over the chip's chains (``/ n_u0avg``, the batch rule of the dictionary), linked back to
    every unit of every chain; each unit's ``u0`` then moves by its node's amount, so a chip's
    chains keep one set of thresholds (comparator offsets stay per unit)."""
    m, kc = design.n_components, design.chains
    per_chip = 1 if design.shared_u0 else m
    k = np.arange(design.copies * m)
    node = (k // m // kc) * per_chip + (0 if design.shared_u0 else k % m)
    ns["n_u0avg"] = float(kc)
    thr = b2.NeuronGroup(design.chips * per_chip, "grad : 1", namespace=ns, clock=clock,
                         name="threshold")
    thr_sum = b2.Synapses(latent, thr, "grad_post = hp_pre * sign(v_pre) * i_d_pre / "
                          "(G_w * V_u * sigma2) / n_u0avg : 1 (summed)", namespace=ns,
                          clock=clock, name="threshold_sum")
    thr_sum.connect(i=k, j=node)
    upd = thr_sum.summed_updaters["grad_post"]
    upd.when, upd.order = "start", eq.ORDER_SUM_U0
    latent.grad_u0 = b2.linked_var(thr, "grad", index=node)
    return [thr, thr_sum]


def _common_noise(latent, ns, clock, m: int, amplitude: float, integrator: str,
                  copies: int = 1) -> list:
    """One node per copy drawing the common-mode noise once per step (Euler-Maruyama or
    Leimkuhler-Matthews, like the units' own), linked into every unit of its copy as
    ``eta_c`` (``m``: units per copy)."""
    ns["amp_c"] = amplitude * b2.amp * b2.second**0.5
    grp = b2.NeuronGroup(copies, "eta : second**-0.5\nrprev : 1", clock=clock,
                         name="common_noise")
    draw = "\n".join(eq.white_draw_code("", integrator))
    grp.rprev = "randn()"
    grp.run_regularly(draw, when="start", order=eq.ORDER_S, name="common_noise_draw")
    latent.eta_c = b2.linked_var(grp, "eta", index=np.arange(m * copies) // m)
    return [grp]


def _spectrum_states(latent, ns, spectrum, dt: float) -> None:
    """Constants of each tabulated spectrum's components (:func:`.equations.spectrum_code`)
    and their stationary start: ``ys ~ N(0, sd^2)``, ``z ~ N(0, tau / 2)``."""
    for k, (lp_tau, lp_sd, hp_tau, hp_amp) in enumerate(spectrum):
        for p, (tau, sd) in enumerate(zip(lp_tau, lp_sd)):
            dec = math.exp(-dt / tau)
            ns[f"decs_{k}_{p}"] = dec
            ns[f"sqs_{k}_{p}"] = sd * math.sqrt(1.0 - dec * dec) * b2.amp
            setattr(latent, f"ys_{k}_{p}", f"{float(sd)!r} * amp * randn()")
        for q, (tau, amp) in enumerate(zip(hp_tau, hp_amp)):
            ns[f"dech_{k}_{q}"] = math.exp(-dt / tau)
            ns[f"tauh_{k}_{q}"] = tau * b2.second
            ns[f"ah_{k}_{q}"] = amp * b2.amp * b2.second**0.5
            setattr(latent, f"zh_{k}_{q}", f"{math.sqrt(float(tau) / 2)!r} * second**0.5 * randn()")


def _per_unit(design) -> dict:
    """Per-unit arrays of every copy, (Q M,): relative C and G_m, white amplitude (A
    s^0.5; None without white noise), threshold offsets (V), each copy from its chip."""
    ens = design.ensemble
    if ens is None or ens.copies == 1:
        dev, noise = design.devices, design.noise
        return {"c_rel": dev.c_rel, "gm_rel": dev.gm_rel, "amp": noise.white_amplitude,
                "offset": dev.threshold_offset, "vos": dev.transconductor_offset}
    amp = (None if design.noise.white_amplitude is None else
           ens.per_copy([np.broadcast_to(nd.white_amplitude, (design.n_components,))
                         for nd in ens.noise]).ravel())
    return {"c_rel": ens.per_copy([d.c_rel for d in ens.devices]).ravel(),
            "gm_rel": ens.per_copy([d.gm_rel for d in ens.devices]).ravel(), "amp": amp,
            "offset": ens.per_copy([d.threshold_offset for d in ens.devices]).ravel(),
            "vos": ens.per_copy([d.transconductor_offset for d in ens.devices]).ravel()}


def _latent(design, ns, clock) -> tuple[b2.NeuronGroup, list]:
    model, c, noise = design.model, design.circuit, design.noise
    m, q = model.n_components, design.copies
    n_white = 0 if noise.white_amplitude is None else 1
    poles = [len(taus) for taus, _ in noise.flicker]
    unit = _per_unit(design)
    latent = b2.NeuronGroup(
        m * q, eq.latent_equations(model.prior, model.positive, n_white, poles, design.learn_u0,
                               design.dynamics, _linked_threshold(design),
                               saturation=design.config.transconductor is not None,
                               leak=c.output_conductance is not None,
                               common=noise.common_amplitude is not None,
                               n_rtn=len(noise.telegraph),
                               spectrum=tuple((len(sp[0]), len(sp[2])) for sp in noise.spectrum),
                               input_offset=design.has_input_offset),
        method="euler", namespace=ns, clock=clock, name="latent")
    extra = _threshold_gradient(latent, ns, clock, design) if _linked_threshold(design) else []
    if noise.common_amplitude is not None:
        extra += _common_noise(latent, ns, clock, m, noise.common_amplitude, design.integrator,
                               q)
    latent.Cj = c.capacitance * unit["c_rel"] * b2.farad
    if design.has_input_offset:
        t = design.config.transconductor
        latent.Vosj = ((0.0 if t is None else t.input_offset) + unit["vos"]) * b2.volt
    latent.Gmj = c.transconductance * unit["gm_rel"] * b2.siemens
    if n_white:
        latent.amp_0 = unit["amp"] * b2.amp * b2.second**0.5
    if model.prior == "laplace":  # comparator offsets move the soft threshold
        cmp = design.config.comparator
        offset = unit["offset"] + (0.0 if cmp is None else cmp.offset)
        latent.u0 = np.maximum(model.u0 + offset / c.volts_per_unit, 0.0)
    else:
        latent.u0 = model.u0
    latent.v = design.copy_starts() * c.volts_per_unit * b2.volt  # (Q M,)
    if c.rail_voltage is not None:  # the node saturates at the supply rails
        latent.run_regularly("v = clip(v, -v_rail, v_rail)", when="after_groups",
                             name="latent_rails")
    for k, (half, rate) in enumerate(noise.telegraph):
        ns[f"a_rtn_{k}"] = half * b2.amp
        ns[f"p_rtn_{k}"] = 0.5 * -np.expm1(-2.0 * rate * design.dt)
        setattr(latent, f"q_rtn_{k}", "2 * int(rand() < 0.5) - 1")  # stationary start
    _spectrum_states(latent, ns, noise.spectrum, design.dt)
    # a standalone ensemble draws its white noise in one C++ call per step (noise_kernel)
    draws = eq.noise_draw_code(0 if noise_kernel(design) else n_white, poles, design.integrator)
    if noise.telegraph:
        draws = "\n".join(x for x in (draws, eq.telegraph_code(len(noise.telegraph))) if x)
    if noise.spectrum:
        shape = tuple((len(sp[0]), len(sp[2])) for sp in noise.spectrum)
        draws = "\n".join(x for x in (draws, eq.spectrum_code(shape)) if x)
    for k in range(n_white):
        setattr(latent, f"rprev_{k}", "randn()")
    latent.run_regularly(eq.threshold_code(model.prior, model.positive,
                                           design.config.comparator is not None)
                         + ("\n" + draws if draws else ""), when="start", order=eq.ORDER_S,
                         name="latent_store_s")
    return latent, extra


def noise_kernel(design) -> bool:
    """Whether the latent nodes' white noise is drawn by the C++ noise kernel (a standalone
    ensemble with white noise; :func:`.crossbar.add_noise_kernel`)."""
    return (design.backend == "standalone" and design.copies > 1
            and design.noise.white_amplitude is not None)


def fused_kernel(design) -> bool:
    """Whether both crossbar products run in one pass over ``G`` (:func:`.crossbar_source.
    fused_kernel_cpp`): a single circuit on standalone with the dense kernel and an ideal
    residual (``vr = x - i_s / G_w``, which that pass computes for its backward product)."""
    return (design.backend == "standalone" and design.crossbar == "dense"
            and design.copies == 1 and design.circuit.residual_time_constant is None)


def patch_width(design) -> int:
    """Columns of a presented patch: ``N``; an ensemble on a stream, ``K_c N`` (its chains
    see consecutive patches of the stream; :func:`circuit_sim.design.ensemble.check_ensemble`),
    and a batch of seeds on a stream ``S K_c N`` (each of its ``S`` seeds' streams side by
    side)."""
    return design.n_features * (design.chains * design.n_streams if design.is_stream else 1)


def patch_columns(design) -> np.ndarray:
    """The column of the presented patch each residual node reads (Q N,): node ``q N + f``
    of copy ``q`` (chip ``c = q // K_c``, chain ``k = q % K_c``) reads ``f`` of its chain's
    patch, ``(s K_c + k) N + f`` with ``s`` the chip's stream (:func:`patch_width`)."""
    n, kc = design.n_features, design.chains
    i = np.arange(n * design.copies)
    chain_width = n * kc if design.is_stream else n
    per = design.chips // design.n_streams  # chips (learners) per stream
    return (i // (per * kc * n)) * chain_width + i % chain_width


def _residual(design, ns, clock) -> b2.NeuronGroup:
    c = design.circuit
    residual = b2.NeuronGroup(design.n_features * design.copies,
                              eq.residual_equations(design.crossbar == "dense",
                                                    design.backend == "standalone",
                                                    noise_kernel(design), design.copies,
                                                    fused_kernel(design)),
                              namespace=dict(ns), clock=clock, name="residual")
    if c.residual_time_constant is not None:
        residual.namespace["alpha_r"] = -np.expm1(-design.dt / c.residual_time_constant)
    if design.copies > 1:  # set once (on standalone a static array: no code depends on it)
        residual.feat = patch_columns(design)
    if fused_kernel(design):  # the input before the one-pass kernel, the residual after it
        stage, store = eq.fused_residual_code()
        residual.run_regularly(stage, when="start", order=eq.ORDER_S, name="residual_input")
        residual.run_regularly(store, when="start", order=eq.ORDER_R, name="residual_store_r")
        return residual
    residual.run_regularly(eq.residual_code(c.residual_time_constant is not None,
                                            design.copies),
                           when="start", order=eq.ORDER_R, name="residual_store_r")
    return residual


def _set_synapses(crossbar, pending: dict | None, name: str, values) -> None:
    """``crossbar.<name> = values``, or on standalone (``pending``, the values the program
    reads at the start of its run) ``pending[name] = values``."""
    if pending is None:
        setattr(crossbar, name, values)
    else:
        pending[name] = values


def _program_weights(design, crossbar, ns, post, pre, g_w: float, put) -> None:
    """Programmed conductances (per-synapse gain and offset, then the memory's resolution),
    the drift rates, and the re-quantisation after each step of the weights' equation."""
    dev, w, lc = design.devices, design.weights, design.learning
    chips = design.ensemble.devices if design.copies > 1 else (dev,)
    if len(chips) > 1:  # one row-major block per chip (equations.ensemble_order)
        pre, post = eq.row_major_order(design.n_features, design.n_components)

    def per_synapse(arrays) -> np.ndarray:
        return np.concatenate([a[post, pre] for a in arrays])

    phi = per_synapse([design.wired(quantise(phi0 * d.weight_gain + d.weight_offset, w))
                       for d, phi0 in zip(chips, design.chip_dictionaries)])
    put("g", phi * g_w * b2.siemens)
    if lc is not None and design.mismatch is not None and design.mismatch.weight_gain_sigma > 0:
        put("wgain", per_synapse([d.weight_gain for d in chips]))
    if w is not None and w.drift_sigma > 0:
        put("drift", per_synapse([d.drift_rate for d in chips]) * b2.hertz)
    if w is not None and w.bits is not None and (lc is not None or w.dynamic):
        ns["w_lsb"] = w.lsb * g_w * b2.siemens
        ns["n_levels"] = 2 ** (w.bits - 1) - 1
        r = "rand()" if w.rounding == "stochastic" else "0.5"
        crossbar.run_regularly(f"g = w_lsb * clip(floor(g / w_lsb + {r}), -n_levels, n_levels)",
                               when="after_groups", name="crossbar_quantise")


def _crossbar(design, ns, latent, residual, clock, values: dict) -> tuple[b2.Synapses, list]:
    lc, w, mm = design.learning, design.weights, design.mismatch
    n, m = design.n_features, design.n_components
    dense = design.crossbar == "dense"
    gain = lc is not None and mm is not None and mm.weight_gain_sigma > 0
    batch = lc is not None and design.chains > 1  # the chains share the chip's plasticity
    model = eq.crossbar_equations(dense, lc is not None, lc.gamma if lc is not None else 0.0,
                                  gain, w is not None and w.retention_time is not None,
                                  w is not None and w.drift_sigma > 0, batch)
    # Multirate: the plasticity equation (the crossbar's only state update in dense mode)
    # may run on its own clock, K steps of the circuit's, with Brian2's dt = K dt.
    k_plast = design.timestep.plasticity_stride
    syn_clock = clock
    if k_plast > 1:
        if not dense:
            raise RuntimeError("a plasticity clock slower than the circuit's needs the dense "
                               "crossbar (the design should have refused this)")
        syn_clock = b2.Clock(dt=k_plast * design.dt * b2.second, name="plasticity_clock")
    codeobj = (dense_codeobject_class(n, m, design.chips, design.chains)
               if dense and design.backend == "standalone" else None)
    crossbar = b2.Synapses(latent, residual, model=model, namespace=ns, clock=syn_clock,
                           method="euler", name="crossbar", codeobj_class=codeobj)
    if design.copies > 1:
        pre, post = eq.ensemble_order(n, m, design.chips, design.chains)
    else:
        pre, post = eq.row_major_order(n, m) if dense else eq.diagonal_order(n, m)
    # dense: the same synapses, in the same order, without index arrays in the program (and on
    # standalone without them in its memory: dense_codeobject_class)
    if dense:
        crossbar.connect(i=eq.ensemble_generator(n, m, design.chips, design.chains))
    else:
        crossbar.connect(i=pre, j=post)
    pending = values if design.backend == "standalone" else None
    _program_weights(design, crossbar, ns, post, pre, design.circuit.transconductance,
                     functools.partial(_set_synapses, crossbar, pending))
    extra = []
    if dense:
        extra = add_dense_kernel(latent, residual, crossbar, design.circuit.volts_per_unit,
                                 eq.ORDER_SUM_S, eq.ORDER_SUM_D,
                                 standalone=design.backend == "standalone",
                                 full_backward=design.dynamics == "lca",
                                 chips=design.chips, chains=design.chains,
                                 dynamic_weights=_dynamic_weights(design),
                                 fused_g_w=(design.circuit.transconductance
                                            if fused_kernel(design) else None))
        if batch:
            extra += add_hebb_kernel(latent, residual, crossbar, design.circuit.volts_per_unit,
                                     design.chips, design.chains, eq.ORDER_HEBB,
                                     design.backend == "standalone")
    else:
        upd = crossbar.summed_updaters
        upd["i_s_post"].when, upd["i_s_post"].order = "start", eq.ORDER_SUM_S
        upd["i_d_pre"].when, upd["i_d_pre"].order = "start", eq.ORDER_SUM_D
    if lc is not None and lc.gamma > 0:
        upd = crossbar.summed_updaters["norm2_pre"]
        upd.when, upd.order = "start", eq.ORDER_SUM_D
    return crossbar, extra


def _dynamic_weights(design) -> bool:
    """Whether the conductances change during a run (learning, drift, retention leak, a
    re-quantised dynamic memory)."""
    w = design.weights
    return design.learning is not None or (w is not None and (
        w.drift_sigma > 0 or w.retention_time is not None or (w.bits is not None and w.dynamic)))


def build_network(design) -> CircuitNetwork:
    """Construct the Brian2 network of a resolved design.

    The latent nodes start at ``design.copy_starts()`` (each copy ``design.u_init``, or in a
    batch of seeds its seed's); the input is the design's fixed ``x``
    (presented for ever) or, for a stream, nothing yet: the run presents its window with
    :meth:`CircuitNetwork.set_schedule`. The crossbar's products are Brian2 summed
    variables over the synapses (diagonal order) or the dense kernel of :mod:`.crossbar`
    (row-major order), as ``design.crossbar`` says; the conductances are Brian2 synaptic
    state either way. On the standalone backend the residual group carries the shared
    variables of :func:`add_run_time_stop`.

    Parameters
    ----------
    design : Design
        The resolved design (:func:`circuit_sim.design.resolve`).

    Returns
    -------
    CircuitNetwork
    """
    ns = _namespace(design)
    clock = b2.Clock(dt=design.dt * b2.second, name="circuit_clock")
    latent, extra_u0 = _latent(design, ns, clock)
    residual = _residual(design, ns, clock)
    if noise_kernel(design):
        add_noise_kernel(latent, residual, design.integrator, eq.ORDER_S)
    standalone = design.backend == "standalone"
    values = {}  # per-synapse starting values (CircuitNetwork.set_synapses)
    crossbar, extra = _crossbar(design, ns, latent, residual, clock, values)
    record = ["v", "u0"] if design.learn_u0 else "v"
    monitor = b2.StateMonitor(latent, record, record=True,
                              dt=design.timestep.record_stride * design.dt * b2.second,
                              when="start", order=eq.ORDER_MONITOR, name="latent_monitor")
    net = _Network(latent, residual, crossbar, monitor, *extra, *extra_u0)
    c = design.circuit
    circ = CircuitNetwork(net, latent, residual, crossbar, monitor, c.transconductance,
                          c.volts_per_unit, c.residual_time_constant is not None,
                          design.n_features, design.chips, design.chains, patch_width(design),
                          standalone, values, dense=design.crossbar == "dense",
                          columns=patch_columns(design))
    first = np.zeros(patch_width(design)) if design.is_stream else design.x
    circ.set_schedule(np.atleast_2d(first), np.array([np.inf]), n_step=0, settle=True)
    return circ
