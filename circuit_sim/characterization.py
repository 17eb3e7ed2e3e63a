"""Characterise a transistor-level transconductor cell with ngspice and write the design
fragment the simulator takes (``circuit-sim characterize``).

The cell is a subcircuit ``.subckt NAME out inp inn vdd vss``: the current it drives into
``out`` (held at the common-mode voltage by a 0 V source) is the force current, positive when
``v(inp) > v(inn)``. One ngspice run (batch mode) of a testbench around it gives

* ``.op``: the supply current (power = supply current x supply voltage) and the output
  current at ``dv = 0`` (an offset);
* ``.dc`` of ``dv = v(inp) - v(inn)``: the large-signal transfer, fitted to
  ``I_max tanh((dv - dv_0) / V_L)`` (the fit's rms error relative to ``I_max`` is reported);
* ``.ac`` with the input driven: the small-signal ``G_m`` (at the lowest frequency);
* ``.ac`` with ``out`` driven: the output admittance ``Y(f) = G_o + j 2 pi f C``, fitted for
  ``G_o`` and the capacitance at ``out``;
* ``.noise``: the output current noise PSD (through a noiseless 1-ohm current-controlled
  voltage source on the output current), fitted to ``S_w (1 + f_c / f)``.

What is fitted is written as TOML (``[circuit]``, ``[transconductor]``, a ``measured``
``[[noise]]`` and a short ``[run]``): with ``[model]`` and ``[input]`` added it is a config.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import constants, optimize

from noise import format_si

from .errors import ConfigError

__all__ = ["Characterization", "characterize", "testbench"]

#: Frequencies of the small-signal analyses (Hz) and points per decade.
F_START, F_STOP, POINTS_PER_DECADE = 1.0, 1e9, 10


def testbench(cell: Path, subckt: str, *, temperature: float, supply: float,
              common_mode: float, dv_max: float, lib: Path | None = None,
              corner: str | None = None) -> str:
    """The ngspice netlist (batch ``.control`` block writing ``op.txt``, ``dc.txt``,
    ``ac_gm.txt``, ``ac_y.txt``, ``noise.txt`` in the working directory)."""
    lib_line = f".lib {lib} {corner or 'tt'}\n" if lib is not None else ""
    from .pdk import global_params

    params = global_params(lib)
    return f"""* circuit-sim characterize: {subckt} from {cell.name}
{params}{lib_line}.include {cell}
.temp {temperature - constants.zero_Celsius:.6g}
Vdd vdd 0 {supply:.9g}
Vss vss 0 0
Vcm cm 0 {common_mode:.9g}
Vd inp cm dc 0 ac 1
Einn inn 0 cm 0 1
Vo out cm dc 0 ac 0
Hsense sense 0 Vo 1
X1 out inp inn vdd vss {subckt}
.control
set wr_singlescale
op
wrdata op.txt i(Vdd) i(Vo)
dc Vd {-dv_max:.9g} {dv_max:.9g} {dv_max / 100:.9g}
wrdata dc.txt i(Vo)
ac dec {POINTS_PER_DECADE} {F_START:g} {F_STOP:g}
wrdata ac_gm.txt i(Vo)
alter Vd ac = 0
alter Vo ac = 1
ac dec {POINTS_PER_DECADE} {F_START:g} {F_STOP:g}
wrdata ac_y.txt i(Vo)
alter Vo ac = 0
alter Vd ac = 1
noise v(sense) Vd dec {POINTS_PER_DECADE} {F_START:g} {F_STOP:g}
setplot previous
wrdata noise.txt onoise_spectrum
.endc
.end
"""


@dataclass(frozen=True)
class Characterization:
    """A characterised cell (SI floats) and the data its fits came from."""

    cell: str
    subckt: str
    temperature: float           #: K
    supply_voltage: float        #: V
    common_mode: float           #: V
    corner: str | None
    transconductance: float      #: G_m, S (small signal, lowest frequency)
    output_conductance: float    #: G_o, S
    capacitance: float           #: at out, F
    supply_current: float        #: A
    offset_current: float        #: output current at dv = 0, A
    saturation_current: float    #: I_max, A
    linear_range: float          #: V_L, V
    input_offset: float          #: dv_0 of the tanh fit, V
    fit_error: float             #: rms residual of the tanh fit / I_max
    white_psd: float             #: S_w, A^2/Hz (one-sided)
    flicker_corner: float | None  #: f_c, Hz (None: below the analysed band)
    dv: np.ndarray               #: DC sweep (V)
    i_out: np.ndarray            #: output current (A)
    f: np.ndarray                #: noise frequencies (Hz)
    psd: np.ndarray              #: output current noise (A^2/Hz)
    from_cache: bool = False     #: read from the cache of an identical earlier run
    bandwidth: float | None = None  #: where |G_m(f)| has fallen by 3 dB, Hz (None: not in band)

    def fragment(self, volts_per_unit: float, duration: float = 20e-6) -> str:
        """The design fragment (TOML): add ``[model]`` and ``[input]`` to make a config."""
        def q(v, unit):
            return format_si(v, unit, digits=4)

        summary = f'white_psd = "{self.white_psd:.4g} A^2/Hz"'
        if self.flicker_corner is not None:
            summary += f', flicker_corner = "{q(self.flicker_corner, "Hz")}"'
        noise = ['kind = "measured"',
                 "# ngspice's .noise spectrum as it is (Hz, A^2/Hz): the node follows it within",
                 f"# {self.spectrum_deviation():.2%} over its band (noise.SpectrumNoise); the two-"
                 "parameter",
                 f"# summary S_w (1 + f_c/f) would be: {summary}",
                 "spectrum_f = [" + ", ".join(f"{x:.6g}" for x in self.f) + "]",
                 "spectrum_psd = [" + ", ".join(f"{x:.6g}" for x in self.psd) + "]"]
        nl = "\n"
        return f"""# circuit-sim characterize {self.cell} --subckt {self.subckt}: T = {self.temperature:.5g} K, \
