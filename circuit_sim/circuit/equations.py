"""The circuit's equations as Brian2 text: pure functions of the design, no Brian2 import.

Physical picture (SPEC section 3), per latent unit ``i``::

    C dv_i/dt = G_m V_u * force_i(u) + sum_k i_n,k(t),      u_i = v_i / V_u

with ``force = -dE/du`` (dimensionless) and the white noise entering as ``sqrt(S / 2) *
xi(t)`` (``S`` one-sided, A^2/Hz, all white sources of a node summed into one current); a
flicker source is a bank of Ornstein-Uhlenbeck currents, one extra state variable per pole.
The dictionary is a crossbar of conductances ``g_ij = G_w * Phi_ij``. The latent output
voltage ``vs_j = V_u * s_j`` drives the crossbar; by Kirchhoff's law it delivers the current
``i_s,i = sum_j g_ij vs_j`` to residual node ``i``, whose voltage is ``vr_i = V_u x_i -
i_s,i / G_w`` (``= V_u r_i``); the transposed read-out gives the drive current ``i_d,j =
sum_i g_ij vr_i`` (``= G_w V_u [Phi^T r]_j``).

Schedule within one time step (all explicit, in the ``start`` slot, before the state update
in ``groups``): order 0 stores ``s`` and ``h'(u)`` from ``v`` and draws the noise; order 1
the forward sum ``i_s``; order 2 stores ``vr``; order 3 the drive ``i_d``; order 4 the shared
threshold's gradient; order 5 the monitor records ``v`` at the start of the step. (The
one-pass kernel of a single circuit with an ideal residual: order 0 also stores the input
``x_in``, order 1 computes ``i_s`` and ``i_d`` together, order 2 stores ``vr``.) Storing
``s``, ``h'``, ``vr`` once per step (instead of subexpressions read through the synapses)
and the "diagonal" synapse order (consecutive synapses touch different targets) are the
speed levers of SPEC section 7.

Integrators (``run.integrator``): Euler-Maruyama with the Ito interpretation (all noise is
additive here, so Ito and Stratonovich coincide; weak order 1), or Leimkuhler-Matthews, the
same step with the noise increment averaged over two consecutive draws, which has the exact
stationary variance on Gaussian targets for any stable step. The noise increments are drawn
explicitly once per step in a fixed order (:func:`noise_draw_code`) and Brian2's ``euler``
method integrates the rest. The dimensionless step is ``h = dt/tau_u``.
"""

from __future__ import annotations

import numpy as np

#: Scheduling orders in the 'start' slot (see the module docstring).
ORDER_S, ORDER_SUM_S, ORDER_R, ORDER_SUM_D, ORDER_SUM_U0, ORDER_MONITOR = 0, 1, 2, 3, 4, 5
#: An ensemble's batch-averaged Hebbian term (after ``s`` and ``vr``; not with a shared u0).
ORDER_HEBB = ORDER_SUM_U0


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


