"""Noise budget of a latent node: every source's PSD, its sampler temperature and share.

For a node of transconductance ``G_m`` (S), capacitance ``C`` (F) and ``V_u`` (V per unit of u),
a white source of one-sided PSD ``S_I`` (A^2/Hz) contributes ``T = S_I / (4 G_m C V_u^2)``;
independent sources add.  A flicker source is not white; its entry uses the node-equivalent PSD
``S_eq = int S|H|^2 df / int |H|^2 df`` (``H = 1/(1 + 2 pi i f tau_u)``, ``tau_u = C/G_m``), which
gives the exact ``var(u)`` of a node of curvature 1 (other curvatures: an approximation; the bias
is a result to report, see SPEC section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from models import constraints as _c

from .sources import (CommonModeNoise, FlickerNoise, InjectedNoise, MeasuredNoise, ShotNoise,
                      TelegraphNoise, ThermalNoise)
from .spectrum import SpectrumNoise
from .temperature import _node
from .units import format_si

__all__ = ["BudgetEntry", "NoiseBudget", "noise_budget", "fill_psd", "format_si"]

_SOURCE_TYPES = (ThermalNoise, ShotNoise, FlickerNoise, InjectedNoise, MeasuredNoise,
                 CommonModeNoise, TelegraphNoise, SpectrumNoise)

@dataclass(frozen=True)
class BudgetEntry:
    """One line of a noise budget.

    ``psd``: the white level (A^2/Hz), or for flicker the node-equivalent ``S_eq`` (A^2/Hz);
    ``T_eff``: its (dimensionless) temperature ``psd / (4 G_m C V_u^2)``;
    ``share``: fraction (0..1) of the total ``T_eff``.
    """

    name: str
    kind: str
    psd: float
    T_eff: float
    share: float


@dataclass(frozen=True)
class NoiseBudget:
    """Result of :func:`noise_budget`.

    ``entries``: one :class:`BudgetEntry` per source, in the order given;
    ``sources``: the sources, every ``InjectedNoise(fill_to=...)`` replaced by one with its
    resolved ``psd`` (A^2/Hz); ``transconductance`` (S), ``capacitance`` (F), ``volts_per_unit``
    (V); ``total_psd`` (A^2/Hz, equivalent white) and ``T_eff`` (dimensionless) are the totals.
    """

    entries: tuple[BudgetEntry, ...]
    sources: tuple
    transconductance: float
    capacitance: float
    volts_per_unit: float
    total_psd: float
    T_eff: float

    @property
    def tau_u(self) -> float:
        """Node time constant ``C / G_m`` in s."""
        return self.capacitance / self.transconductance

    @property
    def node_corner_frequency(self) -> float:
        """Node bandwidth ``1 / (2 pi tau_u)`` in Hz."""
        return 1.0 / (2.0 * math.pi * self.tau_u)

    def entry(self, name: str) -> BudgetEntry:
        """The first entry called ``name`` (KeyError if none)."""
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    def header(self) -> str:
        return (
            f"Noise budget: C = {format_si(self.capacitance, 'F')}, "
            f"G_m = {format_si(self.transconductance, 'S')}, "
            f"V_u = {format_si(self.volts_per_unit, 'V')}, "
            f"tau_u = {format_si(self.tau_u, 's')}"
        )

    def table(self) -> str:
        """Aligned text table (source, kind, PSD [A^2/Hz], T_eff, share [%]) with a TOTAL row."""
        head = ("source", "kind", "PSD [A^2/Hz]", "T_eff", "share [%]")
        rows = [
            (e.name, e.kind + (" (equiv.)" if e.kind in ("flicker", "rtn") else ""),
             f"{e.psd:.3e}", f"{e.T_eff:.4g}", f"{100.0 * e.share:.1f}")
            for e in self.entries
        ]
        total = ("TOTAL", "", f"{self.total_psd:.3e}", f"{self.T_eff:.4g}",
                 f"{100.0 * sum(e.share for e in self.entries):.1f}")
        widths = [max(len(r[i]) for r in [head, *rows, total]) for i in range(len(head))]

        def fmt(r):
            left = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
            right = [r[i].rjust(widths[i]) for i in range(2, len(r))]
            return "  ".join(left + right).rstrip()

        rule = "-" * len(fmt(head))
        lines = [self.header(), fmt(head), rule, *(fmt(r) for r in rows), rule, fmt(total)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, path=None, *, f_min=None, f_max=None, title: str | None = None):
        """The budget as a researcher reads it; returns a matplotlib Figure.

        Left: the one-sided current PSD of each source into the node (A^2/Hz), with the
        equivalent white ``T_eff`` on a second axis (``S_I / (4 G_m C V_u^2)``) and each
        source's share of the total in its label; the total is drawn underneath (grey), so a
        source that dominates stays visible. For flicker the simulated OU-bank PSD (solid)
        and the ideal 1/f over its band (dashed). Right: the same sources referred to the
        node voltage, ``sqrt(S_I) |1 / (G_m + 2 pi i f C)|`` in nV/sqrt(Hz), whose total
        integrates to ``v_rms = sqrt(T_eff) V_u`` at unit curvature. Both mark the node
        corner ``1/(2 pi tau_u)``. Default range: three decades around the corner, widened to
        every flicker band. Saves a PNG at ``path`` when given (Agg canvas, no pyplot state).
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fc = self.node_corner_frequency
        f = self._frequencies(fc, f_min, f_max)
        g, c, vu = self.transconductance, self.capacitance, self.volts_per_unit
        scale = 4.0 * g * c * vu * vu
        z2 = 1.0 / (g * g + (2.0 * math.pi * f * c) ** 2)  # |Z|^2 of the node, Ohm^2

        fig = Figure(figsize=(12.0, 4.8))
        FigureCanvasAgg(fig)
        ax, av = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        total = sum((s.psd(f) for s in self.sources), np.zeros_like(f))
        for a, y in ((ax, total), (av, np.sqrt(total * z2) * 1e9)):
            a.loglog(f, y, color="0.7", lw=5.0, alpha=0.8, zorder=1,
                     label=f"total: T_eff = {self.T_eff:.4g}")
        for s, e in zip(self.sources, self.entries):
            y = s.psd(f)
            name = s.name if s.name == s.kind else f"{s.name} ({s.kind})"
            label = f"{name}: {100.0 * e.share:.1f} % of T_eff"
            (line,) = ax.loglog(f, y, lw=1.5, zorder=3, label=label)
            av.loglog(f, np.sqrt(y * z2) * 1e9, lw=1.5, zorder=3, color=line.get_color(),
                      label=label)
            if isinstance(s, FlickerNoise):
                fb = f[(f >= s.f_min) & (f <= s.f_max)]
                ax.loglog(fb, s.ideal_psd(fb), ls="--", lw=1.0, color=line.get_color(),
                          zorder=2, label=f"{s.name}: ideal 1/f")
        for a, where in ((ax, "center left"), (av, "lower left")):
            a.axvline(fc, color="0.4", ls=":", lw=1.0,
                      label=f"node corner 1/(2 pi tau_u) = {format_si(fc, 'Hz')}")
            a.set_xlabel("frequency [Hz]")
            a.grid(True, which="both", alpha=0.3)
            a.legend(fontsize=8, loc=where, framealpha=0.9)
        if np.any(total > 0):  # a coloured source's roll-off far below the total is not shown
            ax.set_ylim(bottom=max(ax.get_ylim()[0], 1e-4 * float(np.min(total[total > 0]))))
        ax.set_ylabel("current noise into the node, one-sided [A$^2$/Hz]")
        ax.secondary_yaxis("right", functions=(lambda y: y / scale, lambda t: t * scale)) \
            .set_ylabel("equivalent white T_eff  (S_I / 4 G_m C V_u$^2$)")
        ax.set_title("current PSD of each source", fontsize=10)
        av.set_ylabel("node voltage noise [nV/$\\sqrt{Hz}$]")
        av.set_title(f"referred to the node voltage (total v_rms = sqrt(T_eff) V_u = "
                     f"{format_si(math.sqrt(max(self.T_eff, 0.0)) * vu, 'V', digits=3)})",
                     fontsize=10)
        fig.suptitle(title or (f"noise budget: {self.header()[len('Noise budget: '):]}, "
                               f"T_eff = {self.T_eff:.4g}"), fontsize=11)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, format="png", dpi=120)
        return fig

    def _frequencies(self, fc: float, f_min, f_max) -> np.ndarray:
        lo, hi = fc / 1e3, fc * 1e3
        for s in self.sources:
            if isinstance(s, FlickerNoise):
                lo, hi = min(lo, s.f_min), max(hi, s.f_max)
        lo = float(f_min) if f_min is not None else lo
        hi = float(f_max) if f_max is not None else hi
        if not (0.0 < lo < hi and math.isfinite(hi)):
            raise _c.bad_input("f_min/f_max", "0 < f_min < f_max in Hz", f"{lo!r}, {hi!r}")
        return np.logspace(math.log10(lo), math.log10(hi), 400)


