"""Circuit non-idealities: device mismatch and the weights' resolution, retention and drift.

Two config sections, each optional (absent = ideal):

``[mismatch]`` -- fixed random variation of every device, drawn once from ``run.seed`` (a
stream of its own, independent of the noise) and recorded in the output:

* per latent unit ``j``: ``G_m,j = G_m (1 + gm_sigma z)``, ``C_j = C (1 + c_sigma z)``, an input
  offset of its transconductor ``V_os,j ~ N(0, transconductor_offset_sigma)`` (V, added to
  ``transconductor.input_offset``: the force current is ``G_m,j (V_u F - V_os,j)``) and a
  threshold (comparator) offset ``delta_j ~ N(0, threshold_offset_sigma)`` in V, which moves
  the soft threshold to ``u0_j = max(u0 + delta_j / V_u, 0)``;
* per synapse ``(i, j)``: a gain ``1 + weight_gain_sigma z`` and an offset
  ``weight_offset_sigma z`` (in units of ``Phi``, i.e. of the unit conductance ``G_w``) on
  the programmed conductance, ``g_ij = G_w (Phi_ij gain_ij + offset_ij)``; with plasticity
  the same gain scales the synapse's update (its learning circuit is the same device).

The sigmas are given directly (relative, V, dimensionless) or Pelgrom-style from the
transistor area: ``A_VT`` (e.g. ``"3.5 mV um"``), ``A_beta`` (e.g. ``"1 % um"``), ``width``
and ``length`` (lengths) give ``sigma_VT = A_VT / sqrt(W L)`` (the threshold offset) and
``sigma_beta / beta = A_beta / sqrt(W L)`` (the synapse gain; ``G_m`` in strong inversion,
``G_m = sqrt(2 beta I)``, gets half of it). A value given directly wins over the Pelgrom one.
A thermal noise source whose conductance is the transconductor's own (the default) scales
with each unit's ``G_m``.

``[weights]`` -- the synaptic memory:

* ``bits`` and ``range``: conductances are stored on ``2^bits - 1`` levels spanning
  ``[-range, +range]`` (in units of ``Phi``; LSB ``2 range / (2^bits - 2)``, zero is a level).
  Programming rounds to the nearest level. With plasticity the weight is re-quantised after
  each plasticity step: ``rounding = "nearest"`` returns any update smaller than half an LSB
  to where it was (learning stalls once ``|dPhi| < LSB / 2`` per step), ``"stochastic"``
  rounds up with the probability of the fractional part, so the expected weight follows the
  continuous rule;
* ``retention_time``: stored weights leak to zero, ``dg/dt = -g / tau_ret``;
* ``drift_sigma`` (a rate, e.g. ``"100 Hz"``): each synapse drifts at a fixed random rate
  ``dPhi/dt = d_ij ~ N(0, drift_sigma)`` (in units of ``Phi`` per second).

``[transconductor]`` -- the transconductor's large-signal transfer: the force current
saturates, ``I = I_max tanh(G_m V_u F / I_max)`` (``F = -dE/du``) instead of ``G_m V_u F``;
``saturation_current`` is ``I_max``, and ``linear_range`` ``V_L`` (from a fit of
``I_max tanh(dv / V_L)``, as ``circuit-sim characterize`` writes it) must agree with
``G_m = I_max / V_L`` to 10%. ``input_offset`` ``V_os`` (the fit's ``dv_0``, either sign)
is subtracted from the input: ``I = I_max tanh(G_m (V_u F - V_os) / I_max)``. ``bandwidth``
(where the cell's ``|G_m(f)|`` is down 3 dB) is not simulated: the design warns when the
node's fastest rate ``lambda_max / (2 pi tau_u)`` comes within a factor 3 of it.

``[comparator]`` -- the soft threshold's two comparators (``u > u0`` and ``u < -u0``) have a
finite gain ``A`` and an offset: each output is a sigmoid of width ``V_w = swing / (4 A)``
(the slope of a sigmoid of width ``V_w`` at its midpoint is ``1 / (4 V_w)`` of its swing, the
comparator's ``A``), or ``width`` given directly; the rectifier passes the integral of its
gate, so ``s = h_w(u)`` with ``w = V_w / V_u`` (:func:`models.smooth_soft_threshold`): a
smooth threshold whose derivative is the comparators' output, and the circuit samples
``exp(-E_w)``. ``offset`` (V, either sign, the same for every unit; per-unit random offsets
are ``mismatch.threshold_offset_sigma``) moves the threshold to ``u0 + offset / V_u``.

``[crossbar]`` -- wire resistance per cell pitch (``wire_resistance`` for both, or
``row_resistance`` and ``column_resistance``): IR drop, solved exactly for the static weights
(:mod:`circuit_sim.design.ir_drop`); the chip computes with ``Phi_eff = G_eff / G_w``.

This module parses the five sections; the draws are :mod:`circuit_sim.design.devices` and the
circuit wires them in (:mod:`circuit_sim.circuit.network`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from noise import parse_quantity

from ..errors import ConfigError
from .fields import _note, check_keys, number, quantity, table

_MISMATCH_KEYS = ("gm_sigma", "c_sigma", "threshold_offset_sigma", "transconductor_offset_sigma",
                  "weight_gain_sigma",
                  "weight_offset_sigma", "A_VT", "A_beta", "width", "length", "chips",
                  "first_chip")
_WEIGHT_KEYS = ("bits", "range", "rounding", "retention_time", "drift_sigma")
_TRANSCONDUCTOR_KEYS = ("saturation_current", "linear_range", "input_offset", "bandwidth")
_COMPARATOR_KEYS = ("gain", "swing", "width", "offset")
_CROSSBAR_KEYS = ("wire_resistance", "row_resistance", "column_resistance")


def _table(d, section: str, keys: tuple) -> str:
    """Check that ``[section]`` is a table of known keys; return the section's name."""
    check_keys(table(d, section), keys, section)
    return section