def row_major_order(n_features: int, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Synapse ``k`` connects latent ``pre = k % M`` to residual ``post = k // M``, so that
    ``g[k]`` is element ``(post, pre)`` of a row-major ``N x M`` matrix (the dense kernel)."""
    k = np.arange(n_features * n_components)
    return k % n_components, k // n_components


def ensemble_order(n_features: int, n_components: int, chips: int,
                   chains: int) -> tuple[np.ndarray, np.ndarray]:
    """Synapses of an ensemble (:mod:`circuit_sim.design.ensemble`): one row-major block of
    ``N x M`` per chip, connecting the chip's first chain (latent ``c K_c M + j``, residual
    ``c K_c N + i``); synapse ``c N M + i M + j`` is element ``(c, i, j)`` of a row-major
    ``(chips, N, M)`` array. With one chip and one chain this is :func:`row_major_order`."""
    pre, post = row_major_order(n_features, n_components)
    c = np.arange(chips)[:, None]
    return ((c * chains * n_components + pre).ravel(),
            (c * chains * n_features + post).ravel())


def ensemble_generator(n_features: int, n_components: int, chips: int = 1,
                       chains: int = 1) -> str:
    """The synapses of :func:`ensemble_order` (with one copy: :func:`row_major_order`) as a
    Brian2 generator over the targets, for ``Synapses.connect(i=...)``: residual ``j`` of a
    chip's first chain (``j % (K_c N) < N``) gets the chip's ``M`` latents in turn, the
    other chains' residuals none. Brian2 then creates synapse ``c N M + i M + k`` in that
    order without the two index arrays of ``connect(i=, j=)`` (8 bytes per synapse that a
    standalone program would otherwise hold twice: as loaded and as copied)."""
    n, m, kc = n_features, n_components, chains
    if kc == 1 and chips == 1:
        return f"k for k in range(0, {m})"
    # (Brian2 2.9 refuses a range whose bounds depend on j in a generator over the targets;
    # the yielded expression and the condition may)
    return f"(j // {kc * n}) * {kc * m} + k for k in range(0, {m}) if j % {kc * n} < {n}"


def force_expression(prior: str, positive: bool, dynamics: str) -> str:
    """The dimensionless force on a unit, ``tau_u du/dt`` without noise."""
    if prior == "gaussian":
        return "i_d / (G_w * V_u * sigma2) - v / (V_u * prior_var)"
    if dynamics == "lca" and positive:  # s = |ST(u)|: the drive enters with ds/d|u|
        # (+1 at u = 0 exactly, so that a unit at rest can be driven: sign(0) = 0 would
        # hold it at 0 for ever)
        return "(2.0 * int(v >= 0 * volt) - 1.0) * i_d / (G_w * V_u * sigma2) - (v / V_u - s)"
    if dynamics == "lca":  # tau_u du/dt = Phi^T r / sigma^2 - (u - s)
        return "i_d / (G_w * V_u * sigma2) - (v / V_u - s)"
    return "hp * i_d / (G_w * V_u * sigma2) - lam * sign(v)"


def latent_equations(prior: str, positive: bool, n_white: int, flicker_poles: list,
                     learn_u0: bool = False, dynamics: str = "langevin",
                     shared_u0: bool = False, saturation: bool = False,
                     leak: bool = False, common: bool = False, n_rtn: int = 0,
                     spectrum: tuple = (), input_offset: bool = False) -> str:
    """Equations of the latent nodes (Brian2 syntax, physical units).

    The white noise is the current ``amp_k * eta_k`` with ``amp_k = sqrt(S_k / 2)`` per unit
    and ``eta_k = randn() / sqrt(dt)`` redrawn once per step (:func:`noise_draw_code`):
    integrated by Euler this is exactly Euler-Maruyama, ``dv = ... + sqrt(dt) amp_k N(0, 1) /
    C``. Brian2's own ``xi_k`` would do the same, but Brian2 draws several ``xi`` in the
    iteration order of a Python ``set`` of their names, which changes with the interpreter's
    hash seed: the same seed would then not give the same result in another process.
    ``flicker_poles``: the number of OU poles of each flicker source.

    ``saturation``: the transconductor's force current saturates,
    ``I_max tanh(G_m V_u F / I_max)`` (the small-signal ``G_m`` kept; ``I_max`` the namespace's
    ``I_sat``). ``leak``: its finite output conductance draws ``-G_o v`` from the node.
    ``common``: a common-mode noise current ``amp_c * eta_c`` (``eta_c`` one draw per step
    for all units, linked from the group ``common_noise``). ``spectrum``: ``(P, Q)`` per
    tabulated spectrum, its low-pass currents ``ys_<k>_<p>`` and high-pass currents
    ``ih_<k>_<q>`` (stepped by :func:`spectrum_code`). ``input_offset``: each unit's
    transconductor input offset ``Vosj`` is subtracted from its input ``V_u F``.
    """
    noise = "".join(f" + amp_{k} * eta_{k} / Cj" for k in range(n_white))
    if common:
        noise += " + amp_c * eta_c / Cj"
    flick = " + ".join(f"y_{k}_{p}" for k, n in enumerate(flicker_poles) for p in range(n))
    dv = "(V_u * force - Vosj)" if input_offset else "V_u * force"
    force = f"I_sat * tanh(Gmj * {dv} / I_sat)" if saturation else f"Gmj * {dv}"
    drive = force + (" - G_o * v" if leak else "")
    drive += "".join(f" + a_rtn_{k} * q_rtn_{k}" for k in range(n_rtn))
    drive += "".join(f" + ys_{k}_{p}" for k, (n_lp, _) in enumerate(spectrum)
                     for p in range(n_lp))
    drive += "".join(f" + ih_{k}_{q}" for k, (_, n_hp) in enumerate(spectrum)
                     for q in range(n_hp))
    drive = f"{drive} + {flick}" if flick else drive
    eqs = [f"dv/dt = ({drive}) / Cj{noise} : volt",
           f"force = {force_expression(prior, positive, dynamics)} : 1",
           "Cj : farad (constant)      # node capacitance (mismatch: per unit)",
           "Gmj : siemens (constant)   # transconductance (mismatch: per unit)",
           *(["Vosj : volt (constant)     # transconductor input offset (per unit)"]
             if input_offset else []),
           "i_d : amp        # drive current from the crossbar (summed variable)",
           "s : 1            # soft-thresholded code, stored once per step",
           "hp : 1           # h'(u), stored once per step",
           "vs = V_u * s : volt",
           "norm2 : 1        # |Phi_j|^2 (summed variable; column normalisation only)"]
    if learn_u0 and shared_u0:  # every u0_j follows its node of the group 'threshold' (one
        # threshold for all units, -sum_j dE/du0_j; an ensemble: the mean over a chip's chains)
        eqs.append("du0/dt = -grad_u0 / tau_u0 : 1")
        eqs.append("grad_u0 : 1 (linked)  # dE/du0 summed in the group 'threshold'")
    elif learn_u0:  # tau_u0 du0/dt = -dE/du0 = -h'(u) sign(u) [Phi^T r] / sigma^2
        eqs.append("du0/dt = -hp * sign(v) * i_d / (G_w * V_u * sigma2) / tau_u0 : 1")
    else:
        eqs.append("u0 : 1            # soft threshold (per unit)")
    for k in range(n_white):
        eqs.append(f"amp_{k} : amp * second**0.5 (constant)  # sqrt(S_I / 2) of source {k}")
        eqs.append(f"eta_{k} : second**-0.5   # white noise of source {k}, drawn once per step")
        eqs.append(f"rprev_{k} : 1            # previous normal draw (Leimkuhler-Matthews)")
    if common:
        eqs.append("eta_c : second**-0.5 (linked)  # the common-mode draw of this step")
    for k in range(n_rtn):
        eqs.append(f"q_rtn_{k} : 1  # state (+1 or -1) of telegraph source {k}")
    for k, (n_lp, n_hp) in enumerate(spectrum):
        eqs += [f"ys_{k}_{p} : amp  # low-pass component {p} of spectrum {k}"
                for p in range(n_lp)]
        for q in range(n_hp):
            eqs += [f"zh_{k}_{q} : second**0.5  # low-passed white draw of high-pass {q}",
                    f"ih_{k}_{q} : amp  # high-pass component {q} of spectrum {k}"]
    for k, n in enumerate(flicker_poles):
        for p in range(n):
            eqs.append(f"dy_{k}_{p}/dt = -y_{k}_{p} / tauf_{k}_{p} + "
                       f"sdf_{k}_{p} * sqrt(2 / tauf_{k}_{p}) * etaf_{k}_{p} : amp")
            eqs.append(f"etaf_{k}_{p} : second**-0.5")
    return "\n".join(eqs)


def white_draw_code(suffix: str, integrator: str) -> list[str]:
    """The lines drawing one white noise variable ``eta<suffix>`` for this step.

    Euler-Maruyama: ``eta = R_n / sqrt(dt)``. Leimkuhler-Matthews: ``eta = (R_{n-1} + R_n) /
    (2 sqrt(dt))`` with the previous draw kept in ``rprev<suffix>`` (so each normal draw
    enters two consecutive steps).
    """
    if integrator == "leimkuhler_matthews":
        return [f"rnew{suffix} = randn()",
                f"eta{suffix} = (rprev{suffix} + rnew{suffix}) / (2 * sqrt(dt))",
                f"rprev{suffix} = rnew{suffix}"]
    return [f"eta{suffix} = randn() / sqrt(dt)"]


def noise_draw_code(n_white: int, flicker_poles: list, integrator: str = "euler") -> str:
    """Abstract code drawing every noise variable once per step, in a fixed order: the white
    sources (:func:`white_draw_code`), then the flicker OU poles (always Euler-Maruyama)."""
    lines = [line for k in range(n_white) for line in white_draw_code(f"_{k}", integrator)]
    lines += [f"etaf_{k}_{p} = randn() / sqrt(dt)" for k, n in enumerate(flicker_poles)
              for p in range(n)]
    return "\n".join(lines)


def spectrum_code(spectrum: tuple) -> str:
    """Abstract code stepping the components of each tabulated spectrum once per step, each
    exactly for any ``dt`` (``dec = exp(-dt / tau)`` in the namespace): a low-pass component
    is the sampled Ornstein-Uhlenbeck current ``ys <- dec ys + sd sqrt(1 - dec^2) N(0, 1)``
    (``sqs = sd sqrt(1 - dec^2)``); a high-pass one is ``ih = a (eta - z / tau)`` with this
    step's white draw ``eta`` and ``z`` its low-pass, ``z <- dec z + tau (1 - dec) eta``."""
    lines = []
    for k, (n_lp, n_hp) in enumerate(spectrum):
        lines += [f"ys_{k}_{p} = ys_{k}_{p} * decs_{k}_{p} + sqs_{k}_{p} * randn()"
                  for p in range(n_lp)]
        for q in range(n_hp):
            lines += [f"etah_{k}_{q} = randn() / sqrt(dt)",
                      f"ih_{k}_{q} = ah_{k}_{q} * (etah_{k}_{q} - zh_{k}_{q} / tauh_{k}_{q})",
                      f"zh_{k}_{q} = zh_{k}_{q} * dech_{k}_{q} + tauh_{k}_{q} * "
                      f"(1 - dech_{k}_{q}) * etah_{k}_{q}"]
    return "\n".join(lines)


