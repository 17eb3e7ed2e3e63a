"""Export a small inference circuit as an ngspice netlist (behavioural sources, noise from a
file of our own seeded samples).

The netlist is the circuit of SPEC section 3 written with SPICE elements, so that a circuit
designer can check the Brian2 model with an independent simulator (or start a transistor-level
design from it):

* latent unit ``j``: a capacitor ``C`` from node ``v<j>`` to ground, ``v_j = V_u u_j``
  (initial voltage: the design's ``u_init``, as the Brian2 run starts);
* code node ``s<j>``: a behavioural voltage source ``V(s_j) = V_u h(u_j)`` (the soft threshold;
  ``V(v_j)`` itself for the Gaussian prior);
* residual node ``r<i>``: a behavioural voltage source ``V(r_i) = V_u x_i - sum_j Phi_ij V(s_j)``
  (``= V_u r_i``, the crossbar's forward product);
* drive: a behavioural current source into ``v<j>`` delivering ``G_m V_u force_j(u)``: the
  crossbar's transposed product ``G_m / sigma^2 sum_i Phi_ij V(r_i)`` (times ``h'(u_j)`` for the
  Laplace prior) minus the prior's pull (``G_m V(v_j) / prior_variance``, or ``G_m V_u lam
  sgn(V(v_j))``), the force of :func:`circuit_sim.circuit.equations.force_expression`;
* noise: one white current per latent node with the summed one-sided PSD ``S`` of every white
  source of the noise budget (independent currents into a node add; the netlist's comments
  list each source), as Brian2 draws it.

The Gaussian-prior circuit is linear, so SPICE integrates exactly the Langevin equation of the
Brian2 model. The Laplace prior uses ngspice's ``u()`` (unit step, 0 at 0), ``sgn()`` and
``abs()`` in the behavioural expressions: the force is discontinuous at ``u = 0`` and at
``|u| = u0``, which SPICE handles by cutting (and, near a crossing, rejecting) time steps.

The noise: a file of samples, read by XSPICE's ``filesource``
--------------------------------------------------------------
The export draws the noise currents itself, from the run's ``spice`` seed stream
(:mod:`circuit_sim.seeds`): independent Gaussian values ``x_n`` of rms ``NA`` per node at
``t_n = n NT``, written to a text file next to the netlist (``FILE.noise``: time, then one
column per node, in A) and played by one XSPICE ``filesource`` element with ``amplstep =
true``: each value is **held** for ``NT``. Why not ngspice's own transient noise sources
(measured with ngspice 39, Debian):

* ``TRRANDOM`` draws its next value only when an accepted time point lies within 3 ULPs of
  ``n NT`` (``ISRCaccept``); after a rejected step near a crossing of the soft threshold's
  discontinuity the point overshoots, no new breakpoint is set, and the source never draws
  again: in 9 runs of a 4-latent spike-and-slab circuit 3 froze at 0.6-12.6 us, silently.
* ``TRNOISE`` cannot freeze (its value is a function of the time), but its Wallace generator
  is seeded from the process id (``initw`` calls ``srand(getpid())``), so no run can be
  repeated, and its variance wanders by several percent during a run (chunks of 1e5-4e5
  draws: 0.92 to 1.045 ``NA^2``).

``filesource`` holds no state that a rejected step can break: its value at a time is the
file's sample of that interval (it reads forward; a retried step that falls back across a
sample boundary sees the next sample for that retry, a bounded, rare error), the numbers are
ours (reproducible from the seed, checked normal and white), and it sets no breakpoint at
every ``NT``, so ngspice takes about one step per ``NT`` instead of four (3-5 us per noise
step for a 1-node circuit, against 12 us with TRRANDOM). ``noise="trnoise"`` writes TRNOISE
sources instead (same ``NA``, not reproducible) for comparison.

Noise amplitude: derivation
---------------------------
Held samples (kernel: the box ``B`` of width ``NT``) have, averaged over the sampling phase,
the autocorrelation ``R(s) = NA^2 g(s/NT)`` with ``g = B * B`` (the unit triangle); TRNOISE's
linear interpolation (kernel: the triangle ``L``) gives ``g = L * L`` (the cubic B-spline).
Both have integral 1, so the two-sided PSD is ``NA^2 NT sinc^2(f NT)`` or ``NA^2 NT sinc^4(f
NT)`` and at frequencies well below ``1/NT`` the **one-sided** PSD is in both cases

    ``S = 2 NA^2 NT``,   hence   ``NA = sqrt(S / (2 NT))``.

(The project's SDE convention ``sqrt(S/2) xi(t)``, two-sided intensity ``S/2``, is the limit
``NT -> 0``.) A finite ``NT`` is a small, exactly known low-pass: a mode of relaxation rate ``k``
(1/s) has the variance of white driving times

    ``F(k NT) = int g(sigma) exp(-k NT |sigma|) dsigma``
    ``= 2 (b - 1 + e^-b) / b^2 = 1 - b/3 + ...`` (hold, ``b = k NT``), ``1 - 7b/15 + ...`` (linear),

and the modes stay uncorrelated (every node gets independent noise of the same PSD, which is
isotropic in any basis): :func:`noise_filter_factor` gives ``F``, :func:`stationary_covariance`
the whole matrix for the Gaussian prior. The default ``NT = tau_u / (50 lambda_max)`` keeps
this bias below 0.7% on every mode; the largest internal step is ``NT``.

Flicker noise is not exported (:class:`ConfigError`): the Brian2 model simulates it as an
Ornstein-Uhlenbeck bank, which this export does not write. Learning and input streams are
not exported either.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

import models
from noise import format_si, parse_quantity

from .config import Config, load_config
from .design.timestep import round_down
from .errors import ConfigError

__all__ = ["MAX_COMPONENTS", "MAX_FEATURES", "NOISE_STEPS_PER_TAU", "export_spice",
           "NOISE_KINDS", "default_noise_step", "noise_amplitude", "noise_filter_factor",
           "noise_record", "stationary_covariance", "read_wrdata", "run_ngspice",
           "estimate_cpu_seconds", "noise_file_bytes", "cmd_export_spice"]

#: Largest circuits the export accepts (every crossbar product is written out term by term).
MAX_COMPONENTS = 8
MAX_FEATURES = 64

#: ``NT = tau_u / (NOISE_STEPS_PER_TAU * lambda_max)`` by default.
NOISE_STEPS_PER_TAU = 50

#: ``file``: our seeded samples, held (default); ``trnoise``: ngspice's TRNOISE (unseeded).
NOISE_KINDS = ("file", "trnoise")

#: The noise file may not exceed this without an explicit duration (bytes).
MAX_NOISE_FILE_BYTES = 2 * 1024**3

#: ngspice CPU seconds per noise step: a + b * M (fitted on this project's measurements,
#: ngspice 39 on a 2-core x86 VM: 1-node linear 3.0 us, 2-node linear 4.6 us, 4-latent
#: spike-and-slab 9.5 us per NT).
CPU_PER_STEP = (1.2e-6, 2.0e-6)
_BYTES_PER_VALUE = 14  # "%.6e" and a separator (the time column: 17)


def _num(x: float) -> str:
    """A number as SPICE reads it (plain e-notation, no unit suffix: ``1m`` would be milli)."""
    return f"{float(x):.12g}"


def default_noise_step(cfg: Config) -> float:
    """Default noise sample time ``NT = tau_u / (50 lambda_max)`` in s (2 significant digits,
    rounded down), ``lambda_max`` at least 1."""
    d = cfg.design
    return round_down(d.tau_u / (NOISE_STEPS_PER_TAU * max(1.0, d.timestep.lambda_max)))


def noise_amplitude(psd: float, noise_step: float) -> float:
    """``NA = sqrt(S / (2 NT))``: the rms (A) of held (or TRNOISE) samples whose one-sided PSD
    is ``psd`` (A^2/Hz) at frequencies well below ``1 / noise_step`` (module docstring)."""
    return math.sqrt(psd / (2.0 * noise_step))


def noise_filter_factor(b, noise: str = "file") -> np.ndarray:
    """``F(b) = int g(s) exp(-b |s|) ds``: the variance of a mode of rate ``k`` driven by noise
    samples ``NT`` apart, relative to white driving of the same low-frequency PSD, at
    ``b = k NT``.

    ``noise="file"`` (sample and hold, ``g`` the unit triangle): ``2 (b - 1 + e^-b) / b^2``
    ``= 1 - b/3 + O(b^2)``. ``noise="trnoise"`` (linear interpolation, ``g`` the centred cubic
    B-spline on [-2, 2]): ``1 - 7b/15 + O(b^2)``, by a fixed Gauss-Legendre rule on the
    spline's two polynomial pieces (exact to round-off for ``b`` of order 1 and below).
    """
    _check_noise_kind(noise)
    b = np.asarray(b, dtype=float)
    if noise == "file":
        small = np.abs(b) < 1e-4
        safe = np.where(small, 1.0, b)
        exact = 2.0 * (safe - 1.0 + np.exp(-safe)) / safe**2
        return np.where(small, 1.0 - b / 3.0 + b * b / 12.0, exact)
    nodes, weights = np.polynomial.legendre.leggauss(40)
    total = np.zeros_like(b)
    for lo, hi in ((0.0, 1.0), (1.0, 2.0)):
        s = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
        w = 0.5 * (hi - lo) * weights
        g = np.where(s <= 1.0, 2.0 / 3.0 - s**2 + 0.5 * s**3, (2.0 - s) ** 3 / 6.0)
        total = total + np.sum(w * g * np.exp(-np.multiply.outer(b, s)), axis=-1)
    return 2.0 * total


def _check_noise_kind(noise: str) -> None:
    if noise not in NOISE_KINDS:
        raise ConfigError("noise", "one of " + ", ".join(repr(k) for k in NOISE_KINDS), noise)


def _white_sources(cfg: Config) -> list:
    """(name, kind, psd) of every white source with a positive PSD; ConfigError on flicker."""
    for i, src in enumerate(cfg.design.noise.sources):
        if src.kind in ("flicker", "common", "rtn"):
            raise ConfigError(f"noise[{i}].kind", "independent white noise sources (thermal, "
                              "shot, injected, measured) for the SPICE export (flicker, "
                              "common-mode and telegraph noise are not exported)", src.kind)
    return list(cfg.design.noise.white)


def stationary_covariance(cfg: Config, noise_step: float | None = None,
                          noise: str = "file") -> np.ndarray:
    """Stationary covariance (V^2, M x M) of the node voltages of the exported Gaussian-prior
    circuit: the continuous-time linear circuit driven by the noise currents as the netlist
    makes them (samples ``NT`` apart, held or linearly interpolated, see ``noise``).
    ``noise_step=None``: :func:`default_noise_step`.

    With the rate matrix ``K = (G_m / C) A`` (``A`` the posterior precision, eigenpairs
    ``k_a, q_a``) and ``S`` the total one-sided PSD per node (independent between nodes, so
    independent between modes), ``Cov = (S / 4 C^2) Q diag(F(k_a NT) / k_a) Q^T``, which is
    ``T_eff V_u^2 A^-1`` when ``NT -> 0``.
    """
    if cfg.model.prior != "gaussian":
        raise ConfigError("model.prior", "\"gaussian\" for a closed-form covariance", cfg.model.prior)
    nt = default_noise_step(cfg) if noise_step is None else float(noise_step)
    c = cfg.circuit
    prec = models.gaussian_precision(cfg.design.model)
    rates, q = np.linalg.eigh(prec * c.transconductance / c.capacitance)
    psd = sum(p for _, _, p in _white_sources(cfg))
    f = noise_filter_factor(rates * nt, noise)
    cov = psd / (4.0 * c.capacitance**2) * ((q * (f / rates)) @ q.T)
    return 0.5 * (cov + cov.T)


def _check_exportable(cfg: Config) -> None:
    m, n = cfg.model.n_components, cfg.model.n_features
    if m > MAX_COMPONENTS:
        raise ConfigError("model.n_components", f"at most {MAX_COMPONENTS} latent units for the "
                          "SPICE export (small circuits only)", m)
    if n > MAX_FEATURES:
        raise ConfigError("model.n_features", f"at most {MAX_FEATURES} inputs for the SPICE "
                          "export (small circuits only)", n)
    if cfg.learning is not None:
        raise ConfigError("[learning]", "no learning section for the SPICE export (it exports "
                          "inference at a fixed input)", "a [learning] section")
    if cfg.input.kind != "fixed":
        raise ConfigError("input.kind", "\"fixed\" (one input x) for the SPICE export", cfg.input.kind)
    if cfg.wires is not None:
        raise ConfigError("[crossbar]", "ideal wires for the SPICE export (it does not export "
                          "wire resistance yet)", "a [crossbar] section")
    if cfg.comparator is not None:
        raise ConfigError("[comparator]", "ideal comparators for the SPICE export (it does "
                          "not export a finite gain or offset yet)", "a [comparator] section")
    if cfg.transconductor is not None or cfg.circuit.output_conductance is not None:
        raise ConfigError("[transconductor] / circuit.output_conductance", "an ideal linear "
                          "transconductor for the SPICE export (it does not export these "
                          "non-idealities yet)", "a saturating or leaky transconductor")


# --------------------------------------------------------------------------- the noise record
def n_noise_samples(t_stop: float, noise_step: float) -> int:
    """Rows of the noise file: ``0, NT, ...`` past ``t_stop`` (two spare samples)."""
    return int(math.ceil(t_stop / noise_step)) + 2


def noise_file_bytes(m: int, t_stop: float, noise_step: float) -> int:
    """Size of the noise file of ``m`` nodes (bytes, about)."""
    return n_noise_samples(t_stop, noise_step) * (m * _BYTES_PER_VALUE + 17)


def estimate_cpu_seconds(m: int, t_stop: float, noise_step: float) -> float:
    """Expected ngspice CPU time (s) of a run: :data:`CPU_PER_STEP` per noise step."""
    a, b = CPU_PER_STEP
    return (t_stop / noise_step) * (a + b * m)


def noise_record(cfg: Config, t_stop: float, noise_step: float) -> tuple[np.ndarray, np.ndarray]:
    """The exported noise currents: ``(t (K,) in s, currents (K, M) in A)``, independent
    Gaussian samples of rms ``NA = sqrt(S / (2 NT))`` per node (``S``: the summed PSD of the
    white sources), drawn from the run's ``spice`` seed stream."""
    d = cfg.design
    psd = sum(p for _, _, p in _white_sources(cfg))
    k = n_noise_samples(t_stop, noise_step)
    t = np.arange(k) * noise_step
    rng = d.seeds.rng("spice")
    return t, noise_amplitude(psd, noise_step) * rng.standard_normal((k, d.n_components))


