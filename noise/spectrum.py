"""A measured or simulated current-noise spectrum (e.g. ngspice ``.noise`` of a cell),
realised as white noise plus low-pass and high-pass Lorentzian components.

A cell's output noise is rarely ``S_w (1 + f_c / f)``: its 1/f part may fall as ``f^-alpha``
with ``alpha != 1``, and internal poles and zeros bend the floor (the sky130 OTA's mirror pole
makes a notch to half the floor near 5 MHz, and the floor rises back above 20 MHz). Any such
spectrum between ``f_lo`` and ``f_hi`` is fitted by non-negative least squares on its
*relative* error (a log-spaced grid, 40 points per decade) with

    S(f) = W_0 + sum_k W_k / (1 + x_k^2) + sum_k V_k x_k^2 / (1 + x_k^2),    x_k = f / f_k,

poles ``f_k`` log-spaced from ``f_lo / 3`` to ``f_hi`` (the fastest pole is then slow enough for the step) (``poles_per_decade``, 4 by default),
all weights >= 0. Each term is a realisable current: ``W_0`` white, ``W_k`` an
Ornstein-Uhlenbeck current of time constant ``tau_k = 1/(2 pi f_k)`` (as in
:class:`~noise.sources.FlickerNoise`), ``V_k`` the high-passed white noise ``a_k (eta -
z_k / tau_k)`` with ``dz_k/dt = -z_k / tau_k + eta`` (the same white draw ``eta``, one-sided
PSD ``2 a_k^2 x^2 / (1 + x^2)``, so ``a_k = sqrt(V_k / 2)``). Components whose weight is zero
are dropped. :meth:`SpectrumNoise.max_deviation` is the fit's largest relative error over a
band (what a validation reads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import nnls

from models import constraints as _c

from .sources import lorentzian_psd, one_pole_equivalent_psd

__all__ = ["SpectrumNoise"]

_FIT_POINTS_PER_DECADE = 40


@dataclass(frozen=True)
class SpectrumNoise:
    """A tabulated one-sided current-noise PSD and its realisation (module docstring).

    Parameters
    ----------
    f : array_like, shape (K,)
        Frequencies in Hz, increasing, > 0 (K >= 8).
    psd : array_like, shape (K,)
        One-sided PSD in A^2/Hz at ``f``, > 0.
    f_lo, f_hi : float
        The band the realisation follows (Hz), inside ``[f[0], f[-1]]``.
    poles_per_decade : float
        Density of the Lorentzian poles.
    name : str
    """

    f: np.ndarray
    psd_data: np.ndarray
    f_lo: float
    f_hi: float
    poles_per_decade: float = 4.0
    name: str = "measured"

    def __post_init__(self):
        f = np.array(self.f, dtype=float)
        s = np.array(self.psd_data, dtype=float)
        if f.ndim != 1 or f.shape != s.shape or len(f) < 8:
            raise _c.bad_input("spectrum", "two arrays of the same length >= 8 (f in Hz, PSD "
                               "in A^2/Hz)", f"shapes {f.shape} and {s.shape}")
        if not (np.all(np.isfinite(f)) and np.all(f > 0) and np.all(np.diff(f) > 0)):
            raise _c.bad_input("spectrum_f", "increasing frequencies > 0 in Hz", f[:4])
        if not (np.all(np.isfinite(s)) and np.all(s > 0)):
            raise _c.bad_input("spectrum_psd", "PSD values > 0 in A^2/Hz",
                               s[~(np.isfinite(s) & (s > 0))][:4])
        lo, hi = float(self.f_lo), float(self.f_hi)
        if not (f[0] <= lo < hi <= f[-1]):
            raise _c.bad_input("f_lo/f_hi", f"a band inside the spectrum's [{f[0]:.4g}, "
                               f"{f[-1]:.4g}] Hz", f"[{lo:.4g}, {hi:.4g}]")
        for name, v in (("f", f), ("psd_data", s)):
            v.setflags(write=False)
            object.__setattr__(self, name, v)
        object.__setattr__(self, "f_lo", lo)
        object.__setattr__(self, "f_hi", hi)

    # -- interface shared with the other sources ----------------------------------------------
    @property
    def kind(self) -> str:
        return "measured"

    @property
    def is_white(self) -> bool:
        return False

    @property
    def white_psd(self) -> float:
        """The fitted white part ``W_0`` in A^2/Hz."""
        return self._fit[0]

    def data(self, f) -> np.ndarray:
        """The tabulated PSD interpolated (log-log) at ``f`` (Hz)."""
        return np.exp(np.interp(np.log(f), np.log(self.f), np.log(self.psd_data)))

    def psd(self, f) -> np.ndarray:
        """One-sided PSD (A^2/Hz) of the realisation at ``f`` (Hz)."""
        f = np.asarray(f, dtype=float)
        w0, lp_tau, lp_w, hp_tau, hp_w = self._fit
        low = lorentzian_psd(lp_w, lp_tau, f) if len(lp_tau) else 0.0
        high = 0.0
        if len(hp_tau):
            x = 2 * np.pi * f[..., None] * hp_tau
            high = np.sum(hp_w * x * x / (1 + x * x), axis=-1)
        return w0 + low + high

    def max_deviation(self, f_lo: float, f_hi: float, points_per_decade: int = 40) -> float:
        """Largest ``|S_model / S_data - 1|`` on a log grid of ``[f_lo, f_hi]`` (Hz)."""
        f = _grid(max(f_lo, self.f[0]), min(f_hi, self.f[-1]), points_per_decade)
        return float(np.max(np.abs(self.psd(f) / self.data(f) - 1.0)))

    def ou_bank(self) -> tuple[np.ndarray, np.ndarray]:
        """The low-pass components as ``(time constants (K,) s, stddevs (K,) A)`` (as
        :meth:`~noise.sources.FlickerNoise.ou_bank`: ``W_k = 4 sigma_k^2 tau_k``)."""
        _, tau, w, _, _ = self._fit
        return tau.copy(), np.sqrt(w / (4.0 * tau))

    def highpass(self) -> tuple[np.ndarray, np.ndarray]:
        """The high-pass components as ``(time constants (K,) s, a_k (K,) A s^0.5)``: the
        current ``a_k (eta - z_k / tau_k)``, ``dz_k/dt = -z_k / tau_k + eta``."""
        _, _, _, tau, v = self._fit
        return tau.copy(), np.sqrt(v / 2.0)

    def equivalent_psd(self, tau_u: float) -> float:
        """Node-equivalent white PSD (A^2/Hz) through ``H = 1 / (1 + 2 pi i f tau_u)``:
        ``W_0 + sum W_k tau_u / (tau_k + tau_u) + sum V_k tau_k / (tau_k + tau_u)``."""
        w0, lp_tau, lp_w, hp_tau, hp_w = self._fit
        return float(w0 + np.sum(one_pole_equivalent_psd(lp_w, lp_tau, tau_u))
                     + np.sum(hp_w * hp_tau / (hp_tau + tau_u)))

    @property
    def fastest_pole(self) -> float:
        """The shortest time constant of the realisation (s; ``inf`` if white only)."""
        _, lp_tau, _, hp_tau, _ = self._fit
        taus = np.concatenate([lp_tau, hp_tau])
        return float(taus.min()) if len(taus) else math.inf

    # -- the fit --------------------------------------------------------------------------------
    @cached_property
    def _fit(self):
        lo, hi = self.f_lo, self.f_hi
        decades = math.log10(hi / lo) + math.log10(3.0)
        k = max(2, int(math.ceil(self.poles_per_decade * decades)) + 1)
        f_k = np.logspace(math.log10(lo / 3), math.log10(hi), k)
        f = _grid(lo, hi, _FIT_POINTS_PER_DECADE)
        s = self.data(f)
        x = f[:, None] / f_k[None, :]
        lp, hp = 1.0 / (1.0 + x * x), x * x / (1.0 + x * x)
        # columns scaled by the data (relative error), weights in units of the data's level
        ref = float(np.median(s))
        a = np.column_stack([np.ones_like(f), lp, hp]) * (ref / s)[:, None]
        coef, _ = nnls(a, np.ones_like(f), maxiter=100 * a.shape[1])
        coef = coef * ref
        w0, wl, wh = coef[0], coef[1:k + 1], coef[k + 1:]
        tau = 1.0 / (2.0 * np.pi * f_k)
        keep_l, keep_h = wl > 0, wh > 0
        out = (float(w0), tau[keep_l], wl[keep_l], tau[keep_h], wh[keep_h])
        for arr in out[1:]:
            arr.setflags(write=False)
        return out


def _grid(lo: float, hi: float, per_decade: int) -> np.ndarray:
    n = max(16, int(math.ceil(per_decade * math.log10(hi / lo))) + 1)
    return np.logspace(math.log10(lo), math.log10(hi), n)
