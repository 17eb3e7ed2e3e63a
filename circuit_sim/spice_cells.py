"""A chip whose transconductors are a transistor-level cell, as an ngspice netlist: the
transistor-level side of the validation of issue 17 item 4(b, c).

The netlist is :func:`circuit_sim.spice.export_spice`'s circuit with the ideal drive current
replaced by the cell (``.subckt NAME out inp inn vdd vss``, e.g. the sky130 OTA):

* latent node ``n<j>``: a capacitor ``C_node`` to ground (the cell adds its own capacitance
  at ``out``), biased at the common mode ``V_cm``; ``v<j> = V(n<j>) - V_cm = V_u u_j`` is a
  behavioural buffer the rest reads;
* code and residual nodes as in the export (behavioural: the crossbar is ideal, the threshold
  is made by comparators of a finite width, ``[comparator] width`` on the Brian2 side, since a
  discontinuous force in a loop through the cell stalls ngspice; the cell under test is the
  transconductor);
* the force voltage ``f<j> = V_cm + V_u F_j(u)`` (the export's drive current divided by
  ``G_m``) drives the cell's ``inp``, ``inn`` sits at ``V_cm``; the cell's output current into
  ``n<j>`` is then ``I(V_u F)`` with whatever the transistors make of it (saturation, output
  conductance, offset, internal poles);
* noise: the export's seeded held samples into ``n<j>`` (ngspice's transient analysis has no
  device noise: the cell's own noise is not in this netlist, so the Brian2 side leaves it out
  too).

The ``cfg`` given is the *ideal* circuit (``C = C_node``, ``G_m`` the cell's small-signal
transconductance, white noise only); the Brian2 model to compare with is the same design with
the cell's characterised capacitance added and its non-idealities switched on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from scipy import constants

from .errors import ConfigError
from .spice import _control_lines, _header, _noise_lines, _prepare, _write, run_netlist


def _num(x) -> str:
    return repr(float(x))


def _smooth_lines(design, subckt: str, width: float, sign_width: float,
                  common_mode: float) -> list[str]:
    """Latent nodes, code nodes ``V(s_j) = V_u h_w(u_j)`` (the comparators' smooth threshold
    of :func:`models.smooth_soft_threshold`, transition ``width`` in V), residual nodes and
    the force voltages ``f_j = V_cm + V_u F_j(u)`` with ``h_w'`` and the prior's sign made
    smooth over ``sign_width`` (V, ``tanh``): a discontinuous force in a loop through the
    cell makes ngspice's step collapse ("timestep too small") where Brian2 steps across."""
    model, c = design.model, design.circuit
    phi, x, m, n = model.dictionary, design.x, model.n_components, model.n_features
    vu, w, vu0 = c.volts_per_unit, width, c.volts_per_unit * model.u0
    out = ["* latent nodes n<j> (capacitor to ground, biased at V_cm); v<j> = V(n<j>) - V_cm"]
    for j in range(1, m + 1):
        out += [f"C{j} n{j} 0 {_num(c.capacitance)} IC={_num(common_mode)}",
                f"Bv{j} v{j} 0 V = V(n{j}) - {_num(common_mode)}"]
    out += ["", f"* code nodes: V(s_j) = V_u h_w(u_j), comparators of width {_num(w)} V"]
    zp, zm = "((V(v{j}) - {u0}) / {w})", "((-V(v{j}) - {u0}) / {w})"
    sp = "ln(1 + exp({z}))"
    sig = "(1 / (1 + exp(-{z})))"
    for j in range(1, m + 1):
        a = zp.format(j=j, u0=_num(vu0), w=_num(w))
        b = zm.format(j=j, u0=_num(vu0), w=_num(w))
        if model.prior == "gaussian":
            out.append(f"Bs{j} s{j} 0 V = V(v{j})")
            continue
        op = "+" if model.positive else "-"
        out.append(f"Bs{j} s{j} 0 V = {_num(w)} * ({sp.format(z=a)} {op} {sp.format(z=b)})")
        out.append(f"Bh{j} h{j} 0 V = {sig.format(z=a)} {'-' if model.positive else '+'} "
                   f"{sig.format(z=b)}")
    out += ["", "* residual nodes: V(r_i) = V_u x_i - sum_j Phi_ij V(s_j)"]
    for i in range(n):
        terms = " ".join(f"{-phi[i, j]:+.12g}*V(s{j + 1})" for j in range(m))
        out.append(f"Br{i + 1} r{i + 1} 0 V = {_num(vu * x[i])} {terms}")
    out += ["", "* force voltages f_j = V_cm + V_u F_j(u): the cell's input (inn at V_cm)"]
    for j in range(1, m + 1):
        drive = " ".join(f"{phi[i, j - 1] / model.sigma**2:+.12g}*V(r{i + 1})" for i in range(n))
        if model.prior == "gaussian":
            f = f"({drive}) - V(v{j}) / {_num(model.prior_variance)}"
        else:
            f = (f"V(h{j}) * ({drive}) - {_num(vu * model.lam)} * "
                 f"tanh(V(v{j}) / {_num(sign_width)})")
        out += [f"Bf{j} f{j} 0 V = {_num(common_mode)} + {f}",
                f"X{j} n{j} f{j} cm vdd vss {subckt}"]
    return out


