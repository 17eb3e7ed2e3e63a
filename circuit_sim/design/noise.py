"""The noise of a design: the ``[[noise]]`` entries as ``noise`` source objects with the
circuit's defaults filled in, the budget, and the amplitudes the circuit is driven with.

Defaults a hardware researcher expects: a thermal source without ``conductance`` is the
transconductor's own (``G_n = G_m``) at the circuit temperature; a shot source without
``current`` uses ``circuit.bias_current``; a flicker source without ``white_psd`` has its
corner where it meets the sum of the white thermal and shot floors; its band defaults to
``[1e-3, 1e3] / (2 pi tau_u)``; an injected ``fill_to`` source is resolved to the PSD that
brings the total to its target (:func:`noise.fill_psd`). Each source is constructed once.

Amplitudes: a white source of one-sided PSD ``S`` enters the node equation as
``sqrt(S / 2) xi(t)``; independent white currents into one node add to one white current
with the summed PSD, so the circuit draws one normal number per unit and step (the budget
still lists every source). With mismatch a thermal source at the transconductor's own
conductance scales with each unit's ``G_m,j``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

import noise
from models.constraints import ParameterError

from ..errors import ConfigError


@dataclass(frozen=True, eq=False)
class NoiseDesign:
    """What the circuit's noise is, resolved.

    Attributes
    ----------
    sources : tuple
        ``noise`` source objects, one per ``[[noise]]`` entry, in file order (injected
        ``fill_to`` sources resolved to their PSD).
    budget : noise.NoiseBudget
        Each source's PSD, ``T_eff`` and share; the total.
    white : tuple of (name, kind, psd)
        The white sources with a positive PSD (A^2/Hz, one-sided).
    white_amplitude : ndarray (M,) or None
        ``sqrt(sum_k S_k,j / 2)`` per unit in A s^0.5 (None: no white noise reaches the
        nodes).
    flicker : tuple of (taus (P,) in s, sds (P,) in A)
        One Ornstein-Uhlenbeck bank per flicker source.
    common_amplitude : float or None
        ``sqrt(sum_k S_k / 2)`` in A s^0.5 of the common-mode sources: one waveform that
        every node receives (None: none).
    telegraph : tuple of (half step in A, rate in Hz)
        One two-state process per unit for each random telegraph source.
    spectrum : tuple of (lp_taus (P,) s, lp_sds (P,) A, hp_taus (Q,) s, hp_amps (Q,) A s^0.5)
        The colored components of each tabulated spectrum (:class:`noise.SpectrumNoise`;
        its white part is in ``white_amplitude``), per unit independent.
    active : bool
        False for the deterministic dynamics (MAP descent, LCA): the circuit then runs
        without noise while the budget still describes the configured sources.
    """

    sources: tuple
    budget: noise.NoiseBudget
    white: tuple
    white_amplitude: np.ndarray | None
    flicker: tuple = field(default=())
    active: bool = True
    common_amplitude: float | None = None
    telegraph: tuple = field(default=())
    spectrum: tuple = field(default=())

    @property
    def T_eff(self) -> float:
        return self.budget.T_eff


def _natural_white(n, c) -> object | None:
    """The thermal or shot source of one entry (None for other kinds)."""
    if n.kind == "thermal":
        return noise.ThermalNoise(conductance=n.get("conductance") or c.transconductance,
                                  temperature=n.get("temperature") or c.temperature,
                                  gamma=n.get("gamma"), name=n.name)
    if n.kind == "shot":
        cur = n.get("current")
        cur = c.bias_current if cur is None else cur
        if cur is None:
            raise ConfigError(f"{n.where}.current", "a current (e.g. \"1 nA\"), or "
                              "circuit.bias_current as its default", None)
        return noise.ShotNoise(current=cur, branches=n.get("branches"), name=n.name)
    return None


def _one_over_f(n, white: float, corner: float, f_min: float, f_max: float, name: str):
    """The OU-bank 1/f source of entry ``n`` on ``[f_min, f_max]`` (a band that is empty is
    the entry's error)."""
    if f_min >= f_max:
        raise ConfigError(f"{n.where}.f_min", f"a frequency below f_max = "
                          f"{noise.format_si(f_max, 'Hz')}", noise.format_si(f_min, "Hz"))
    return noise.FlickerNoise(white_psd=white, corner_frequency=corner, f_min=f_min,
                              f_max=f_max, poles_per_decade=n.get("poles_per_decade") or 2.0,
                              name=name)


def _flicker(n, white_natural: float, tau_u: float):
    white = n.get("white_psd")
    if white is None:
        if white_natural <= 0:
            raise ConfigError(f"{n.where}.white_psd", "a PSD in A^2/Hz, or a thermal/shot "
                              "source whose white floor sets it", None)
        white = white_natural
    fc = 1.0 / (2 * math.pi * tau_u)
    return _one_over_f(n, white, n.get("corner_frequency"), n.get("f_min") or 1e-3 * fc,
                       n.get("f_max") or 1e3 * fc, n.name)


#: A tabulated spectrum is followed from ``SPECTRUM_BAND[0]`` to ``SPECTRUM_BAND[1]`` times the
#: node's noise bandwidth ``G_m / (4 C)`` (clipped to the table): five decades below it, where
#: the slowest poles are already static over a run, to twice it, above which the node filters
#: the noise away (its response has fallen to a fifth).
SPECTRUM_BAND = (1e-5, 2.0)


def _spectrum(n, circuit):
    """A ``measured`` entry with a tabulated spectrum: :class:`noise.SpectrumNoise` on the
    node's band (:data:`SPECTRUM_BAND`, or ``f_min`` / ``f_max``)."""
    f = np.asarray(n.get("spectrum_f"))
    f_node = circuit.transconductance / (4.0 * circuit.capacitance)
    lo = n.get("f_min") or max(SPECTRUM_BAND[0] * f_node, f[0])
    hi = n.get("f_max") or min(SPECTRUM_BAND[1] * f_node, f[-1])
    try:
        return noise.SpectrumNoise(f, n.get("spectrum_psd"), lo, hi,
                                   poles_per_decade=n.get("poles_per_decade") or 3.0,
                                   name=n.name)
    except ParameterError as exc:
        raise ConfigError(n.where, "a spectrum this node can realise", str(exc)) from None


def _measured(n, circuit) -> list:
    """A ``measured`` entry: its white floor, and its 1/f part (when it has a corner) as a
    flicker source referred to the same floor, named ``<name> 1/f``; or a tabulated
    spectrum (:func:`_spectrum`)."""
    if n.get("spectrum_f") is not None:
        return [_spectrum(n, circuit)]
    tau_u = circuit.capacitance / circuit.transconductance
    white = n.get("white_psd")
    out = [noise.MeasuredNoise(white_psd=white, name=n.name)]
    corner = n.get("flicker_corner")
    if corner is not None:
        if white <= 0:
            raise ConfigError(f"{n.where}.white_psd", "a PSD > 0 when flicker_corner is given "
                              "(the 1/f part is referred to it)", white)
        # above 10x the corner the 1/f part is a tenth of the floor: the band ends there
        f_max = n.get("f_max") or 10.0 * corner
        f_min = n.get("f_min") or min(1e-3 / (2 * math.pi * tau_u), 1e-3 * f_max)
        out.append(_one_over_f(n, white, corner, f_min, f_max, f"{n.name} 1/f"))
    return out


def build_sources(entries, circuit) -> tuple:
    """The source objects of the ``[[noise]]`` entries (each constructed once; a
    ``measured`` entry with a corner gives two, its white floor and its 1/f part)."""
    tau_u = circuit.capacitance / circuit.transconductance
    out = [_natural_white(n, circuit) for n in entries]
    extra = []
    for i, n in enumerate(entries):
        if n.kind == "common":
            out[i] = noise.CommonModeNoise(psd=n.get("psd"), name=n.name)
        if n.kind == "rtn":
            out[i] = noise.TelegraphNoise(amplitude=n.get("amplitude"), rate=n.get("rate"),
                                          name=n.name)
        if n.kind == "measured":
            out[i], *more = _measured(n, circuit)
            extra.extend(more)
    white_natural = math.fsum(s.white_psd for s in out
                              if s is not None and s.kind in ("thermal", "shot"))
    for i, n in enumerate(entries):
        if n.kind == "flicker":
            out[i] = _flicker(n, white_natural, tau_u)
    for i, n in enumerate(entries):
        if n.kind == "injected":
            psd = n.get("psd")
            if psd is None:  # fill to the target from everything else
                others = [s for s in out if s is not None] + extra
                try:
                    psd = noise.fill_psd(others, n.get("fill_to"),
                                         transconductance=circuit.transconductance,
                                         capacitance=circuit.capacitance,
                                         volts_per_unit=circuit.volts_per_unit, name=n.name)
                except ParameterError as exc:
                    raise ConfigError(n.where, "a noise section this circuit can realise",
                                      str(exc)) from None
            out[i] = noise.InjectedNoise(psd=psd, name=n.name)
    return tuple(out) + tuple(extra)


def resolve_noise(entries, circuit, devices, active: bool) -> NoiseDesign:
    """Sources, budget and per-unit amplitudes (``devices``: the chip's draw)."""
    sources = build_sources(entries, circuit)
    budget = noise.noise_budget(sources, transconductance=circuit.transconductance,
                                capacitance=circuit.capacitance,
                                volts_per_unit=circuit.volts_per_unit)
    fill = [n.get("fill_to") for n in entries if n.get("fill_to") is not None]
    if fill:  # the target exactly (the budget of resolved sources sums with round-off)
        budget = _with_total(budget, fill[0])
    white, amp2 = [], np.zeros(len(devices.gm_rel))
    own = {n.name for n in entries if n.kind == "thermal" and n.get("conductance") is None}
    flicker, common, telegraph, spectrum = [], 0.0, [], []
    for src in sources:
        if src.kind == "rtn":
            telegraph.append((src.amplitude / 2, src.rate))
            continue
        if src.kind == "flicker":
            flicker.append(tuple(np.asarray(a) for a in src.ou_bank()))
            continue
        if src.kind == "common":
            common += float(src.white_psd) / 2.0
            continue
        if isinstance(src, noise.SpectrumNoise):
            spectrum.append((*src.ou_bank(), *src.highpass()))
        psd = float(src.white_psd)
        if psd <= 0:
            continue
        white.append((src.name, src.kind, psd))
        scale = devices.gm_rel if src.name in own else 1.0
        amp2 += psd / 2.0 * scale
    amplitude = np.sqrt(amp2) if white and active else None
    return NoiseDesign(sources, budget, tuple(white), amplitude,
                       tuple(flicker) if active else (), active,
                       math.sqrt(common) if common > 0 and active else None,
                       tuple(telegraph) if active else (), tuple(spectrum) if active else ())


def _with_total(budget, target: float):
    """The budget with its total set to the fill target (shares recomputed)."""
    from dataclasses import replace

    entries = tuple(replace(e, share=e.T_eff / target if target > 0 else 0.0)
                    for e in budget.entries)
    return replace(budget, entries=entries, T_eff=float(target))