def telegraph_code(n_rtn: int) -> str:
    """Abstract code stepping each unit's telegraph states once per step: flip with the
    exact probability of an odd number of switches in ``dt``, ``(1 - exp(-2 r dt)) / 2``
    (``p_rtn_k`` in the namespace)."""
    return "\n".join(f"q_rtn_{k} = q_rtn_{k} * (1 - 2 * int(rand() < p_rtn_{k}))"
                     for k in range(n_rtn))


def threshold_code(prior: str, positive: bool, comparator: bool = False) -> str:
    """Abstract code storing ``s = h(u)`` and ``hp = h'(u)`` from ``v``.

    ``comparator``: the comparators have a finite gain, ``s = h_w(u)`` and ``hp = h_w'(u)``
    of :func:`models.smooth_soft_threshold` with ``w = w_cmp`` (namespace); ``softplus(z) =
    max(z, 0) + log(1 + exp(-|z|))`` and ``sigmoid(z) = (1 + tanh(z/2)) / 2``, both without
    overflow.
    """
    if prior == "gaussian":
        return "s = v / V_u\nhp = 1.0"
    if comparator:
        sp = "w_cmp * ({z} * int({z} > 0) + log(1 + exp(-abs({z}))))"
        gate = "0.5 * (1 + tanh(0.5 * {z}))"
        zp, zm = "(v / V_u - u0) / w_cmp", "(-v / V_u - u0) / w_cmp"
        op = "+" if positive else "-"
        return (f"zp_cmp = {zp}\nzm_cmp = {zm}\n"
                f"s = {sp.format(z='zp_cmp')} {op} {sp.format(z='zm_cmp')}\n"
                f"hp = {gate.format(z='zp_cmp')} {'-' if positive else '+'} "
                f"{gate.format(z='zm_cmp')}")
    active = "int(abs(v) / V_u > u0)"
    if positive:
        return f"s = (abs(v) / V_u - u0) * {active}\nhp = sign(v) * {active}"
    return f"s = sign(v) * (abs(v) / V_u - u0) * {active}\nhp = 1.0 * {active}"


