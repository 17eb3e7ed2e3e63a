"""Temperature <-> noise-PSD conversions for a G_m-C latent node (SPEC section 3).

All quantities are SI floats.  A latent node of capacitance ``C`` (F) holds the voltage
``v = V_u * u`` (``V_u`` in V per unit of the dimensionless latent ``u``) and is driven by a
transconductance ``G_m`` (S):

    C dv/dt = G_m V_u (-dE/du) + i_n(t),        tau_u = C / G_m.

Noise convention (everywhere in this package): a current-noise source is specified by its
**one-sided** power spectral density ``S_I`` in A^2/Hz; in an SDE it enters as
``sqrt(S_I / 2) * xi(t)`` with ``<xi(t) xi(t')> = delta(t - t')``.  Dividing the node equation by
``G_m V_u`` gives ``tau_u du/dt = -dE/du + sqrt(2 T_eff tau_u) xi`` with

    T_eff = S_I / (4 G_m C V_u^2)        (dimensionless sampler temperature).
"""

from __future__ import annotations

from scipy import constants as _const

from models import constraints as _c

__all__ = [
    "BOLTZMANN",
    "ELEMENTARY_CHARGE",
    "effective_temperature",
    "psd_for_temperature",
    "kT_over_C",
    "subthreshold_transconductance",
    "thermal_voltage",
]

#: Boltzmann constant k_B in J/K (from scipy.constants, the single source of constants).
BOLTZMANN: float = float(_const.k)
#: Elementary charge q in C (from scipy.constants).
ELEMENTARY_CHARGE: float = float(_const.e)


def _positive(name: str, value, what: str) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise the ParameterError."""
    return _c.number(name, value, low=0.0, low_open=True, expected=what, coerce=True)


def _node(transconductance, capacitance, volts_per_unit) -> tuple[float, float, float]:
    g = _positive("transconductance", transconductance, "a positive transconductance in S")
    c = _positive("capacitance", capacitance, "a positive capacitance in F")
    v = _positive("volts_per_unit", volts_per_unit, "a positive volts-per-unit in V")
    return g, c, v


def effective_temperature(psd, transconductance, capacitance, volts_per_unit) -> float:
    """Sampler temperature produced by white current noise at a latent node.

    Parameters
    ----------
    psd : float
        One-sided current-noise PSD ``S_I`` at the node, A^2/Hz (>= 0).
    transconductance : float
        ``G_m`` in S.
    capacitance : float
        ``C`` in F.
    volts_per_unit : float
        ``V_u`` in V per unit of ``u``.

    Returns
    -------
    float
        ``T_eff = S_I / (4 G_m C V_u^2)`` (dimensionless; 1 means exact posterior sampling).
    """
    g, c, v = _node(transconductance, capacitance, volts_per_unit)
    s = _c.number("psd", psd, low=0.0, expected="a non-negative PSD in A^2/Hz", coerce=True)
    return s / (4.0 * g * c * v * v)


def psd_for_temperature(T_eff, transconductance, capacitance, volts_per_unit) -> float:
    """One-sided white current-noise PSD (A^2/Hz) that gives the sampler temperature ``T_eff``.

    Inverse of :func:`effective_temperature`: ``S_I = 4 G_m C V_u^2 T_eff``.
    ``T_eff`` is dimensionless (>= 0); ``G_m`` in S, ``C`` in F, ``V_u`` in V.
    """
    g, c, v = _node(transconductance, capacitance, volts_per_unit)
    t = _c.number("T_eff", T_eff, low=0.0, expected="a non-negative dimensionless temperature",
                  coerce=True)
    return 4.0 * g * c * v * v * t


def kT_over_C(temperature, capacitance) -> float:
    """Thermal voltage variance ``k_B T / C`` of a capacitor, in V^2 (``T`` in K, ``C`` in F)."""
    t = _positive("temperature", temperature, "a positive temperature in K")
    c = _positive("capacitance", capacitance, "a positive capacitance in F")
    return BOLTZMANN * t / c


def thermal_voltage(temperature) -> float:
    """Thermal voltage ``U_T = k_B T / q`` in V (``T`` in K; about 25.85 mV at 300 K)."""
    t = _positive("temperature", temperature, "a positive temperature in K")
    return BOLTZMANN * t / ELEMENTARY_CHARGE


def subthreshold_transconductance(bias_current, kappa=0.7, temperature=300.0) -> float:
    """Subthreshold MOS transconductance ``G_m = kappa I_b / U_T`` in S.

    ``bias_current`` ``I_b`` in A, ``kappa`` the (dimensionless) slope factor in (0, 1],
    ``temperature`` in K (``U_T = k_B T / q``).
    """
    i = _positive("bias_current", bias_current, "a positive bias current in A")
    k = _positive("kappa", kappa, "a positive slope factor kappa")
    return k * i / thermal_voltage(temperature)