def write_noise_file(path, t: np.ndarray, currents: np.ndarray, header: str = "") -> None:
    """The file XSPICE's ``filesource`` reads: one line per sample, the time (11 significant
    digits) then one value per node (A, 7 significant digits: the draws' own precision far
    exceeds any statistic); lines starting with ``#`` are comments."""
    m = currents.shape[1]
    row = "%.10e" + " %.6e" * m + "\n"
    data = np.column_stack([t, currents])
    with open(path, "w") as fh:
        for line in header.splitlines():
            fh.write(f"# {line}\n")
        for k in range(0, len(data), 20000):  # one formatting call per block (C speed)
            block = data[k:k + 20000]
            fh.write((row * len(block)) % tuple(block.ravel()))


# --------------------------------------------------------------------------- the netlist
def _signed_terms(coeffs, names, per_line: int = 4) -> str:
    """``+ c1*V(a) - c2*V(b) ...`` (every term with its sign, zero coefficients dropped,
    continuation lines every ``per_line`` terms); ``""`` when all are zero."""
    terms = [f"{'-' if c < 0 else '+'} {_num(abs(c))}*V({name})"
             for c, name in zip(coeffs, names) if c != 0]
    return "\n+   ".join(" ".join(terms[k:k + per_line]) for k in range(0, len(terms), per_line))