supply {q(self.supply_voltage, 'V')}, common mode {q(self.common_mode, 'V')}{', corner ' + self.corner if self.corner else ''}
# tanh fit error {self.fit_error:.2%} of I_max; input offset {q(self.input_offset, 'V')}; output current at dv = 0: {q(self.offset_current, 'A')}
# add [model] and [input] sections to make a config
[circuit]
transconductance = "{q(self.transconductance, 'S')}"  # dI_out / d(v_inp - v_inn) at the operating point
output_conductance = "{q(self.output_conductance, 'S')}"
capacitance = "{q(self.capacitance, 'F')}"  # the cell's own capacitance at out
supply_current = "{q(self.supply_current, 'A')}"
supply_voltage = "{q(self.supply_voltage, 'V')}"
temperature = "{self.temperature:.5g} K"
volts_per_unit = "{q(volts_per_unit, 'V')}"  # chosen (--volts-per-unit), not measured

[transconductor]
saturation_current = "{q(self.saturation_current, 'A')}"  # I_max
linear_range = "{q(self.linear_range, 'V')}"  # V_L in I = I_max tanh((dv - V_os) / V_L)
input_offset = "{q(self.input_offset, 'V')}"  # V_os, the fit's dv_0{self._bandwidth_line()}

[[noise]]
{nl.join(noise)}

