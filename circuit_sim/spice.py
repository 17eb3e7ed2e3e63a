"""Export a small inference circuit as an ngspice netlist (transient noise, behavioural sources).

The netlist is the circuit of SPEC section 3 written with SPICE elements, so that a circuit
designer can check the Brian2 model with an independent simulator (or start a transistor-level
design from it):

* latent unit ``j``: a capacitor ``C`` from node ``v<j>`` to ground, ``v_j = V_u u_j``
  (initial voltage: ``run.u_init``, else the posterior mean for the Gaussian prior and 0 for the
  Laplace prior, as :func:`circuit_sim.simulate.initial_state` chooses for the Brian2 run);
* code node ``s<j>``: a behavioural voltage source ``V(s_j) = V_u h(u_j)`` (the soft threshold;
  ``V(v_j)`` itself for the Gaussian prior);
* residual node ``r<i>``: a behavioural voltage source ``V(r_i) = V_u x_i - sum_j Phi_ij V(s_j)``
  (``= V_u r_i``, the crossbar's forward product);
* drive: a behavioural current source into ``v<j>`` delivering ``G_m V_u force_j(u)``: the
  crossbar's transposed product ``G_m / sigma^2 sum_i Phi_ij V(r_i)`` (times ``h'(u_j)`` for the
  Laplace prior) minus the prior's pull (``G_m V(v_j) / prior_variance``, or ``G_m V_u lam
  sgn(V(v_j))``), the force of :func:`circuit_sim.network._latent_equations`;
* noise: for every white source of ``cfg.noise_budget()`` (thermal, shot, injected) an
  independent current source into every latent node, ``I... 0 v<j> DC 0 TRRANDOM(2 NT 0 NA 0)``
  (default) or ``... TRNOISE(NA NT 0 0)`` (``noise="trnoise"``).

The Gaussian-prior circuit is linear, so SPICE integrates exactly the Langevin equation of the
Brian2 model. The Laplace prior uses ngspice's ``u()`` (unit step, 0 at 0), ``sgn()`` and
``abs()`` in the behavioural expressions: the force is discontinuous at ``u = 0`` and at
``|u| = u0``, which SPICE handles by cutting its time step there.

Noise amplitude: derivation
---------------------------
Both ngspice transient noise sources draw independent Gaussian values ``x_n`` of rms ``NA`` at
the times ``t_n = n NT``. ``TRRANDOM(2 NT 0 NA 0)`` **holds** each value for ``NT`` (kernel: the
box ``B`` of width ``NT``); ``TRNOISE(NA NT 0 0)`` **interpolates linearly** between them
(kernel: the triangle ``L(t) = max(1 - |t|/NT, 0)``). Averaged over the sampling phase, the
current has the autocorrelation ``R(s) = NA^2 g(s/NT)`` with ``g = B * B`` (the triangle) or
``g = L * L`` (the cubic B-spline), both of integral 1, so its two-sided PSD is
``NA^2 NT sinc^2(f NT)`` or ``NA^2 NT sinc^4(f NT)``: the kernels differ only in the roll-off,
and at frequencies well below ``1/NT`` the **one-sided** PSD is in both cases

    ``S = 2 NA^2 NT``,   hence   ``NA = sqrt(S / (2 NT))``.

(The project's SDE convention ``sqrt(S/2) xi(t)``, two-sided intensity ``S/2``, is the limit
``NT -> 0``.) A finite ``NT`` is a small, exactly known low-pass: a mode of relaxation rate ``k``
(1/s) driven by this noise has the variance of white driving times

    ``F(k NT) = int g(sigma) exp(-k NT |sigma|) dsigma``
    ``= 2 (b - 1 + e^-b) / b^2 = 1 - b/3 + ...`` (hold, ``b = k NT``), ``1 - 7b/15 + ...`` (linear),

and the modes stay uncorrelated (every node gets independent noise of the same PSD, which is
isotropic in any basis): :func:`noise_filter_factor` gives ``F``, :func:`stationary_covariance`
the whole matrix for the Gaussian prior. The export chooses ``NT = tau_u / (50 lambda_max)``
(the fastest mode relaxes in ``tau_u / lambda_max``), so this bias is below 0.7% (hold) on
every mode. Both sources put a breakpoint at every ``NT``, and ``TMAX = NT``; ngspice restarts
with a short backward-Euler step after each breakpoint (about 4 time steps per ``NT``, about
12 us of CPU per ``NT`` for a 2-node circuit) and its trapezoidal rule adds an error of order
``(k NT)^2``.

Why TRRANDOM is the default (measured with ngspice 39.3, Debian)
----------------------------------------------------------------
* TRNOISE's white samples come from ngspice's Wallace generator (a pool of 4096 values
  transformed into the next, renormalised only every 65536 pools), and their variance wanders
  during a run: in two runs of 2e6 and 4e6 draws, consecutive chunks of 1e5-4e5 draws had
  variances from 0.92 to 1.045 ``NA^2`` (sampling error 0.2-0.45%); three 1-node sampling
  runs of 8000 ``tau_u`` gave ``var / expected = 1.038, 1.003, 1.032`` (+- 0.012 each).
* That pool is filled from the process id at start-up: neither ``set rndseed``, ``setseed`` nor
  ``.options seed`` makes a TRNOISE run reproducible.
* TRRANDOM type 2 uses the Box-Muller generator on ngspice's seeded Tausworthe generator:
  variance 1.000 +- 0.002 over 4e6 draws, white, independent between sources, and the same
  ``.options seed=N`` gives the same run.

So the export writes TRRANDOM with ``.options seed = run.seed + 1`` (ngspice needs a positive
seed); ``noise="trnoise"`` writes TRNOISE (same ``NA``; not reproducible). Note that
``set rndseed`` in a ``.control`` block does not seed either source in ngspice 39.

Flicker noise is not exported (:class:`ConfigError`): ngspice's 1/f option generates a record
for the whole run with its own normalisation, which is not the Ornstein-Uhlenbeck bank that
the Brian2 model simulates. Learning and input streams are not exported either.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

import models

from .config import Config, load_config
from .errors import ConfigError

__all__ = ["MAX_COMPONENTS", "MAX_FEATURES", "NOISE_STEPS_PER_TAU", "export_spice",
           "NOISE_KINDS", "default_noise_step", "noise_amplitude", "noise_filter_factor",
           "stationary_covariance", "read_wrdata", "run_ngspice", "cmd_export_spice"]

#: Largest circuits the export accepts (the issue asks for 1- and 2-node circuits; every
#: crossbar product is written out term by term, so larger ones make unreadable netlists).
MAX_COMPONENTS = 8
MAX_FEATURES = 64

#: ``NT = tau_u / (NOISE_STEPS_PER_TAU * lambda_max)`` by default.
NOISE_STEPS_PER_TAU = 50


def _num(x: float) -> str:
    """A number as SPICE reads it (plain e-notation, no unit suffix: ``1m`` would be milli)."""
    return f"{float(x):.12g}"


def _round_down(x: float, digits: int = 2) -> float:
    e = math.floor(math.log10(x)) - digits + 1
    return math.floor(x / 10**e + 1e-9) * 10**e


def _lambda_max(cfg: Config) -> float:
    return max(1.0, models.lambda_max(cfg.build_model()))


def default_noise_step(cfg: Config) -> float:
    """Default noise sample time ``NT = tau_u / (50 lambda_max)`` in s (2 significant digits,
    rounded down), ``lambda_max`` at least 1."""
    return _round_down(cfg.circuit.tau_u / (NOISE_STEPS_PER_TAU * _lambda_max(cfg)))


def noise_amplitude(psd: float, noise_step: float) -> float:
    """``NA = sqrt(S / (2 NT))``: the rms (A) of a TRRANDOM / TRNOISE current whose one-sided
    PSD is ``psd`` (A^2/Hz) at frequencies well below ``1 / noise_step`` (module docstring)."""
    return math.sqrt(psd / (2.0 * noise_step))


#: ngspice transient noise sources the export can write (see the module docstring).
NOISE_KINDS = ("trrandom", "trnoise")


def noise_filter_factor(b, noise: str = "trrandom") -> np.ndarray:
    """``F(b) = int g(s) exp(-b |s|) ds``: the variance of a mode of rate ``k`` driven by noise
    samples ``NT`` apart, relative to white driving of the same low-frequency PSD, at
    ``b = k NT``.

    ``noise="trrandom"`` (sample and hold, ``g`` the unit triangle): ``2 (b - 1 + e^-b) / b^2``
    ``= 1 - b/3 + O(b^2)``. ``noise="trnoise"`` (linear interpolation, ``g`` the centred cubic
    B-spline on [-2, 2]): ``1 - 7b/15 + O(b^2)``, by a fixed Gauss-Legendre rule on the
    spline's two polynomial pieces (exact to round-off for ``b`` of order 1 and below).
    """
    if noise not in NOISE_KINDS:
        raise ConfigError("noise", "one of " + ", ".join(repr(k) for k in NOISE_KINDS), noise)
    b = np.asarray(b, dtype=float)
    if noise == "trrandom":
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


def _white_sources(cfg: Config) -> list:
    """(name, kind, psd) of every white source with a positive PSD; ConfigError on flicker."""
    out = []
    budget = cfg.noise_budget()
    for i, src in enumerate(budget.sources):
        if src.kind == "flicker":
            raise ConfigError(f"noise[{i}].kind", "white noise sources (thermal, shot, injected) "
                              "for the SPICE export (flicker noise is not exported)", src.kind)
        psd = float(src.psd(np.array([1.0]))[0])
        if psd > 0:
            out.append((src.name, src.kind, psd))
    return out


def stationary_covariance(cfg: Config, noise_step: float | None = None,
                          noise: str = "trrandom") -> np.ndarray:
    """Stationary covariance (V^2, M x M) of the node voltages of the exported Gaussian-prior
    circuit: the continuous-time linear circuit driven by the noise currents as ngspice makes
    them (samples ``NT`` apart, held or linearly interpolated, see ``noise``).
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
    model = cfg.build_model()
    phi = model.dictionary
    prec = phi.T @ phi / model.sigma**2 + np.eye(model.n_components) / model.prior_variance
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