def _node_lines(design) -> list[str]:
    """Capacitors, code nodes, residual nodes and drive currents."""
    model, c = design.model, design.circuit
    phi, x, u_init = model.dictionary, design.x, design.u_init
    n, m = phi.shape
    vu, gm, cap = c.volts_per_unit, c.transconductance, c.capacitance
    vu0 = vu * model.u0
    out = ["* latent capacitors (initial voltage V_u u_init)"]
    out += [f"C{j + 1} v{j + 1} 0 {_num(cap)} IC={_num(vu * u_init[j])}" for j in range(m)]
    out += ["", "* code nodes: V(s_j) = V_u h(u_j)"]
    for j in range(m):
        v = f"V(v{j + 1})"
        excess = f"(abs({v}) - {_num(vu0)})"
        expr = v if model.prior == "gaussian" else (
            f"{excess}*u{excess}" if model.positive else f"sgn({v})*{excess}*u{excess}")
        out.append(f"Bs{j + 1} s{j + 1} 0 V = {expr}")
    out += ["", "* residual nodes (crossbar, forward): V(r_i) = V_u x_i - sum_j Phi_ij V(s_j)"]
    snames = [f"s{j + 1}" for j in range(m)]
    out += [f"Br{i + 1} r{i + 1} 0 V = {_num(vu * x[i])} {_signed_terms(-phi[i], snames)}"
            .rstrip() for i in range(n)]
    out += ["", "* drive currents into the latent nodes: G_m V_u force_j(u)"]
    rnames = [f"r{i + 1}" for i in range(n)]
    for j in range(m):
        v = f"V(v{j + 1})"
        drive = _signed_terms(phi[:, j] * gm / model.sigma**2, rnames)
        drive = "0" if not drive else drive[2:] if drive.startswith("+ ") else "-" + drive[2:]
        if model.prior == "gaussian":
            expr = f"{drive} - {_num(gm / model.prior_variance)}*{v}"
        else:
            hp = (f"sgn({v})*u(abs({v}) - {_num(vu0)})" if model.positive
                  else f"u(abs({v}) - {_num(vu0)})")
            expr = f"{hp}*({drive}) - {_num(gm * vu * model.lam)}*sgn({v})"
        out.append(f"Bd{j + 1} 0 v{j + 1} I = {expr}")
    return out