[run]
duration = "{q(duration, 's')}"
"""

    def _bandwidth_line(self) -> str:
        if self.bandwidth is None:
            return ""
        return (f'\nbandwidth = "{format_si(self.bandwidth, "Hz", digits=4)}"  # |G_m(f)| down 3 dB:'
                " the model has no internal poles; keep the node's rates below this")

    def spectrum(self, capacitance: float | None = None):
        """The output noise as :class:`noise.SpectrumNoise` on the band of a node of
        ``capacitance`` (default the cell's own) driven by this cell (see
        :data:`circuit_sim.design.noise.SPECTRUM_BAND`)."""
        from noise import SpectrumNoise

        from .design.noise import SPECTRUM_BAND

        f_node = self.transconductance / (4.0 * (capacitance or self.capacitance))
        lo = max(SPECTRUM_BAND[0] * f_node, float(self.f[0]))
        hi = min(SPECTRUM_BAND[1] * f_node, float(self.f[-1]))
        return SpectrumNoise(self.f, self.psd, lo, hi, poles_per_decade=3.0, name="measured")

    def spectrum_deviation(self, capacitance: float | None = None) -> float:
        """The realised spectrum's largest relative error against ngspice's over the node's
        band, ``G_m / (4 C)`` down to 1e-4 of it."""
        f_node = self.transconductance / (4.0 * (capacitance or self.capacitance))
        return self.spectrum(capacitance).max_deviation(1e-4 * f_node, f_node)

    def summary_deviation(self, capacitance: float | None = None) -> float:
        """The same for the two-parameter summary ``S_w (1 + f_c / f)``."""
        f_node = self.transconductance / (4.0 * (capacitance or self.capacitance))
        sp = self.spectrum(capacitance)
        f = np.logspace(math.log10(1e-4 * f_node), math.log10(min(f_node, self.f[-1])), 161)
        model = self.white_psd * (1.0 + (self.flicker_corner or 0.0) / f)
        return float(np.max(np.abs(model / sp.data(f) - 1.0)))

    def report(self, volts_per_unit: float) -> str:
        """The cell in the terms circuit engineers use."""
        gm, c, sw = self.transconductance, self.capacitance, self.white_psd
        kt = constants.k * self.temperature
        vn = math.sqrt(sw) / gm                          # input-referred, V/sqrt(Hz)
        enbw = gm / (4 * c)                              # noise bandwidth of the node (Hz)
        t_eff = sw / (4 * gm * c * volts_per_unit ** 2)
        fc = ("below the analysed band (white down to 1 Hz)" if self.flicker_corner is None
              else format_si(self.flicker_corner, "Hz"))
        lines = [
            f"cell {self.subckt} ({self.cell}) at T = {self.temperature:.5g} K, supply "
            f"{format_si(self.supply_voltage, 'V')}, common mode {format_si(self.common_mode, 'V')}"
            + (f", corner {self.corner}" if self.corner else ""),
            f"  G_m = {format_si(gm, 'S')}, g_m/I_D = {gm / self.supply_current:.3g} /V "
            f"(I_D = supply current {format_si(self.supply_current, 'A')}); "
            f"power {format_si(self.supply_current * self.supply_voltage, 'W')}",
            f"  G_m bandwidth (|G_m(f)| down 3 dB) "
            f"{format_si(self.bandwidth, 'Hz') if self.bandwidth else 'beyond the .ac band'}: "
            "above it the cell is not the one-pole node the Brian2 model is",
            f"  output conductance {format_si(self.output_conductance, 'S')} "
            f"(G_o/G_m = {self.output_conductance / gm:.3g}); capacitance at out "
            f"{format_si(c, 'F')}; tau_u = C/G_m = {format_si(c / gm, 's')}",
            f"  large signal: I_max = {format_si(self.saturation_current, 'A')}, V_L = "
            f"{format_si(self.linear_range, 'V')} (tanh fit error {self.fit_error:.2%} of "
            f"I_max; I_max/V_L = {format_si(self.saturation_current / self.linear_range, 'S')})",
            f"  output noise {sw:.4g} A^2/Hz white, 1/f corner {fc}; over the node's band "
            f"({format_si(1e-4 * enbw, 'Hz')} to {format_si(enbw, 'Hz')}) that summary is off "
            f"ngspice's spectrum by up to {self.summary_deviation():.1%}, the tabulated spectrum "
            f"the fragment carries by {self.spectrum_deviation():.2%}",
            f"  input-referred {vn * 1e9:.4g} nV/sqrt(Hz); over the node's noise bandwidth "
            f"G_m/(4C) = {format_si(enbw, 'Hz')}: {format_si(vn * math.sqrt(enbw), 'V')} rms "
            f"(kT/C: {format_si(math.sqrt(kt / c), 'V')} rms)",
            f"  at V_u = {format_si(volts_per_unit, 'V')}: T_eff = S_w / (4 G_m C V_u^2) = "
            f"{t_eff:.4g} from this cell's noise alone",
        ]
        return "\n".join(lines)


    def plot(self, path) -> Path:
        """Figure: the DC transfer with its tanh fit, and the output noise PSD with its fit."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
        a.plot(self.dv * 1e3, self.i_out * 1e9, "k.", ms=3, label="ngspice .dc")
        a.plot(self.dv * 1e3, self.saturation_current * 1e9
               * np.tanh((self.dv - self.input_offset) / self.linear_range), "r-", lw=1,
               label=f"I_max tanh(dv / V_L): {format_si(self.saturation_current, 'A')}, "
                     f"{format_si(self.linear_range, 'V')} (error {self.fit_error:.2%})")
        a.plot(self.dv * 1e3, self.transconductance * self.dv * 1e9, "b--", lw=0.8,
               label=f"linear G_m dv, G_m = {format_si(self.transconductance, 'S')}")
        a.set_ylim(-1.5 * self.saturation_current * 1e9, 1.5 * self.saturation_current * 1e9)
        a.set_xlabel("dv = v(inp) - v(inn) [mV]")
        a.set_ylabel("output current into out [nA]")
        a.legend(fontsize=7)
        b.loglog(self.f, self.psd, "k-", lw=1, label="ngspice .noise (output current)")
        fit = self.white_psd * (1 + (self.flicker_corner or 0.0) / self.f)
        b.loglog(self.f, fit, "r--", lw=1, label=f"S_w (1 + f_c/f): {self.white_psd:.3g} A^2/Hz, "
                 f"f_c {format_si(self.flicker_corner, 'Hz') if self.flicker_corner else 'none'}")
        sp = self.spectrum()
        f_node = self.transconductance / (4.0 * self.capacitance)
        band = (self.f >= sp.f_lo) & (self.f <= sp.f_hi)
        b.loglog(self.f[band], sp.psd(self.f[band]), "c-", lw=2, alpha=0.6,
                 label=f"realised spectrum (white + Lorentzians), within "
                       f"{self.spectrum_deviation():.2%} over {format_si(1e-4 * f_node, 'Hz')} - "
                       f"{format_si(f_node, 'Hz')}")
        b.axvspan(1e-4 * f_node, f_node, color="0.93", zorder=0,
                  label="the node's band (to G_m / (4 C), this cell's own C)")
        b.set_ylim(np.min(self.psd) / 3, np.max(self.psd) * 3)
        b.set_xlabel("frequency [Hz]")
        b.set_ylabel("current noise PSD, one-sided [A^2/Hz]")
        b.legend(fontsize=7)
        fig.suptitle(f"{self.subckt} ({Path(self.cell).name}): T = {self.temperature:.5g} K, "
                     f"supply {format_si(self.supply_voltage, 'V')}, C at out "
                     f"{format_si(self.capacitance, 'F')}, G_o {format_si(self.output_conductance, 'S')}",
                     fontsize=9)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def _read(path: Path, cols: int) -> np.ndarray:
    if not path.is_file():
        raise ConfigError("ngspice", f"an analysis that writes {path.name}", "none written")
    data = np.loadtxt(path, ndmin=2)
    return data[:, :cols]