def crossbar_equations(dense: bool, learning: bool, gamma: float = 0.0, gain: bool = False,
                       leak: bool = False, drift: bool = False, batch: bool = False) -> str:
    """Synapse equations: the conductance ``g`` (S), the two Kirchhoff sums (unless the
    dense kernel computes them) and, when ``learning``, the plasticity rule

    ``tau_Phi dg/dt = G_w [r_i s_j / sigma^2 - gamma Phi_ij (|Phi_j|^2 - 1)]``, ``Phi = g / G_w``,

    a clock-driven synaptic differential equation (``r = vr / V_u``, ``s`` stored per step).
    Non-idealities: ``gain`` multiplies the rule by the synapse's gain ``wgain``; ``leak``
    adds ``-g / tau_ret``; ``drift`` adds ``G_w d_ij``. ``batch``: the chains of an ensemble's
    chip share its plasticity, and ``r_i s_j`` is their average ``hebb`` (the kernel's
    :func:`~circuit_sim.circuit.crossbar.add_hebb_kernel` writes it before the update).
    """
    lines, terms = [], []
    if learning:
        norm = " - gamma_n * (g / G_w) * (norm2_pre - 1)" if gamma > 0 else ""
        hebb = "hebb" if batch else "(vr_post / V_u) * s_pre"
        rule = f"G_w * ({hebb} / sigma2{norm}) / tau_Phi"
        terms.append(f"wgain * {rule}" if gain else rule)
        if gain:
            lines.append("wgain : 1 (constant)  # gain of this synapse's learning circuit")
        if batch:
            lines += ["hebb : 1  # mean over the chip's chains of r_i s_j (the kernel's)",
                      "kernel_hebb : 1 (shared)"]
    if leak:
        terms.append("- g / tau_ret")
    if drift:
        terms.append("+ G_w * drift")
        lines.append("drift : hertz (constant)  # drift rate of this weight (units of Phi / s)")
    if terms:
        lines.append(f"dg/dt = {' '.join(terms)} : siemens (clock-driven)")
        if learning and gamma > 0:
            lines.append("norm2_pre = (g / G_w)**2 : 1 (summed)")
    else:
        lines.append("g : siemens")
    if not dense:
        lines += ["i_s_post = g * vs_pre : amp (summed)", "i_d_pre = g * vr_post : amp (summed)"]
    return "\n".join(lines)