def _sigma(d: dict, key: str, where: str) -> float | None:
    _note(where, key, kind="number", default=None, low=0, high=None, low_open=False)
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ConfigError(f"{where}.{key}", "a number >= 0 (a relative standard deviation)", v)
    return float(v)


def _product(value, dims: tuple[str, str], field: str, example: str) -> float:
    """Parse ``"<number> <unit1> <unit2>"`` (e.g. ``"3.5 mV um"``, ``"1 % um"``) to SI."""
    expected = f"a value in {dims[0]} x length, e.g. \"{example}\""
    if not isinstance(value, str):
        raise ConfigError(field, expected, value)
    m = re.fullmatch(r"\s*(\S+)\s*(\S+)\s+(\S+)\s*", value)
    if m is None:
        raise ConfigError(field, expected, value)
    number, unit1, unit2 = m.groups()
    try:
        if dims[0] == "percent":
            if unit1 != "%":
                raise ConfigError(field, expected, value)
            first = float(number) / 100.0
        else:
            first = parse_quantity(f"{number} {unit1}", dims[0], field)
        second = parse_quantity(f"1 {unit2}", "length", field)
    except (ConfigError, ValueError):
        raise ConfigError(field, expected, value) from None
    if first < 0:
        raise ConfigError(field, expected + " (>= 0)", value)
    return first * second