def _noise_lines(cfg: Config, nt: float, noise: str, noise_file: str,
                 node: str = "v") -> list[str]:
    """The white noise currents into the latent nodes ``<node>1 .. <node>M``."""
    sources = _white_sources(cfg)
    if not sources:
        return ["* (no noise: a noiseless circuit, deterministic descent)"]
    m = cfg.design.n_components
    psd = sum(p for _, _, p in sources)
    na = noise_amplitude(psd, nt)
    out = ["* white current noise: one current per node, the summed one-sided PSD of"]
    out += [f"*   {name} ({kind}): S = {p:.6e} A^2/Hz" for name, kind, p in sources]
    out.append(f"* total S = {psd:.6e} A^2/Hz per node; samples every NT = {_num(nt)} s, "
               f"rms NA = sqrt(S / (2 NT)) = {na:.6e} A")
    if noise == "trnoise":
        out += [f"In{j + 1} 0 {node}{j + 1} DC 0 TRNOISE({_num(na)} {_num(nt)} 0 0)"
                for j in range(m)]
        return out
    nodes = " ".join(f"{node}{j + 1}" for j in range(m))
    out += [f"* held samples from {noise_file} (time, then one column per node, in A)",
            f"Anoise %i([{nodes}]) noise_samples",
            f".model noise_samples filesource (file=\"{noise_file}\" amploffset=[{' '.join(['0'] * m)}]"
            f" amplscale=[{' '.join(['1'] * m)}]",
            "+ timeoffset=0 timescale=1 timerelative=false amplstep=true)"]
    return out