def _signed_terms(coeffs, names, per_line: int = 4) -> str:
    """``+ c1*V(a) - c2*V(b) ...`` (every term with its sign, zero coefficients dropped,
    continuation lines every ``per_line`` terms); ``""`` when all are zero."""
    terms = [f"{'-' if c < 0 else '+'} {_num(abs(c))}*V({name})"
             for c, name in zip(coeffs, names) if c != 0]
    return "\n+   ".join(" ".join(terms[k:k + per_line]) for k in range(0, len(terms), per_line))


def export_spice(cfg: Config, path=None, *, t_stop: float | None = None,
                 t_step: float | None = None, noise_step: float | None = None,
                 noise: str = "trrandom", data_file: str | None = None) -> str:
    """Write the ngspice netlist of the inference circuit of ``cfg`` and return its text.

    Parameters
    ----------
    cfg : Config
        A validated configuration: at most :data:`MAX_COMPONENTS` latent units and
        :data:`MAX_FEATURES` inputs, a fixed input, no learning, white noise sources only.
    path : str or Path, optional
        Where to write the netlist (``.cir``); the text is returned either way.
    t_stop : float, optional
        Simulated time in s (default ``cfg.duration``).
    t_step : float, optional
        Output interval in s of the written node voltages (default: the config's record
        interval, ``record_every``).
    noise_step : float, optional
        Noise sample time ``NT`` in s (default :func:`default_noise_step`,
        ``tau_u / (50 lambda_max)``); also the largest internal time step.
    noise : {"trrandom", "trnoise"}
        The ngspice noise source: ``TRRANDOM(2 NT 0 NA 0)`` (Gaussian samples held for ``NT``;
        seeded by ``.options seed``) or ``TRNOISE(NA NT 0 0)`` (linearly interpolated; ngspice
        39 cannot seed it and its amplitude wanders by a few percent during long runs, see
        the module docstring). ``NA = sqrt(S / (2 NT))`` either way.
    data_file : str, optional
        The text file that ngspice's ``wrdata`` writes (columns: time, ``v(v1)`` ... in V, one
        header line). Default: the netlist's path with suffix ``.dat``, or ``circuit.dat``
        (relative to ngspice's working directory) when no path is given.

    Raises
    ------
    ConfigError
        ``field: expected X, got Y`` for a circuit the export does not cover.
    """
    from .simulate import initial_state  # imports brian2 (already loaded with circuit_sim)

    _check_exportable(cfg)
    if noise not in NOISE_KINDS:
        raise ConfigError("noise", "one of " + ", ".join(repr(k) for k in NOISE_KINDS), noise)
    sources = _white_sources(cfg)
    c = cfg.circuit
    model = cfg.build_model()
    x = cfg.x
    phi = model.dictionary
    n, m = phi.shape
    dt, _ = cfg.resolved_dt()
    t_stop = cfg.duration if t_stop is None else float(t_stop)
    t_step = cfg.record_stride() * dt if t_step is None else float(t_step)
    nt = default_noise_step(cfg) if noise_step is None else float(noise_step)
    for name, value in (("t_stop", t_stop), ("t_step", t_step), ("noise_step", nt)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(name, "a positive time in s", value)
    if t_step > t_stop:
        raise ConfigError("t_step", f"at most t_stop = {_num(t_stop)} s", t_step)
    if data_file is None:
        data_file = str(Path(path).with_suffix(".dat")) if path is not None else "circuit.dat"
    if any(ch.isspace() for ch in str(data_file)):
        raise ConfigError("data_file", "a path without spaces (ngspice's wrdata)", str(data_file))
    u_init = initial_state(cfg, model, x)
    vu, gm, cap = c.volts_per_unit, c.transconductance, c.capacitance
    budget = cfg.noise_budget()
    lam_max = models.lambda_max(model)
    seed = cfg.run.seed + 1  # ngspice needs a positive seed

    out = [f"* circuit-sim export: {m} latent node(s), {n} input(s), prior = {model.prior}",
           f"* C = {_num(cap)} F, G_m = {_num(gm)} S, V_u = {_num(vu)} V, "
           f"tau_u = C/G_m = {_num(c.tau_u)} s, lambda_max = {lam_max:.6g}",
           f"* T_eff = {budget.T_eff:.6g} (noise budget); {noise.upper()} noise sampled every "
           f"NT = {_num(nt)} s = tau_u / {c.tau_u / nt:.4g}, rms NA = sqrt(S / (2 NT))",
           *([] if noise == "trrandom" else
             ["* TRNOISE: ngspice 39 does not seed it (runs are not reproducible) and its "
              "amplitude wanders by a few % in long runs"]),
           "* nodes: v<j> latent (V_u u_j), s<j> code (V_u s_j), r<i> residual (V_u r_i)",
           f"* written by circuit-sim; run with: ngspice -b FILE.cir  (writes {data_file})",
           "",
           f".options noopiter method=trap interp seed={seed}",
           ""]
    out.append("* latent capacitors (initial voltage V_u u_init)")
    for j in range(m):
        out.append(f"C{j + 1} v{j + 1} 0 {_num(cap)} IC={_num(vu * u_init[j])}")
    out.append("")
    out.append("* code nodes: V(s_j) = V_u h(u_j)")
    vu0 = vu * model.u0
    for j in range(m):
        v = f"V(v{j + 1})"
        if model.prior == "gaussian":
            expr = v
        else:
            excess = f"(abs({v}) - {_num(vu0)})"
            if model.positive:
                expr = f"{excess}*u{excess}"
            else:
                expr = f"sgn({v})*{excess}*u{excess}"
        out.append(f"Bs{j + 1} s{j + 1} 0 V = {expr}")
    out.append("")
    out.append("* residual nodes (crossbar, forward): V(r_i) = V_u x_i - sum_j Phi_ij V(s_j)")
    snames = [f"s{j + 1}" for j in range(m)]
    for i in range(n):
        out.append(f"Br{i + 1} r{i + 1} 0 V = {_num(vu * x[i])} {_signed_terms(-phi[i], snames)}"
                   .rstrip())
    out.append("")
    out.append("* drive currents into the latent nodes: G_m V_u force_j(u)")
    rnames = [f"r{i + 1}" for i in range(n)]
    for j in range(m):
        v = f"V(v{j + 1})"
        drive = _signed_terms(phi[:, j] * gm / model.sigma**2, rnames)
        drive = "0" if not drive else drive[2:] if drive.startswith("+ ") else "-" + drive[2:]
        if model.prior == "gaussian":
            expr = f"{drive} - {_num(gm / model.prior_variance)}*{v}"
        else:
            if model.positive:
                hp = f"sgn({v})*u(abs({v}) - {_num(vu0)})"
            else:
                hp = f"u(abs({v}) - {_num(vu0)})"
            expr = f"{hp}*({drive}) - {_num(gm * vu * model.lam)}*sgn({v})"
        out.append(f"Bd{j + 1} 0 v{j + 1} I = {expr}")
    out.append("")
    out.append(f"* white current noise, one independent {noise.upper()} source per source "
               "and node")
    for k, (name, kind, psd) in enumerate(sources):
        na = noise_amplitude(psd, nt)
        out.append(f"* source {k + 1}: {name} ({kind}), one-sided S = {psd:.6e} A^2/Hz, "
                   f"NA = {na:.6e} A")
        wave = (f"TRRANDOM(2 {_num(nt)} 0 {_num(na)} 0)" if noise == "trrandom"
                else f"TRNOISE({_num(na)} {_num(nt)} 0 0)")
        for j in range(m):
            out.append(f"I{k + 1}_{j + 1} 0 v{j + 1} DC 0 {wave}")
    if not sources:
        out.append("* (none: a noiseless circuit, deterministic descent)")
    out.append("")
    ic = " ".join(f"v(v{j + 1})={_num(vu * u_init[j])}" for j in range(m))
    out.append(f".ic {ic}")
    out.append(".save " + " ".join(f"v(v{j + 1})" for j in range(m)))
    out.append(f".tran {_num(t_step)} {_num(t_stop)} 0 {_num(nt)} uic")
    out += ["",
            ".control",
            "set wr_singlescale",
            "set wr_vecnames",
            "option numdgt=12",
            "run",
            f"wrdata {data_file} " + " ".join(f"v(v{j + 1})" for j in range(m)),
            "quit",
            ".endc",
            "",
            ".end",
            ""]
    text = "\n".join(out)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    return text


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
    exe = shutil.which("ngspice")
    if exe is None:
        raise FileNotFoundError("ngspice: expected the ngspice program on PATH, got none "
                                "(Debian/Ubuntu: apt-get install ngspice)")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        cir = Path(tmp) / "circuit.cir"
        export_spice(cfg, cir, data_file=str(Path(tmp) / "circuit.dat"), **export_kwargs)
        proc = subprocess.run([exe, "-b", str(cir)], cwd=tmp, capture_output=True, text=True,
                              timeout=timeout)
        dat = Path(tmp) / "circuit.dat"
        if proc.returncode != 0 or not dat.is_file():
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"ngspice failed (exit status {proc.returncode}):\n{tail}")
        return read_wrdata(dat)


def cmd_export_spice(args) -> int:
    """CLI: ``circuit-sim export-spice CONFIG -o FILE.cir`` (``args.config``, ``args.out``)."""
    cfg = load_config(args.config)
    out = Path(args.out) if getattr(args, "out", None) else \
        Path("output") / (Path(args.config).stem + ".cir")
    export_spice(cfg, out)
    data = out.with_suffix(".dat")
    print(f"wrote {out} (run: ngspice -b {out}; it writes the node voltages to {data})")
    return 0