def _fit_tanh(dv: np.ndarray, i: np.ndarray) -> tuple[float, float, float, float]:
    """``I_max, V_L, dv_0`` of ``I_max tanh((dv - dv_0) / V_L)`` and the rms error / I_max."""
    slope = np.gradient(i, dv)
    i_max0 = max(np.max(np.abs(i)), 1e-30)
    v_l0 = i_max0 / max(np.max(np.abs(slope)), 1e-30)

    def model(x, a, b, c):
        return a * np.tanh((x - c) / b)

    try:
        (a, b, c), _ = optimize.curve_fit(model, dv, i, p0=(i_max0, v_l0, 0.0), maxfev=20000)
    except RuntimeError as exc:
        raise ConfigError("dc sweep", "a transfer I_max tanh(dv / V_L) can fit", str(exc)) from None
    a, b = abs(a), abs(b)
    err = float(np.sqrt(np.mean((model(dv, a, b, c) - i) ** 2)) / a)
    return float(a), float(b), float(c), err


def _bandwidth(gm_ac: np.ndarray) -> float | None:
    """The first frequency where ``|G_m(f)|`` (``.ac`` of the output current per volt of
    input) is below ``1/sqrt(2)`` of its lowest-frequency value, log-interpolated (Hz)."""
    f, g = gm_ac[:, 0], np.hypot(gm_ac[:, 1], gm_ac[:, 2])
    below = np.nonzero(g < g[0] / math.sqrt(2))[0]
    if len(below) == 0 or below[0] == 0:
        return None
    k = below[0]
    x = (math.log(g[k - 1]) - math.log(g[0] / math.sqrt(2))) / (math.log(g[k - 1]) - math.log(g[k]))
    return float(math.exp(math.log(f[k - 1]) + x * (math.log(f[k]) - math.log(f[k - 1]))))