@dataclass(frozen=True)
class MismatchConfig:
    """Standard deviations of the fixed device variations (see the module docstring).

    Attributes
    ----------
    gm_sigma, c_sigma : float
        Relative sigma of ``G_m`` and ``C`` per unit.
    threshold_offset_sigma : float
        Sigma of the threshold offset in V.
    weight_gain_sigma : float
        Relative sigma of each synapse's gain.
    weight_offset_sigma : float
        Sigma of each synapse's offset, in units of ``Phi``.
    pelgrom : dict or None
        The Pelgrom inputs (SI), when the sigmas were derived from them.
    """

    gm_sigma: float = 0.0
    c_sigma: float = 0.0
    threshold_offset_sigma: float = 0.0
    weight_gain_sigma: float = 0.0
    transconductor_offset_sigma: float = 0.0
    weight_offset_sigma: float = 0.0
    pelgrom: dict | None = None
    chips: int = 1
    first_chip: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "MismatchConfig":
        w = _table(d, "mismatch", _MISMATCH_KEYS)
        direct = {k: _sigma(d, k, w) for k in ("gm_sigma", "c_sigma", "weight_gain_sigma",
                                               "weight_offset_sigma")}
        for key, dim in (("threshold_offset_sigma", "voltage"), ("A_VT", "voltage x length"),
                         ("A_beta", "fraction x length"), ("width", "length"), ("length", "length")):
            _note(w, key, kind="quantity", dimension=dim, default=None, low=0.0, low_open=False)
        for key in ("threshold_offset_sigma", "transconductor_offset_sigma"):
            off = d.get(key)
            direct[key] = None if off is None else parse_quantity(off, "voltage", f"{w}.{key}")
            if direct[key] is not None and direct[key] < 0:
                raise ConfigError(f"{w}.{key}", "a voltage >= 0", off)
        _note(w, "transconductor_offset_sigma", kind="quantity", dimension="voltage",
              default=None, low=0.0, low_open=False)
        pel = None
        pel_keys = [k for k in ("A_VT", "A_beta", "width", "length") if k in d]
        if pel_keys:
            for k in ("width", "length"):
                if k not in d:
                    raise ConfigError(f"{w}.{k}", "a length (required with A_VT / A_beta), "
                                      "e.g. \"1 um\"", None)
            width = parse_quantity(d["width"], "length", f"{w}.width")
            length = parse_quantity(d["length"], "length", f"{w}.length")
            for k, v in (("width", width), ("length", length)):
                if v <= 0:
                    raise ConfigError(f"{w}.{k}", "a length > 0", d[k])
            area = math.sqrt(width * length)
            a_vt = _product(d["A_VT"], ("voltage", "length"), f"{w}.A_VT", "3.5 mV um") \
                if "A_VT" in d else 0.0
            a_beta = _product(d["A_beta"], ("percent", "length"), f"{w}.A_beta", "1 % um") \
                if "A_beta" in d else 0.0
            pel = {"A_VT": a_vt, "A_beta": a_beta, "width": width, "length": length,
                   "sigma_VT": a_vt / area, "sigma_beta": a_beta / area}
            derived = {"threshold_offset_sigma": a_vt / area, "weight_gain_sigma": a_beta / area,
                       "gm_sigma": 0.5 * a_beta / area}
            for k, v in derived.items():
                if direct[k] is None:
                    direct[k] = v
        chips = number(d, "chips", w, 1, low=1, integer=True)
        first = number(d, "first_chip", w, 0, low=0, integer=True)
        return cls(**{k: (0.0 if v is None else v) for k, v in direct.items()}, pelgrom=pel,
                   chips=chips, first_chip=first)

    @property
    def any(self) -> bool:
        return any(getattr(self, k) > 0 for k in ("gm_sigma", "c_sigma", "threshold_offset_sigma",
                                                  "weight_gain_sigma", "weight_offset_sigma",
                                                  "transconductor_offset_sigma"))

    def resolved_dict(self) -> dict:
        out = {"gm_sigma": self.gm_sigma, "c_sigma": self.c_sigma,
               "threshold_offset_sigma": f"{self.threshold_offset_sigma!r} V",
               "transconductor_offset_sigma": f"{self.transconductor_offset_sigma!r} V",
               "weight_gain_sigma": self.weight_gain_sigma,
               "weight_offset_sigma": self.weight_offset_sigma}
        if self.chips > 1 or self.first_chip > 0:
            out.update(chips=self.chips, first_chip=self.first_chip)
        return out