def cell_netlist(cfg, cell, subckt: str, *, lib=None, corner: str | None = None,
                 temperature: float = 300.0, supply: float = 1.8, common_mode: float = 0.9,
                 t_stop: float | None = None, t_step: float | None = None,
                 noise_step: float | None = None, threshold_width: float = 0.5e-3,
                 sign_width: float = 0.05e-3, mismatch: bool = False, workdir=None) -> str:
    """The netlist text of the chip of ``cfg`` built on ``cell`` (module docstring); with
    ``workdir`` it is written there as ``chip.cir`` with its noise file ``chip.noise`` (named
    by its absolute path in the netlist).

    Parameters
    ----------
    cfg : Config
        The ideal circuit (exportable: white noise, a fixed input, no non-idealities).
    cell : path
        SPICE file with ``.subckt subckt out inp inn vdd vss``.
    lib, corner : optional
        A model library (``"sky130"`` or a path) and its corner.
    temperature : float
        K. ``supply``, ``common_mode``: V.
    t_stop, t_step, noise_step : float, optional
        As :func:`circuit_sim.spice.export_spice`.
    threshold_width, sign_width : float
        V: the comparators' transition width (the Brian2 side's ``comparator.width``) and
        the prior sign's (``tanh(v / sign_width)``; Brian2's is exact).
    mismatch : bool
        Every transistor draws its own mismatch (sky130 models, :func:`~.pdk.reduced_library`
        with ``mc_mm_switch = 1``), from ngspice's generator.
    """
    from .pdk import cell_devices, global_params, reduced_library, resolve_lib

    cell = Path(cell).resolve()
    if not cell.is_file():
        raise ConfigError("cell", "an existing SPICE file with the cell's .subckt", str(cell))
    lib_path = resolve_lib(lib)
    if lib == "sky130":
        lib_path = reduced_library(cell_devices(cell.read_text()), corner or "tt",
                                   mismatch=mismatch) or lib_path
    elif mismatch:
        raise ConfigError("mismatch", "lib = \"sky130\" (the reduced library draws each "
                          "instance's mismatch)", lib)
    work = Path(workdir) if workdir is not None else None
    path = work / "chip.cir" if work is not None else None
    noise_file = str(work.resolve() / "chip.noise") if work is not None else "chip.noise"
    t_stop, t_step, nt, data_file, noise_file = _prepare(cfg, path, t_stop, t_step, noise_step,
                                                          "file", "chip.dat", noise_file)
    d = cfg.design
    head = ["* circuit-sim: the chip on a transistor-level transconductor "
            f"({subckt} from {cell.name}{', ' + str(lib) + ' ' + (corner or 'tt') if lib else ''})",
            global_params(lib_path).strip()]
    if lib_path is not None:
        head.append(f".lib {lib_path} {corner or 'tt'}")
    head += [f".include {cell}", f".temp {temperature - constants.zero_Celsius:.6g}",
             f"Vdd vdd 0 {supply!r}", "Vss vss 0 0", f"Vcm cm 0 {common_mode!r}", ""]
    lines = (head + _header(cfg, nt, "file", data_file, noise_file)
             + _smooth_lines(d, subckt, threshold_width, sign_width, common_mode) + [""]
             + _noise_lines(cfg, nt, "file", noise_file, node="n")
             + _control_lines(d, t_step, t_stop, nt, data_file,
                              ic={f"n{j + 1}": common_mode for j in range(d.n_components)}))
    return _write(cfg, path, "\n".join(lines) + "\n", "file", noise_file, t_stop, nt)


def run_cell_chip(cfg, cell, subckt: str, *, timeout: float = 3600.0, **kwargs):
    """Run :func:`cell_netlist`'s chip in ngspice: ``(t (K,) s, v (K, M) V)``, ``v = V_u u``.

    Raises RuntimeError with the tail of ngspice's output when it fails."""
    if shutil.which("ngspice") is None:
        raise ConfigError("ngspice", "ngspice on the PATH (e.g. apt-get install ngspice)", None)
    t, v = run_netlist(lambda cir: cell_netlist(cfg, cell, subckt, workdir=cir.parent, **kwargs),
                       timeout=timeout, name="chip")
    return t, np.asarray(v)