def fill_psd(sources, target: float, *, transconductance, capacitance, volts_per_unit,
             name: str = "injected") -> float:
    """The white PSD (A^2/Hz) that brings the node's total ``T_eff`` to ``target``.

    ``4 G_m C V_u^2 (target - T_others)`` with ``T_others`` the temperature of ``sources``
    (resolved sources only). A :class:`~models.constraints.ParameterError` on ``fill_to``
    when the others already exceed the target (``name``: the filling source, for the message).
    """
    g, c, v = _node(transconductance, capacitance, volts_per_unit)
    scale = 4.0 * g * c * v * v            # A^2/Hz per unit of T_eff
    natural = math.fsum(s.equivalent_psd(c / g) for s in sources) / scale
    if natural > target:
        raise _c.bad_input("fill_to", "a target T_eff at or above the natural noise",
                           f"fill_to={target!r} but the other sources already give T_eff = "
                           f"{natural:.6g} (source {name!r}; lower the natural noise or raise "
                           "the target)")
    return scale * (target - natural)


def noise_budget(sources, *, transconductance, capacitance, volts_per_unit) -> NoiseBudget:
    """Compute the noise budget of a latent node.

    Parameters
    ----------
    sources : iterable of ThermalNoise / ShotNoise / FlickerNoise / InjectedNoise (or one source)
    transconductance : float
        ``G_m`` in S.
    capacitance : float
        ``C`` in F.
    volts_per_unit : float
        ``V_u`` in V per unit of u.

    At most one ``InjectedNoise(fill_to=T_target)`` is allowed; it is resolved to the white PSD
    ``4 G_m C V_u^2 (T_target - T_others)`` (A^2/Hz, :func:`fill_psd`) that makes the total
    exactly ``T_target``. ``T_others > T_target`` is an error naming fill_to, the target and
    the natural T_eff.
    """
    g, c, v = _node(transconductance, capacitance, volts_per_unit)
    if isinstance(sources, _SOURCE_TYPES):
        sources = (sources,)
    sources = tuple(sources)
    # an empty list is a noiseless circuit: T_eff = 0 (deterministic descent, the T = 0 limit)
    for i, s in enumerate(sources):
        if not isinstance(s, _SOURCE_TYPES):
            raise _c.ParameterError(f"sources[{i}]", "ThermalNoise, ShotNoise, FlickerNoise, "
                                    "InjectedNoise, MeasuredNoise, CommonModeNoise or "
                                    "TelegraphNoise", s)
    fills = [i for i, s in enumerate(sources)
             if isinstance(s, InjectedNoise) and not s.is_resolved]
    if len(fills) > 1:
        raise _c.bad_input("fill_to", "at most one InjectedNoise(fill_to=...) source",
                           f"{len(fills)} (sources "
                           f"{', '.join(repr(sources[i].name) for i in fills)})")
    tau_u = c / g
    scale = 4.0 * g * c * v * v            # A^2/Hz per unit of T_eff
    target = None
    if fills:
        i = fills[0]
        target = sources[i].fill_to
        psd = fill_psd(sources[:i] + sources[i + 1:], target, transconductance=g,
                       capacitance=c, volts_per_unit=v, name=sources[i].name)
        sources = sources[:i] + (replace(sources[i], psd=psd, fill_to=None),) + sources[i + 1:]
    return _budget(sources, g, c, v, scale, tau_u, target)


def _budget(sources, g, c, v, scale, tau_u, target) -> NoiseBudget:
    psds = [s.equivalent_psd(tau_u) for s in sources]
    temps = [p / scale for p in psds]
    # with a fill_to source the total is the target by construction (avoid round-off drift)
    total_T = float(target) if target is not None else math.fsum(temps)
    entries = tuple(
        BudgetEntry(name=s.name, kind=s.kind, psd=float(p), T_eff=float(t),
                    share=(t / total_T if total_T > 0 else 0.0))
        for s, p, t in zip(sources, psds, temps)
    )
    return NoiseBudget(entries=entries, sources=sources, transconductance=g, capacitance=c,
                       volts_per_unit=v, total_psd=float(math.fsum(psds)), T_eff=float(total_T))