def _header(cfg: Config, nt: float, noise: str, data_file: str, noise_file: str) -> list[str]:
    d = cfg.design
    model, c = d.model, d.circuit
    what = ("TRNOISE sources (ngspice 39 cannot seed them)" if noise == "trnoise" else
            f"held samples from {noise_file} (seed stream 'spice' of run.seed = {d.seed})")
    return [f"* circuit-sim export: {d.n_components} latent node(s), {d.n_features} input(s), "
            f"prior = {model.prior}",
            f"* C = {_num(c.capacitance)} F, G_m = {_num(c.transconductance)} S, V_u = "
            f"{_num(c.volts_per_unit)} V, tau_u = C/G_m = {_num(d.tau_u)} s, lambda_max = "
            f"{d.timestep.lambda_max:.6g}",
            f"* T_eff = {d.T_eff:.6g} (noise budget); noise: {what}, NT = {_num(nt)} s = "
            f"tau_u / {d.tau_u / nt:.4g}",
            "* nodes: v<j> latent (V_u u_j), s<j> code (V_u s_j), r<i> residual (V_u r_i)",
            f"* written by circuit-sim; run with: ngspice -b FILE.cir  (writes {data_file})",
            "", ".options noopiter method=trap interp", ""]


def _control_lines(design, t_step: float, t_stop: float, nt: float, data_file: str,
                   ic: dict | None = None) -> list[str]:
    """The analysis: ``.ic`` (default ``v<j> = V_u u_init``; ``ic``: node -> volts), the
    transient and the ``wrdata`` of ``v(v1) ..``."""
    m = design.n_components
    if ic is None:
        ic = {f"v{j + 1}": design.circuit.volts_per_unit * design.u_init[j] for j in range(m)}
    ic = " ".join(f"v({k})={_num(v)}" for k, v in ic.items())
    vs = " ".join(f"v(v{j + 1})" for j in range(m))
    return ["", f".ic {ic}", f".save {vs}", f".tran {_num(t_step)} {_num(t_stop)} 0 {_num(nt)} uic",
            "", ".control", "set wr_singlescale", "set wr_vecnames", "option numdgt=12", "run",
            f"wrdata {data_file} {vs}", "quit", ".endc", "", ".end", ""]