def residual_equations(dense: bool, run_time_stop: bool, noise_kernel: bool = False,
                       copies: int = 1, fused: bool = False) -> str:
    """Residual nodes: the forward current, the stored residual voltage and the input
    stage's shared counters (patch index, next switch step, step count); in an ensemble
    (``copies > 1``) also each node's input column ``feat``, set once; with the one-pass
    kernel (``fused``) the presented input ``x_in``, stored once per step before it."""
    lines = ["i_s : amp", "vr : volt",
             "k_patch : 1 (shared)  # index of the patch being presented (in the window)",
             "n_next : 1 (shared)   # step at which the next patch arrives",
             "n_step : 1 (shared)   # steps since the start of the stream"]
    if copies > 1:  # set once, not computed per node and step (a tenth of a 64x128 step)
        lines.append("feat : integer (constant)  # column of the presented patch")
    if dense:
        lines += ["kernel_forward : 1 (shared)", "kernel_backward : 1 (shared)"]
    if fused:
        lines += ["x_in : volt  # the presented input V_u x_i, stored for the one-pass kernel",
                  "kernel_fused : 1 (shared)"]
    if noise_kernel:  # an ensemble's white noise, drawn by one C++ call per step
        lines += ["noise_seed : 1 (shared)  # its generator's seed (run_args)",
                  "kernel_noise : 1 (shared)"]
    if run_time_stop:
        lines += ["n_stop : 1 (shared)   # stop after this many steps (run_args)",
                  "kernel_stop : 1 (shared)", "kernel_progress : 1 (shared)",
                  "kernel_reseed : 1 (shared)"]
    return "\n".join(lines)