def _fit_admittance(f: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``G_o`` and ``C`` of ``Y = G_o + j 2 pi f C`` (least squares up to F_STOP / 10)."""
    sel = f <= F_STOP / 10
    w = 2 * np.pi * f[sel]
    return float(np.mean(y.real[sel])), float(np.sum(w * y.imag[sel]) / np.sum(w * w))


def _fit_noise(f: np.ndarray, psd: np.ndarray) -> tuple[float, float | None]:
    """``S_w`` and ``f_c`` of ``S_w (1 + f_c / f)`` (least squares in log PSD); ``f_c`` None
    when it is below a tenth of the lowest frequency analysed."""
    lp = np.log(psd)

    def resid(p):
        return np.log(np.exp(p[0]) * (1 + np.exp(p[1]) / f)) - lp

    s0 = float(np.median(psd[f > np.sqrt(f[0] * f[-1])]))
    sol = optimize.least_squares(resid, x0=[math.log(s0), math.log(f[0])])
    sw, fc = math.exp(sol.x[0]), math.exp(sol.x[1])
    return sw, (fc if fc > f[0] / 10 else None)


def _cache_dir() -> Path:
    from .cache import cache_root

    return cache_root() / "characterize"


def _cache_key(netlist: str, cell_text: str, lib: Path | None) -> str:
    import hashlib

    h = hashlib.sha1(netlist.encode())
    h.update(cell_text.encode())
    if lib is not None:
        st = lib.stat()
        h.update(f"{lib}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _load_cached(path: Path) -> Characterization | None:
    import dataclasses

    try:
        with np.load(path, allow_pickle=False) as z:
            kw = {f.name: (z[f.name] if z[f.name].ndim else z[f.name].item())
                  for f in dataclasses.fields(Characterization) if f.name in z.files}
    except (OSError, ValueError, KeyError):
        return None
    kw["corner"] = kw.get("corner") or None
    kw["flicker_corner"] = None if kw.get("flicker_corner", -1.0) < 0 else kw["flicker_corner"]
    kw["from_cache"] = True
    return Characterization(**kw)


def _store(path: Path, ch: Characterization) -> None:
    import dataclasses

    path.parent.mkdir(parents=True, exist_ok=True)
    values = {f.name: getattr(ch, f.name) for f in dataclasses.fields(ch) if f.name != "from_cache"}
    values["corner"] = values["corner"] or ""
    values["flicker_corner"] = -1.0 if values["flicker_corner"] is None else values["flicker_corner"]
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **values)
    tmp.replace(path)


def characterize(cell, subckt: str, *, temperature: float = 300.0, supply: float = 1.8,
                 common_mode: float = 0.9, dv_max: float = 0.3, lib=None,
                 corner: str | None = None, ngspice: str = "ngspice",
                 timeout: float = 600.0, cache: bool = True) -> Characterization:
    """Run the testbench on ``cell`` (a SPICE file defining ``.subckt subckt out inp inn vdd
    vss``) and fit it. Temperatures in K, voltages in V. ``lib``: a model library to load
    first, or ``"sky130"`` (:mod:`circuit_sim.pdk`). With ``cache``, an identical earlier
    run (same netlist, cell file and library) is read back instead of run again (the sky130
    library alone takes ~30 s to load): ``$CIRCUIT_SIM_CACHE/characterize``.

    Raises
    ------
    ConfigError
        A missing file or subcircuit, no ngspice, an ngspice error (its message), or a transfer
        no tanh fits.
    """
    cell = Path(cell)
    if not cell.is_file():
        raise ConfigError("CELL", "an existing SPICE file with the cell's .subckt", str(cell))
    text = cell.read_text(errors="replace")
    if not re.search(rf"^\s*\.subckt\s+{re.escape(subckt)}\s", text, flags=re.I | re.M):
        found = re.findall(r"^\s*\.subckt\s+(\S+)", text, flags=re.I | re.M)
        raise ConfigError("--subckt", f"a subcircuit defined in {cell.name} "
                          f"({', '.join(found) or 'none found'})", subckt)
    if shutil.which(ngspice) is None:
        raise ConfigError("ngspice", "ngspice on the PATH (e.g. apt-get install ngspice)", ngspice)
    for name, v in (("--temperature", temperature), ("--supply", supply)):
        if not v > 0:
            raise ConfigError(name, "a value > 0", v)
    from .pdk import cell_devices, reduced_library, resolve_lib

    lib_path = resolve_lib(lib)
    if lib == "sky130":  # only the devices the cell uses: 0.2 s to load instead of 30 s
        lib_path = reduced_library(cell_devices(text), corner or "tt") or lib_path
    netlist = testbench(cell.resolve(), subckt, temperature=temperature, supply=supply,
                        common_mode=common_mode, dv_max=dv_max,
                        lib=lib_path.resolve() if lib_path else None, corner=corner)
    cached = _cache_dir() / f"{_cache_key(netlist, text, lib_path)}.npz"
    if cache and cached.is_file():
        hit = _load_cached(cached)
        if hit is not None:
            return hit
    with tempfile.TemporaryDirectory(prefix="circuit-sim-char-") as tmp:
        work = Path(tmp)
        (work / "tb.cir").write_text(netlist)
        r = subprocess.run([ngspice, "-b", "tb.cir"], cwd=work, capture_output=True, text=True,
                           timeout=timeout)
        # (batch ngspice exits 1 when the netlist has no .print line: the files decide)
        errors = [ln for ln in (r.stdout + r.stderr).splitlines() if "rror" in ln]
        if errors:
            raise ConfigError("ngspice", "a testbench run without errors", "; ".join(errors[:3]))
        op = _read(work / "op.txt", 3)[0]
        dc = _read(work / "dc.txt", 2)
        gm_ac = _read(work / "ac_gm.txt", 3)
        y_ac = _read(work / "ac_y.txt", 3)
        nz = _read(work / "noise.txt", 2)
    i_max, v_l, dv0, err = _fit_tanh(dc[:, 0], dc[:, 1])
    # i(Vo) is the current out of the cell into Vo: +G_m dv; driving out by 1 V, -Y
    g_o, cap = _fit_admittance(y_ac[:, 0], -(y_ac[:, 1] + 1j * y_ac[:, 2]))
    sw, fc = _fit_noise(nz[:, 0], nz[:, 1] ** 2)
    ch = Characterization(str(cell), subckt, temperature, supply, common_mode, corner,
                          float(gm_ac[0, 1]), g_o, cap, float(-op[1]), float(op[2]), i_max,
                          v_l, dv0, err, sw, fc, dc[:, 0], dc[:, 1], nz[:, 0], nz[:, 1] ** 2,
                          bandwidth=_bandwidth(gm_ac))
    if cache:
        _store(cached, ch)
    return ch