def _times(cfg: Config, t_stop, t_step, noise_step) -> tuple[float, float, float]:
    d = cfg.design
    t_stop = d.timestep.duration if t_stop is None else float(t_stop)
    t_step = d.timestep.record_stride * d.dt if t_step is None else float(t_step)
    nt = default_noise_step(cfg) if noise_step is None else float(noise_step)
    for name, value in (("t_stop", t_stop), ("t_step", t_step), ("noise_step", nt)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(name, "a positive time in s", value)
    if t_step > t_stop:
        raise ConfigError("t_step", f"at most t_stop = {_num(t_stop)} s", t_step)
    return t_stop, t_step, nt


def export_spice(cfg: Config, path=None, *, t_stop: float | None = None,
                 t_step: float | None = None, noise_step: float | None = None,
                 noise: str = "file", data_file: str | None = None,
                 noise_file: str | None = None) -> str:
    """Write the ngspice netlist of the inference circuit of ``cfg`` and return its text.

    Parameters
    ----------
    cfg : Config
        A validated configuration: at most :data:`MAX_COMPONENTS` latent units and
        :data:`MAX_FEATURES` inputs, a fixed input, no learning, white noise sources only.
    path : str or Path, optional
        Where to write the netlist (``.cir``) and, for ``noise="file"``, the noise file
        (``noise_file``); the text is returned either way (nothing is written without a path).
    t_stop : float, optional
        Simulated time in s (default the config's duration).
    t_step : float, optional
        Output interval in s of the written node voltages (default ``record_every``).
    noise_step : float, optional
        Noise sample time ``NT`` in s (default :func:`default_noise_step`,
        ``tau_u / (50 lambda_max)``); also the largest internal time step.
    noise : {"file", "trnoise"}
        Our seeded samples held for ``NT`` (read by XSPICE ``filesource``), or ngspice's
        TRNOISE (linearly interpolated; not reproducible, see the module docstring).
        ``NA = sqrt(S / (2 NT))`` either way.
    data_file : str, optional
        The text file that ngspice's ``wrdata`` writes (time, ``v(v1)`` ... in V, one header
        line). Default: the netlist's path with suffix ``.dat``, or ``circuit.dat``.
    noise_file : str, optional
        The noise samples' file. Default: the netlist's path with suffix ``.noise``, or
        ``circuit.noise``.

    Raises
    ------
    ConfigError
        ``field: expected X, got Y`` for a circuit the export does not cover, a noise file
        over :data:`MAX_NOISE_FILE_BYTES` (give a shorter ``t_stop``), bad options.
    """
    t_stop, t_step, nt, data_file, noise_file = _prepare(cfg, path, t_stop, t_step, noise_step,
                                                          noise, data_file, noise_file)
    lines = (_header(cfg, nt, noise, data_file, noise_file) + _node_lines(cfg.design) + [""]
             + _noise_lines(cfg, nt, noise, noise_file)
             + _control_lines(cfg.design, t_step, t_stop, nt, data_file))
    return _write(cfg, path, "\n".join(lines), noise, noise_file, t_stop, nt)


def _prepare(cfg: Config, path, t_stop, t_step, noise_step, noise: str, data_file,
             noise_file) -> tuple:
    """The checks of an export and its times and file names: ``(t_stop, t_step, NT,
    data_file, noise_file)`` (see :func:`export_spice`)."""
    _check_exportable(cfg)
    _check_noise_kind(noise)
    _white_sources(cfg)
    t_stop, t_step, nt = _times(cfg, t_stop, t_step, noise_step)
    stem = Path(path) if path is not None else Path("circuit")
    data_file = str(stem.with_suffix(".dat")) if data_file is None else str(data_file)
    noise_file = str(stem.with_suffix(".noise")) if noise_file is None else str(noise_file)
    for name, value in (("data_file", data_file), ("noise_file", noise_file)):
        if any(ch.isspace() or ch == '"' for ch in value):
            raise ConfigError(name, "a path without spaces or quotes (ngspice's file names)", value)
    size = noise_file_bytes(cfg.design.n_components, t_stop, nt)
    if noise == "file" and size > MAX_NOISE_FILE_BYTES:
        raise ConfigError("t_stop", f"a duration whose noise file stays below "
                          f"{MAX_NOISE_FILE_BYTES / 1e9:.1f} GB (this one: {size / 1e9:.1f} GB "
                          f"of samples every NT = {format_si(nt, 's')}); give --duration",
                          format_si(t_stop, "s"))
    return t_stop, t_step, nt, data_file, noise_file


def _write(cfg: Config, path, text: str, noise: str, noise_file: str, t_stop: float,
           nt: float) -> str:
    """Write the netlist ``text`` to ``path`` (if any) with its noise file; return ``text``."""
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
        if noise == "file" and _white_sources(cfg):
            t, currents = noise_record(cfg, t_stop, nt)
            write_noise_file(noise_file, t, currents,
                             header=f"circuit-sim noise for {Path(path).name}: time [s], then "
                                    f"the current into the latent nodes 1..{cfg.design.n_components} [A]")
    return text


def run_netlist(write, *, workdir=None, timeout: float | None = None,
                name: str = "circuit") -> tuple[np.ndarray, np.ndarray]:
    """Run ``ngspice -b`` on the netlist that ``write(path)`` writes to ``<tmp>/<name>.cir``
    (its ``wrdata`` file ``<name>.dat``) and return ``(t, v)`` (s, V).

    Raises FileNotFoundError when ``ngspice`` is not on PATH and RuntimeError (with the tail of
    ngspice's output) when it fails."""
    exe = shutil.which("ngspice")
    if exe is None:
        raise FileNotFoundError("ngspice: expected the ngspice program on PATH, got none "
                                "(Debian/Ubuntu: apt-get install ngspice)")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        cir = Path(tmp) / f"{name}.cir"
        write(cir)
        proc = subprocess.run([exe, "-b", str(cir)], cwd=tmp, capture_output=True, text=True,
                              timeout=timeout)
        dat = cir.with_suffix(".dat")
        if proc.returncode != 0 or not dat.is_file():
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"ngspice failed (exit status {proc.returncode}):\n{tail}")
        return read_wrdata(dat)