def residual_code(finite_bandwidth: bool, copies: int = 1) -> str:
    """The input stage and the residual, once per step. Patch ``k`` (a row of the TimedArray
    ``patches``, indexed by ``k`` seconds) is presented until step ``switch_at(k)``; no
    global clock decides when, the schedule does. Switches are counted in integer steps so
    that a resumed run switches at exactly the same steps. With finite bandwidth the
    residual takes an exact exponential step towards ``x - Phi s`` (held over the step).
    ``copies > 1`` (an ensemble): residual node ``i`` reads column ``feat`` of the presented
    patch (set once by :func:`.network._residual` from :func:`.network.patch_columns`)."""
    x = "patches(k_patch * second, feat)" if copies > 1 else "patches(k_patch * second, i)"
    if finite_bandwidth:
        r_code = f"vr = vr + alpha_r * ({x} - i_s / G_w - vr)"
    else:
        r_code = f"vr = {x} - i_s / G_w"
    return ("k_patch = k_patch + int(n_step >= n_next)\n"
            "n_next = switch_at(k_patch * second)\n"
            "n_step = n_step + 1\n" + r_code)


def fused_residual_code() -> tuple[str, str]:
    """:func:`residual_code` of a single circuit with an ideal residual, split for the
    one-pass kernel: the input stage (patch switch and ``x_in``), run before the kernel, and
    the residual ``vr = x_in - i_s / G_w``, run after it as before (the kernel computes the
    same value for the backward product)."""
    return ("k_patch = k_patch + int(n_step >= n_next)\n"
            "n_next = switch_at(k_patch * second)\n"
            "n_step = n_step + 1\n"
            "x_in = patches(k_patch * second, i)", "vr = x_in - i_s / G_w")


#: Length compiled into a standalone program that stops itself (steps): Brian2's limit for
#: exact clock times (2^40, ~10^12 steps; weeks of computing at the fastest step).
RUN_TIME_STOP_HORIZON = 2**40

STOP_CODE = """
// circuit-sim: end the run after n_stop steps (n_stop is set on the command line), so that
// the compiled program does not depend on the run's length.
static double circuit_stop_at(double n_step, double n_stop)
{
    if (n_step >= n_stop) Network::_globally_stopped = true;
    return 0.0;
}
"""

RESEED_CODE = """
// circuit-sim: reseed Brian2's generators with a segment's seed (as brian2.seed does, generator
// i with seed + i) when it differs from the last one this program applied.
static double circuit_reseed_last = -1.0;
static double circuit_reseed(double seed)
{
    if (seed == circuit_reseed_last) return 0.0;
    circuit_reseed_last = seed;
    for (size_t _i = 0; _i < brian::_random_generators.size(); _i++)
        brian::_random_generators[_i].seed((unsigned long)seed + _i);
    return 0.0;
}
"""

#: Steps between two looks at the wall clock by the standalone program's progress writer.
PROGRESS_EVERY = 1024

PROGRESS_CODE = """
// circuit-sim: write the step count to results/progress.txt about once a second (a steady
// clock read every PROGRESS_EVERY steps: a vDSO call, no system call), so that the caller can
// show progress while the compiled program runs. (<chrono>, <cstdio> and objects.h are the
// function's headers.)
static std::chrono::steady_clock::time_point circuit_progress_last;
static bool circuit_progress_started = false;
static double circuit_progress(double n_step)
{
    const auto now = std::chrono::steady_clock::now();
    if (circuit_progress_started && now - circuit_progress_last < std::chrono::milliseconds(500))
        return 0.0;
    circuit_progress_started = true;
    circuit_progress_last = now;
    const std::string path = brian::results_dir + "progress.txt";
    const std::string tmp = path + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    if (f) {
        fprintf(f, "%.0f\\n", n_step);
        fclose(f);
        rename(tmp.c_str(), path.c_str());
    }
    return 0.0;
}
"""
