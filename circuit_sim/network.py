"""The Brian2 circuit: latent capacitor nodes, residual nodes and the synaptic crossbar.

Physical picture (SPEC section 3), per latent unit ``i``::

    C dv_i/dt = G_m V_u * force_i(u) + sum_k i_n,k(t),      u_i = v_i / V_u

with ``force = -dE/du`` (dimensionless) and every white noise source ``k`` entering as
``sqrt(S_k / 2) * xi_k(t)`` (``S_k`` one-sided, A^2/Hz; independent white sources into one
node are drawn as one current with the summed PSD); a flicker source is a bank of
Ornstein-Uhlenbeck currents, one extra state variable per pole. The dictionary is a
crossbar of conductances ``g_ij = G_w * Phi_ij`` (one ``Synapses`` object). The latent
output voltage ``vs_j = V_u * s_j`` drives the crossbar; by Kirchhoff's law it delivers
the current ``i_s,i = sum_j g_ij vs_j`` to residual node ``i``, whose voltage is
``vr_i = V_u x_i - i_s,i / G_w`` (``= V_u r_i``); the transposed read-out gives the drive
current ``i_d,j = sum_i g_ij vr_i`` (``= G_w V_u [Phi^T r]_j``). Both sums are Brian2
summed variables over the same synapses.

Schedule within one time step (all explicit, in the ``start`` slot, before the state
update in ``groups``): order 0 stores ``s`` and ``h'(u)`` from ``v``; order 1 the summed
variable ``i_s``; order 2 stores ``vr``; order 3 the summed variable ``i_d``; order 4 the
monitor records ``v`` at the start of the step. Storing ``s``, ``h'``, ``vr`` once per step
(instead of subexpressions read through the synapses) and the "diagonal" synapse order
(consecutive synapses touch different targets) are the speed levers of SPEC section 7.

Integrators (``run.integrator``): Euler-Maruyama with the Ito interpretation (all noise is
additive here, so Ito and Stratonovich coincide; weak order 1), or Leimkuhler-Matthews,
the same step with the noise increment averaged over two consecutive draws, which has the
exact stationary variance on Gaussian targets for any stable step. The noise increments
are drawn explicitly once per step in a fixed order (see :func:`_noise_draw_code`) and
Brian2's ``euler`` method integrates the rest. The dimensionless step is ``h = dt/tau_u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import brian2 as b2

import models

from .config import Config
from .crossbar import add_dense_kernel, row_major_order

# The input TimedArrays are indexed by patch number (k seconds with dt = 1 s), not by time:
# Brian2's warning that their dt differs from the clock's does not apply.
b2.BrianLogger.suppress_hierarchy("brian2.input.timedarray")

#: Scheduling orders in the 'start' slot (see module docstring).
ORDER_S, ORDER_SUM_S, ORDER_R, ORDER_SUM_D, ORDER_SUM_U0, ORDER_MONITOR = 0, 1, 2, 3, 4, 5


def diagonal_order(n_features: int, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Synapse indices in "diagonal" order: consecutive synapses touch different targets.

    Synapse ``k`` connects latent ``pre = k % M`` to residual ``post = (k % M + k // M) % N``.
    Every (pre, post) pair appears exactly once.

    Returns
    -------
    pre, post : ndarray of int, shape (N*M,)
    """
    k = np.arange(n_features * n_components)
    pre = k % n_components
    post = (pre + k // n_components) % n_features
    return pre, post


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
    """The Brian2 objects of one circuit and the constants used to build them."""

    net: b2.Network
    latent: b2.NeuronGroup
    residual: b2.NeuronGroup
    crossbar: b2.Synapses
    monitor: b2.StateMonitor
    weight_conductance: float  # G_w, S
    noise_terms: tuple          # (name, kind, amplitude) per source, as wired
    volts_per_unit: float = 1.0

    def set_schedule(self, patches: np.ndarray, switch_at: np.ndarray, n_step: int | None = None
                     ) -> None:
        """Present ``patches`` (K, N) in turn; patch ``k`` is replaced at step ``switch_at[k]``
        (integer step numbers counted from the start of the stream, increasing; the last
        entry may be ``inf``). ``n_step``: the stream's step number at the start of the next
        run (default: keep counting). Call before a ``run``."""
        patches = np.atleast_2d(np.asarray(patches, dtype=float))
        switch_at = np.asarray(switch_at, dtype=float)
        if patches.shape[1] != len(self.residual) or len(switch_at) != len(patches):
            raise ValueError(f"schedule: expected patches (K, {len(self.residual)}) and K switch "
                             f"times, got {patches.shape} and {switch_at.shape}")
        far = np.where(np.isfinite(switch_at), switch_at, 1e300)
        ns = self.residual.namespace
        ns["patches"] = b2.TimedArray(patches * self.volts_per_unit * b2.volt, dt=1 * b2.second,
                                      name="patches")
        ns["switch_at"] = b2.TimedArray(far, dt=1 * b2.second, name="switch_at")
        self.residual.k_patch = 0
        self.residual.n_next = far[0]
        if n_step is not None:
            self.residual.n_step = n_step

    def dictionary(self) -> np.ndarray:
        """The dictionary ``Phi`` (N, M) read back from the synaptic conductances."""
        i = np.asarray(self.crossbar.i[:])
        j = np.asarray(self.crossbar.j[:])
        g = np.asarray(self.crossbar.g_[:])
        phi = np.zeros((len(self.residual), len(self.latent)))
        phi[j, i] = g / self.weight_conductance
        return phi


def _latent_equations(model: models.SparseCodingModel, white: list, flicker: list,
                      learn_u0: bool = False, dynamics: str = "langevin",
                      shared_u0: bool = False) -> str:
    """Equations of the latent nodes (Brian2 syntax, physical units).

    The white noise of source ``k`` is the current ``amp_k * eta_k`` with ``amp_k =
    sqrt(S_k / 2)`` and ``eta_k = randn() / sqrt(dt)`` redrawn once per step (see
    :func:`_noise_draw_code`): integrated by Euler this is exactly Euler-Maruyama,
    ``dv = ... + sqrt(dt) amp_k N(0, 1) / C``. Brian2's own ``xi_k`` would do the same,
    but Brian2 draws several ``xi`` in the iteration order of a Python ``set`` of their
    names, which changes with the interpreter's hash seed: the same seed would then not
    give the same result in another process.
    """
    if model.prior == "gaussian":
        force = "i_d / (G_w * V_u * sigma2) - v / (V_u * prior_var)"
    elif dynamics == "lca" and model.positive:  # s = |ST(u)|: the drive enters with ds/d|u|
        # (+1 at u = 0 exactly, so that a unit at rest can be driven: sign(0) = 0 would
        # hold it at 0 for ever)
        force = "(2.0 * int(v >= 0 * volt) - 1.0) * i_d / (G_w * V_u * sigma2) - (v / V_u - s)"
    elif dynamics == "lca":  # tau_u du/dt = Phi^T r / sigma^2 - (u - s)
        force = "i_d / (G_w * V_u * sigma2) - (v / V_u - s)"
    else:
        force = "hp * i_d / (G_w * V_u * sigma2) - lam * sign(v)"
    noise = "".join(f" + amp_{k} * eta_{k} / Cj" for k, _ in enumerate(white))
    flick = " + ".join(f"y_{k}_{p}" for k, bank in flicker for p in range(len(bank[0])))
    drive = f"Gmj * V_u * force + {flick}" if flick else "Gmj * V_u * force"
    eqs = [f"dv/dt = ({drive}) / Cj{noise} : volt",
           f"force = {force} : 1",
           "Cj : farad (constant)      # node capacitance (mismatch: per unit)",
           "Gmj : siemens (constant)   # transconductance (mismatch: per unit)",
           "i_d : amp        # drive current from the crossbar (summed variable)",
           "s : 1            # soft-thresholded code, stored once per step",
           "hp : 1           # h'(u), stored once per step",
           "vs = V_u * s : volt",
           "norm2 : 1        # |Phi_j|^2 (summed variable; column normalisation only)"]
    if learn_u0 and shared_u0:  # one threshold: every u0_j follows -sum_j dE/du0_j
        eqs.append("du0/dt = -grad_u0 / tau_u0 : 1")
        eqs.append("grad_u0 : 1 (linked)  # sum_j dE/du0_j, from the group 'threshold'")
    elif learn_u0:  # tau_u0 du0/dt = -dE/du0 = -h'(u) sign(u) [Phi^T r] / sigma^2
        eqs.append("du0/dt = -hp * sign(v) * i_d / (G_w * V_u * sigma2) / tau_u0 : 1")
    else:
        eqs.append("u0 : 1            # soft threshold (per unit)")
    for k, _ in enumerate(white):
        eqs.append(f"amp_{k} : amp * second**0.5 (constant)  # sqrt(S_I / 2) of source {k}")
        eqs.append(f"eta_{k} : second**-0.5   # white noise of source {k}, drawn once per step")
        eqs.append(f"rprev_{k} : 1            # previous normal draw (Leimkuhler-Matthews)")
    for k, (taus, sds) in flicker:
        for p in range(len(taus)):
            eqs.append(f"dy_{k}_{p}/dt = -y_{k}_{p} / tauf_{k}_{p} + "
                       f"sdf_{k}_{p} * sqrt(2 / tauf_{k}_{p}) * etaf_{k}_{p} : amp")
            eqs.append(f"etaf_{k}_{p} : second**-0.5")
    return "\n".join(eqs)


def _noise_draw_code(white: list, flicker: list, integrator: str = "euler") -> str:
    """Abstract code drawing every noise variable once per step, in a fixed order.

    Euler-Maruyama: ``eta = R_n / sqrt(dt)``. Leimkuhler-Matthews: ``eta = (R_{n-1} + R_n) /
    (2 sqrt(dt))`` with the previous draw kept in ``rprev`` (so each normal draw enters two
    consecutive steps). The flicker OU poles are always stepped by Euler-Maruyama.
    """
    lines = []
    for k, _ in enumerate(white):
        if integrator == "leimkuhler_matthews":
            lines += [f"rnew_{k} = randn()",
                      f"eta_{k} = (rprev_{k} + rnew_{k}) / (2 * sqrt(dt))",
                      f"rprev_{k} = rnew_{k}"]
        else:
            lines.append(f"eta_{k} = randn() / sqrt(dt)")
    lines += [f"etaf_{k}_{p} = randn() / sqrt(dt)" for k, (taus, _) in flicker
              for p in range(len(taus))]
    return "\n".join(lines)


def _crossbar_equations(dense: bool, learning, gain: bool = False, leak: bool = False,
                        drift: bool = False) -> str:
    """Synapse equations: the conductance ``g`` (S), the two Kirchhoff sums (unless the
    dense kernel computes them) and, when learning, the plasticity rule

    ``tau_Phi dg/dt = G_w [r_i s_j / sigma^2 - gamma Phi_ij (|Phi_j|^2 - 1)]``, ``Phi = g / G_w``,

    a clock-driven synaptic differential equation (``r = vr / V_u``, ``s`` stored per step).
    Non-idealities (:mod:`circuit_sim.nonideal`): ``gain`` multiplies the rule by the
    synapse's gain ``wgain``; ``leak`` adds ``-g / tau_ret``; ``drift`` adds ``G_w d_ij``.
    """
    lines = []
    terms = []
    if learning is not None:
        norm = " - gamma_n * (g / G_w) * (norm2_pre - 1)" if learning.gamma > 0 else ""
        rule = f"G_w * ((vr_post / V_u) * s_pre / sigma2{norm}) / tau_Phi"
        terms.append(f"wgain * {rule}" if gain else rule)
        if gain:
            lines.append("wgain : 1 (constant)  # gain of this synapse's learning circuit")
    if leak:
        terms.append("- g / tau_ret")
    if drift:
        terms.append("+ G_w * drift")
        lines.append("drift : hertz (constant)  # drift rate of this weight (units of Phi / s)")
    if terms:
        lines.append(f"dg/dt = {' '.join(terms)} : siemens (clock-driven)")
        if learning is not None and learning.gamma > 0:
            lines.append("norm2_pre = (g / G_w)**2 : 1 (summed)")
    else:
        lines.append("g : siemens")
    if not dense:
        lines += ["i_s_post = g * vs_pre : amp (summed)", "i_d_pre = g * vr_post : amp (summed)"]
    return "\n".join(lines)


def _threshold_code(model: models.SparseCodingModel) -> str:
    """Abstract code storing ``s = h(u)`` and ``hp = h'(u)`` from ``v``."""
    if model.prior == "gaussian":
        return "s = v / V_u\nhp = 1.0"
    active = "int(abs(v) / V_u > u0)"
    if model.positive:
        return f"s = (abs(v) / V_u - u0) * {active}\nhp = sign(v) * {active}"
    return f"s = sign(v) * (abs(v) / V_u - u0) * {active}\nhp = 1.0 * {active}"


#: Length compiled into a standalone program that stops itself (steps): Brian2's limit for
#: exact clock times (2^40, ~10^12 steps; weeks of computing at the fastest step).
RUN_TIME_STOP_HORIZON = 2**40

_STOP_CODE = """
// circuit-sim: end the run after n_stop steps (n_stop is set on the command line), so that
// the compiled program does not depend on the run's length.
static double circuit_stop_at(double n_step, double n_stop)
{
    if (n_step >= n_stop) Network::_globally_stopped = true;
    return 0.0;
}
"""


def add_run_time_stop(residual: b2.NeuronGroup) -> None:
    """Make a standalone program end itself after ``residual.n_stop`` steps.

    ``residual.n_step`` counts the steps (incremented at the start of each step); once it
    reaches ``n_stop`` the step finishes and Brian2's run loop ends (the flag its Ctrl-C
    handler also sets). The network is then run for :data:`RUN_TIME_STOP_HORIZON` steps
    and ``n_stop`` is passed as a ``run_args`` value, so runs of different lengths share
    one compiled program.
    """
    f = b2.Function(pyfunc=None, arg_units=[1, 1], return_unit=1, stateless=False)
    f.implementations.add_implementation("cpp", _STOP_CODE, name="circuit_stop_at",
                                         compiler_kwds={"headers": ['"network.h"']})
    residual.namespace["circuit_stop_at"] = f
    residual.run_regularly("kernel_stop = circuit_stop_at(n_step, n_stop)", when="end",
                           name="residual_stop")  # after every other object of the step


def build_network(cfg: Config, model: models.SparseCodingModel, x: np.ndarray,
                  dt: float, record_stride: int, u_init: np.ndarray,
                  sources: tuple, crossbar_mode: str = "summed",
                  schedule: tuple | None = None, run_time_stop: bool = False) -> CircuitNetwork:
    """Construct the Brian2 network for one configuration.

    Parameters
    ----------
    cfg : Config
        Validated configuration (circuit constants in SI).
    model : models.SparseCodingModel
        The dimensionless model (dictionary (N, M), sigma, prior).
    x : ndarray, shape (N,)
        Input (dimensionless) when no ``schedule`` is given; presented for ever.
    dt : float
        Integration step in s.
    record_stride : int
        Record ``v`` every ``record_stride`` steps.
    u_init : ndarray, shape (M,)
        Initial state (dimensionless).
    sources : tuple
        Resolved noise sources (``noise`` package objects; injected ones have a PSD).
    crossbar_mode : {"summed", "dense"}
        How the crossbar's two products are computed: Brian2 summed variables over the
        synapses (diagonal order), or the dense kernel of :mod:`circuit_sim.crossbar`
        (row-major order). The conductances are Brian2 synaptic state either way.
    schedule : (patches (K, N), switch_at (K,) in steps), optional
        A stream of inputs (see :meth:`CircuitNetwork.set_schedule`).
    run_time_stop : bool
        Standalone only: the program stops itself after ``residual.n_stop`` steps, a
        shared variable given on its command line (``run_args``), so that a run of another
        length reuses the compiled program (see :func:`add_run_time_stop`).

    Returns
    -------
    CircuitNetwork
    """
    c = cfg.circuit
    n, m = model.n_features, model.n_components
    g_w = c.transconductance  # crossbar unit conductance G_w (Phi = 1 <-> g = G_m)
    ns = {"C": c.capacitance * b2.farad, "G_m": c.transconductance * b2.siemens,
          "V_u": c.volts_per_unit * b2.volt, "G_w": g_w * b2.siemens,
          "sigma2": model.sigma**2, "lam": model.lam, "prior_var": model.prior_variance}
    learning = cfg.learning
    learn_u0 = (learning is not None and learning.threshold_time_constant is not None
                and model.prior == "laplace")
    if learning is not None:
        ns["tau_Phi"] = learning.dictionary_time_constant * b2.second
        ns["gamma_n"] = learning.gamma
        if learn_u0:
            ns["tau_u0"] = learning.threshold_time_constant * b2.second
    white, flicker, terms = [], [], []
    for src in sources:
        if src.kind == "flicker":
            taus, sds = src.ou_bank()
            k = len(flicker)
            flicker.append((k, (np.asarray(taus), np.asarray(sds))))
            for p, (tau, sd) in enumerate(zip(taus, sds)):
                ns[f"tauf_{k}_{p}"] = float(tau) * b2.second
                ns[f"sdf_{k}_{p}"] = float(sd) * b2.amp
            terms.append((src.name, src.kind, None))
        else:
            psd = float(src.psd(np.array([1.0]))[0])  # white: the same at every frequency
            if psd <= 0:
                continue
            k = len(white)
            ns[f"amp_{k}"] = np.sqrt(psd / 2.0) * b2.amp * b2.second**0.5
            white.append(src)
            terms.append((src.name, src.kind, np.sqrt(psd / 2.0)))

    clock = b2.Clock(dt=dt * b2.second, name="circuit_clock")
    dynamics = learning.dynamics if learning is not None else "langevin"
    if dynamics != "langevin":  # MAP descent and LCA are the deterministic baselines
        white, flicker = [], []
    dev = cfg.devices()  # this chip's fixed variations (ideal: all ones / zeros)
    weights = cfg.weights
    # a thermal source at the transconductor's own conductance scales with each unit's G_m
    own = {n.name for n in cfg.noise if n.kind == "thermal" and n.get("conductance") is None}
    amp2 = np.zeros(m)  # A^2 s: sum over white sources of amp_k^2 per unit
    for k, src in enumerate(white):
        scale = np.sqrt(dev.gm_rel) if src.name in own else np.ones(m)
        amp2 += (float(ns.pop(f"amp_{k}") / (b2.amp * b2.second**0.5)) * scale) ** 2
    # independent white currents into one node add up to one white current with the summed
    # PSD: one normal draw per unit and step instead of one per source (the budget still
    # lists every source)
    white = white[:1]
    shared_u0 = learn_u0 and learning.threshold == "shared"
    latent = b2.NeuronGroup(m, _latent_equations(model, white, flicker, learn_u0, dynamics,
                                                 shared_u0),
                            method="euler", namespace=ns, clock=clock, name="latent")
    extra_u0 = []
    if shared_u0:
        # the shared threshold's gradient sum_j dE/du0_j: a one-node group summing the
        # units' gradients (a summed variable, after the drive i_d is in place) and linked
        # back to every unit; each unit's u0 then moves by the same amount (comparator
        # offsets stay per unit)
        thr = b2.NeuronGroup(1, "grad : 1", namespace=ns, clock=clock, name="threshold")
        thr_sum = b2.Synapses(latent, thr, "grad_post = hp_pre * sign(v_pre) * i_d_pre / "
                              "(G_w * V_u * sigma2) : 1 (summed)", namespace=ns, clock=clock,
                              name="threshold_sum")
        thr_sum.connect(i=np.arange(m), j=np.zeros(m, dtype=int))
        upd = thr_sum.summed_updaters["grad_post"]
        upd.when, upd.order = "start", ORDER_SUM_U0
        latent.grad_u0 = b2.linked_var(thr, "grad", index=np.zeros(m, dtype=int))
        extra_u0 = [thr, thr_sum]
    latent.Cj = c.capacitance * dev.c_rel * b2.farad
    latent.Gmj = c.transconductance * dev.gm_rel * b2.siemens
    if white:
        latent.amp_0 = np.sqrt(amp2) * b2.amp * b2.second**0.5
    if model.prior == "laplace":  # comparator offsets move the soft threshold
        latent.u0 = np.maximum(model.u0 + dev.threshold_offset / c.volts_per_unit, 0.0)
    else:
        latent.u0 = model.u0
    latent.v = u_init * c.volts_per_unit * b2.volt
    if c.rail_voltage is not None:  # the node saturates at the supply rails
        ns["v_rail"] = c.rail_voltage * b2.volt
        latent.run_regularly("v = clip(v, -v_rail, v_rail)", when="after_groups",
                             name="latent_rails")
    draws = _noise_draw_code(white, flicker, cfg.run.integrator)
    for k, _ in enumerate(white):
        setattr(latent, f"rprev_{k}", "randn()")
    latent.run_regularly(_threshold_code(model) + ("\n" + draws if draws else ""), when="start",
                         order=ORDER_S, name="latent_store_s")

    dense = crossbar_mode == "dense"
    residual = b2.NeuronGroup(
        n, "\n".join(["i_s : amp", "vr : volt",
                      "k_patch : 1 (shared)  # index of the patch being presented (in the window)",
                      "n_next : 1 (shared)   # step at which the next patch arrives",
                      "n_step : 1 (shared)   # steps since the start of the stream"]
                     + (["kernel_forward : 1 (shared)", "kernel_backward : 1 (shared)"]
                        if dense else [])
                     + (["n_stop : 1 (shared)   # stop after this many steps (run_args)",
                         "kernel_stop : 1 (shared)"] if run_time_stop else [])),
        namespace=dict(ns), clock=clock, name="residual")
    # Input: patch k (a row of the TimedArray 'patches', indexed by k seconds) is presented
    # until step switch_at(k); no global clock decides when, the schedule does. Switches are
    # counted in integer steps so that a resumed run switches at exactly the same steps.
    if c.residual_time_constant is None:
        r_code = "vr = patches(k_patch * second, i) - i_s / G_w"
    else:  # finite bandwidth: exact exponential step towards x - Phi s (held over the step)
        residual.namespace["alpha_r"] = -np.expm1(-dt / c.residual_time_constant)
        r_code = "vr = vr + alpha_r * (patches(k_patch * second, i) - i_s / G_w - vr)"
    residual.run_regularly("k_patch = k_patch + int(n_step >= n_next)\n"
                           "n_next = switch_at(k_patch * second)\n"
                           "n_step = n_step + 1\n" + r_code,
                           when="start", order=ORDER_R, name="residual_store_r")
    if run_time_stop:
        add_run_time_stop(residual)
    mm = cfg.mismatch
    gain = learning is not None and mm is not None and mm.weight_gain_sigma > 0
    leak = weights is not None and weights.retention_time is not None
    drift = weights is not None and weights.drift_sigma > 0
    if leak:
        ns["tau_ret"] = weights.retention_time * b2.second
    synapse_model = _crossbar_equations(dense, learning, gain, leak, drift)
    # Multirate: the plasticity equation (the crossbar's only state update in dense mode)
    # may run on its own clock, K steps of the circuit's, with Brian2's dt = K dt.
    k_plast = cfg.plasticity_stride()
    syn_clock = clock
    if k_plast > 1:
        assert dense, "a plasticity clock slower than the circuit's needs the dense crossbar"
        syn_clock = b2.Clock(dt=k_plast * dt * b2.second, name="plasticity_clock")
    crossbar = b2.Synapses(latent, residual, model=synapse_model, namespace=ns, clock=syn_clock,
                           method="euler", name="crossbar")
    pre, post = row_major_order(n, m) if dense else diagonal_order(n, m)
    crossbar.connect(i=pre, j=post)
    # programmed conductances: per-synapse gain and offset, then the memory's resolution
    phi_prog = model.dictionary * dev.weight_gain + dev.weight_offset
    if weights is not None:
        phi_prog = weights.quantise(phi_prog)
    crossbar.g = phi_prog[post, pre] * g_w * b2.siemens
    if gain:
        crossbar.wgain = dev.weight_gain[post, pre]
    if drift:
        crossbar.drift = dev.drift_rate[post, pre] * b2.hertz
    if weights is not None and weights.bits is not None and (learning is not None or leak or drift):
        # re-quantise after every step of the weights' equation (on their own clock)
        ns["w_lsb"] = weights.lsb * g_w * b2.siemens
        ns["n_levels"] = 2 ** (weights.bits - 1) - 1
        r = "rand()" if weights.rounding == "stochastic" else "0.5"
        crossbar.run_regularly(f"g = w_lsb * clip(floor(g / w_lsb + {r}), -n_levels, n_levels)",
                               when="after_groups", name="crossbar_quantise")
    extra = []
    if dense:
        extra = add_dense_kernel(latent, residual, crossbar, c.volts_per_unit, ORDER_SUM_S,
                                 ORDER_SUM_D, standalone=cfg.run.backend == "standalone",
                                 full_backward=dynamics == "lca")
    else:
        upd = crossbar.summed_updaters
        upd["i_s_post"].when, upd["i_s_post"].order = "start", ORDER_SUM_S
        upd["i_d_pre"].when, upd["i_d_pre"].order = "start", ORDER_SUM_D
    if learning is not None and learning.gamma > 0:
        upd = crossbar.summed_updaters["norm2_pre"]
        upd.when, upd.order = "start", ORDER_SUM_D

    monitor = b2.StateMonitor(latent, ["v", "u0"] if learn_u0 else "v", record=True, dt=record_stride * dt * b2.second,
                              when="start", order=ORDER_MONITOR, name="latent_monitor")
    net = _Network(latent, residual, crossbar, monitor, *extra, *extra_u0)
    circ = CircuitNetwork(net, latent, residual, crossbar, monitor, g_w, tuple(terms),
                          c.volts_per_unit)
    if schedule is None:  # one fixed input, presented for ever
        schedule = (np.atleast_2d(x), np.array([np.inf]))
    circ.set_schedule(*schedule, n_step=0)
    if c.residual_time_constant is not None:  # start settled on the first input (s = 0)
        circ.residual.vr = np.atleast_2d(schedule[0])[0] * c.volts_per_unit * b2.volt
    return circ
