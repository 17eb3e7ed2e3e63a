"""Physical noise sources, temperature mapping and noise budgets for the Langevin sampler chip.

SI floats throughout (A, S, F, V, K, Hz, s).  Every noise source is given by its one-sided
current PSD in A^2/Hz and enters an SDE as ``sqrt(S_I/2) * xi(t)``; white noise at a latent node
gives the sampler temperature ``T_eff = S_I / (4 G_m C V_u^2)`` (SPEC section 3).

Imports only numpy, scipy and (lazily, for plotting) matplotlib; never brian2.
"""

from .budget import BudgetEntry, NoiseBudget, fill_psd, noise_budget
from .sources import (
    FlickerNoise,
    InjectedNoise,
    MeasuredNoise,
    CommonModeNoise,
    TelegraphNoise,
    NoiseSource,
    PSDLevel,
    ShotNoise,
    ThermalNoise,
    one_pole_equivalent_psd,
)
from .spectrum import SpectrumNoise
from .units import format_si, parse_quantity, si_value
from .temperature import (
    BOLTZMANN,
    ELEMENTARY_CHARGE,
    effective_temperature,
    kT_over_C,
    psd_for_temperature,
    subthreshold_transconductance,
    thermal_voltage,
)

__all__ = [
    "BudgetEntry",
    "NoiseBudget",
    "noise_budget",
    "fill_psd",
    "format_si",
    "parse_quantity",
    "si_value",
    "ThermalNoise",
    "ShotNoise",
    "FlickerNoise",
    "InjectedNoise",
    "MeasuredNoise",
    "SpectrumNoise",
    "CommonModeNoise",
    "TelegraphNoise",
    "NoiseSource",
    "PSDLevel",
    "one_pole_equivalent_psd",
    "BOLTZMANN",
    "ELEMENTARY_CHARGE",
    "effective_temperature",
    "psd_for_temperature",
    "kT_over_C",
    "subthreshold_transconductance",
    "thermal_voltage",
]