def read_wrdata(path) -> tuple[np.ndarray, np.ndarray]:
    """Read the file written by the netlist's ``wrdata``: ``(t (K,) in s, v (K, M) in V)``.

    The rows are on the output grid ``t_step, 2 t_step, ...`` (``.options interp``; ngspice
    leaves out ``t = 0``)."""
    data = np.loadtxt(path, skiprows=1, ndmin=2)
    return data[:, 0].copy(), data[:, 1:].copy()


def run_ngspice(cfg: Config, *, workdir=None, timeout: float | None = None,
                **export_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Export ``cfg``, run ``ngspice -b`` on it and return ``(t, v)`` (s, V).

    Raises FileNotFoundError when ``ngspice`` is not on PATH and RuntimeError (with the tail of
    ngspice's output) when it fails.
    """
    return run_netlist(lambda cir: export_spice(cfg, cir, **export_kwargs), workdir=workdir,
                       timeout=timeout)


def _time_option(value, option: str):
    return None if value is None else parse_quantity(value, "time", option)


def cmd_export_spice(args) -> int:
    """CLI: ``circuit-sim export-spice CONFIG -o FILE.cir [--duration T] [--step NT]``."""
    from .cli import load_with_sets
    from .results.hdf5 import check_output_path

    cfg = load_with_sets(args) if hasattr(args, "set") else load_config(args.config)
    out = Path(args.out) if getattr(args, "out", None) else \
        Path("output") / (Path(args.config).stem + ".cir")
    check_output_path(out, "--out")
    check_output_path(out.with_suffix(".noise"), "--out (its .noise)")
    t_stop = _time_option(getattr(args, "duration", None), "--duration")
    nt = _time_option(getattr(args, "step", None), "--step")
    export_spice(cfg, out, t_stop=t_stop, noise_step=nt)
    t_stop, _, nt = _times(cfg, t_stop, None, nt)
    m = cfg.design.n_components
    print(f"wrote {out} and its noise samples {out.with_suffix('.noise')} "
          f"({noise_file_bytes(m, t_stop, nt) / 1e6:.3g} MB: {format_si(t_stop, 's')} of "
          f"circuit time, a sample every NT = {format_si(nt, 's')})")
    print(f"run: ngspice -b {out}  (expected CPU time about "
          f"{estimate_cpu_seconds(m, t_stop, nt):.3g} s; it writes the node voltages to "
          f"{out.with_suffix('.dat')})")
    return 0