@dataclass(frozen=True)
class WeightConfig:
    """The synaptic memory (see the module docstring).

    Attributes
    ----------
    bits : int or None
        Resolution (None: continuous).
    range : float
        Full scale ``|Phi| <= range`` of the quantised weights.
    rounding : {"nearest", "stochastic"}
        Re-quantisation after each plasticity step.
    retention_time : float or None
        Leak time constant in s.
    drift_sigma : float
        Sigma of the per-synapse drift rate, in units of ``Phi`` per second.
    """

    bits: int | None = None
    range: float = 2.0
    rounding: str = "nearest"
    retention_time: float | None = None
    drift_sigma: float = 0.0

    ROUNDING = ("nearest", "stochastic")

    @classmethod
    def from_dict(cls, d: dict) -> "WeightConfig":
        w = _table(d, "weights", _WEIGHT_KEYS)
        _note(w, "bits", kind="integer", default=None, low=1, high=24, low_open=False)
        _note(w, "range", kind="number", default=2.0, low=0, high=None, low_open=True)
        _note(w, "rounding", kind="choice", choices=cls.ROUNDING, default="nearest")
        _note(w, "retention_time", kind="quantity", dimension="time", default=None, low=0.0,
              low_open=True)
        _note(w, "drift_sigma", kind="quantity", dimension="frequency", default=None, low=0.0,
              low_open=False)
        bits = d.get("bits")
        if bits is not None and (isinstance(bits, bool) or not isinstance(bits, int)
                                 or not 1 <= bits <= 24):
            raise ConfigError(f"{w}.bits", "an integer from 1 to 24", bits)
        rng_ = d.get("range", 2.0)
        if isinstance(rng_, bool) or not isinstance(rng_, (int, float)) or not rng_ > 0 \
                or not math.isfinite(rng_):
            raise ConfigError(f"{w}.range", "a number > 0 (full scale of |Phi|)", rng_)
        rounding = d.get("rounding", "nearest")
        if rounding not in cls.ROUNDING:
            raise ConfigError(f"{w}.rounding", "one of 'nearest', 'stochastic'", rounding)
        ret = d.get("retention_time")
        if ret is not None:
            ret = parse_quantity(ret, "time", f"{w}.retention_time")
            if ret <= 0:
                raise ConfigError(f"{w}.retention_time", "a time > 0", d["retention_time"])
        drift = d.get("drift_sigma")
        drift = 0.0 if drift is None else parse_quantity(drift, "frequency", f"{w}.drift_sigma")
        if drift < 0:
            raise ConfigError(f"{w}.drift_sigma", "a rate >= 0 (units of Phi per second, Hz)",
                              d["drift_sigma"])
        if bits == 1:
            raise ConfigError(f"{w}.bits", "an integer from 2 to 24 (1 bit has no zero level)", bits)
        return cls(bits, float(rng_), rounding, ret, drift)

    @property
    def lsb(self) -> float | None:
        """Weight step (units of ``Phi``), or None for continuous weights."""
        if self.bits is None:
            return None
        return 2.0 * self.range / (2 ** self.bits - 2)

    @property
    def dynamic(self) -> bool:
        """Whether stored weights change without plasticity (leak or drift)."""
        return self.retention_time is not None or self.drift_sigma > 0

    def resolved_dict(self) -> dict:
        out = {"range": self.range, "rounding": self.rounding}
        if self.bits is not None:
            out["bits"] = self.bits
        if self.retention_time is not None:
            out["retention_time"] = f"{self.retention_time!r} s"
        if self.drift_sigma:
            out["drift_sigma"] = f"{self.drift_sigma!r} Hz"
        return out


@dataclass(frozen=True)
class TransconductorConfig:
    """``[transconductor]``: the saturating force current (see the module docstring).

    Attributes
    ----------
    saturation_current : float
        ``I_max`` in A.
    linear_range : float or None
        ``V_L`` in V (only checked against ``G_m = I_max / V_L``).
    """

    saturation_current: float
    linear_range: float | None = None
    input_offset: float = 0.0
    bandwidth: float | None = None

    @classmethod
    def from_dict(cls, d: dict, transconductance: float) -> "TransconductorConfig":
        w = _table(d, "transconductor", _TRANSCONDUCTOR_KEYS)
        if "saturation_current" not in d:
            raise ConfigError(f"{w}.saturation_current", "a current (required), e.g. \"60 nA\"",
                              None)
        i_max = quantity(d, "saturation_current", "current", w)
        v_l = quantity(d, "linear_range", "voltage", w)
        if v_l is not None and abs(i_max / v_l / transconductance - 1) > 0.1:
            raise ConfigError(f"{w}.linear_range", f"saturation_current / linear_range within "
                              f"10% of circuit.transconductance = {transconductance:.4g} S",
                              f"{d['linear_range']} (I_max / V_L = {i_max / v_l:.4g} S)")
        v_os = quantity(d, "input_offset", "voltage", w, positive=False)
        bw = quantity(d, "bandwidth", "frequency", w)
        return cls(i_max, v_l, 0.0 if v_os is None else v_os, bw)



@dataclass(frozen=True)
class ComparatorConfig:
    """``[comparator]``: finite gain and offset of the soft threshold's comparators (see the
    module docstring).

    Attributes
    ----------
    width : float
        The transition width ``V_w`` in V (``swing / (4 gain)``, or given).
    offset : float
        Systematic offset in V (moves every unit's threshold by ``offset / V_u``).
    gain, swing : float or None
        What ``width`` came from, when it was not given directly.
    """

    width: float
    offset: float = 0.0
    gain: float | None = None
    swing: float | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "ComparatorConfig":
        w = _table(d, "comparator", _COMPARATOR_KEYS)
        gain = number(d, "gain", w, low=0, low_open=True)
        swing = quantity(d, "swing", "voltage", w)
        width = quantity(d, "width", "voltage", w)
        offset = quantity(d, "offset", "voltage", w, default=None, positive=False)
        if width is not None and (gain is not None or swing is not None):
            raise ConfigError(f"{w}.width", "either width, or gain and swing (not both)",
                              d["width"])
        if width is None:
            if gain is None or swing is None:
                missing = "gain" if gain is None else "swing"
                raise ConfigError(f"{w}.{missing}", "gain (V/V) and swing (the output's "
                                  "voltage swing, e.g. \"1.8 V\"), or width, e.g. \"2 mV\"",
                                  None)
            width = swing / (4.0 * gain)
        return cls(width, 0.0 if offset is None else offset, gain, swing)

    def resolved_dict(self) -> dict:
        """What was given (gain and swing, or width) and the offset, in SI; it parses back
        to the same section."""
        out = ({"gain": self.gain, "swing": f"{self.swing!r} V"} if self.gain is not None
               else {"width": f"{self.width!r} V"})
        return {**out, "offset": f"{self.offset!r} V"}


@dataclass(frozen=True)
class CrossbarConfig:
    """``[crossbar]``: wire resistance per cell pitch (see the module docstring).

    Attributes
    ----------
    row_resistance, column_resistance : float
        In ohm, > 0.
    """

    row_resistance: float
    column_resistance: float

    @classmethod
    def from_dict(cls, d: dict) -> "CrossbarConfig":
        w = _table(d, "crossbar", _CROSSBAR_KEYS)
        both = quantity(d, "wire_resistance", "resistance", w)
        row = quantity(d, "row_resistance", "resistance", w)
        col = quantity(d, "column_resistance", "resistance", w)
        if both is not None and (row is not None or col is not None):
            raise ConfigError(f"{w}.wire_resistance", "either wire_resistance, or "
                              "row_resistance and column_resistance (not both)",
                              d["wire_resistance"])
        if both is None and (row is None or col is None):
            missing = "row_resistance" if row is None else "column_resistance"
            raise ConfigError(f"{w}.{missing}", "a resistance per cell pitch, e.g. \"2 ohm\" "
                              "(or wire_resistance for both)", None)
        return cls(both, both) if both is not None else cls(row, col)

    def resolved_dict(self) -> dict:
        return {"row_resistance": f"{self.row_resistance!r} ohm",
                "column_resistance": f"{self.column_resistance!r} ohm"}
