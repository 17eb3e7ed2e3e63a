"""Tests of noise.sources and noise.temperature: PSD formulas, T_eff mapping, validation."""

import math

import numpy as np
import pytest
from scipy import constants

import noise
from noise import (
    FlickerNoise,
    InjectedNoise,
    ShotNoise,
    ThermalNoise,
    effective_temperature,
    kT_over_C,
    psd_for_temperature,
    subthreshold_transconductance,
    thermal_voltage,
)

C = 10e-15      # F
V_U = 10e-3     # V per unit
T_K = 300.0     # K
G_M = 1e-6      # S


def test_thermal_psd_is_4kTgammaG():
    s = ThermalNoise(conductance=2e-6, temperature=T_K, gamma=2.0 / 3.0)
    assert s.kind == "thermal" and s.is_white
    expected = 4 * constants.k * T_K * (2.0 / 3.0) * 2e-6
    assert s.white_psd == pytest.approx(expected, rel=1e-15)
    f = np.array([1.0, 1e3, 1e9])
    np.testing.assert_allclose(s.psd(f), expected, rtol=1e-15)
    assert s.psd(f).shape == f.shape


def test_thermal_at_gm_gives_kT_over_CVu2_and_kTC_variance():
    s = ThermalNoise(conductance=G_M, temperature=T_K)
    t = effective_temperature(s.white_psd, G_M, C, V_U)
    assert t == pytest.approx(constants.k * T_K / (C * V_U**2), rel=1e-12)
    assert t == pytest.approx(0.0041, rel=0.02)          # SPEC: "about 0.004"
    # with E = u^2/2, var(u) = T_eff so var(v) = T_eff V_u^2 = k_B T / C (independent of G_m)
    assert t * V_U**2 == pytest.approx(kT_over_C(T_K, C), rel=1e-12)


def test_sde_convention_sqrt_half_psd():
    """Pin the factor: C dv/dt = -G v + sqrt(S/2) xi has var(v) = T_eff V_u^2."""
    s_i = 3e-25
    tau = C / G_M
    b = math.sqrt(s_i / 2.0) / C                 # dv = -v/tau dt + b dW
    var_v = b * b * tau / 2.0                    # stationary OU variance
    assert var_v == pytest.approx(effective_temperature(s_i, G_M, C, V_U) * V_U**2, rel=1e-12)


def test_psd_for_temperature_is_inverse():
    s = psd_for_temperature(1.0, G_M, C, V_U)
    assert s == pytest.approx(4 * G_M * C * V_U**2, rel=1e-15)
    assert effective_temperature(s, G_M, C, V_U) == pytest.approx(1.0, rel=1e-15)


def test_shot_noise_is_thermal_with_noise_factor_half_over_kappa():
    i_b, kappa = 1e-9, 0.7
    g_m = subthreshold_transconductance(i_b, kappa=kappa, temperature=T_K)
    assert g_m == pytest.approx(kappa * i_b * constants.e / (constants.k * T_K), rel=1e-12)
    assert thermal_voltage(300.0) == pytest.approx(0.025852, rel=1e-4)
    shot = ShotNoise(current=i_b)
    equiv = ThermalNoise(conductance=g_m, temperature=T_K, gamma=1.0 / (2.0 * kappa))
    assert shot.kind == "shot" and shot.is_white
    assert shot.white_psd == pytest.approx(2 * constants.e * i_b, rel=1e-15)
    assert shot.white_psd == pytest.approx(equiv.white_psd, rel=1e-12)
    assert ShotNoise(current=i_b, branches=3).white_psd == pytest.approx(3 * shot.white_psd)


def test_injected_psd_is_float_and_callable():
    s = InjectedNoise(psd=2e-24)
    assert s.kind == "injected" and s.is_white
    assert s.psd == 2e-24 and s.white_psd == 2e-24 and isinstance(s.psd, float)
    np.testing.assert_allclose(s.psd(np.ones(4)), 2e-24)
    assert s == InjectedNoise(psd=2e-24)
    assert repr(s) == "InjectedNoise(psd=2e-24, fill_to=None, name='injected')"
    u = InjectedNoise(fill_to=1.0)
    assert u.psd is None and not u.is_resolved
    with pytest.raises(ValueError, match="fill_to"):
        u.white_psd


@pytest.mark.parametrize(
    "make, field, shown",
    [
        (lambda: ThermalNoise(conductance=-1e-6, temperature=300.0), "conductance", "-1e-06"),
        (lambda: ThermalNoise(conductance=1e-6, temperature=0.0), "temperature", "0.0"),
        (lambda: ThermalNoise(conductance=1e-6, temperature=300.0, gamma=float("nan")), "gamma",
         "nan"),
        (lambda: ShotNoise(current=1e-9, branches=0), "branches", "0"),
        (lambda: ShotNoise(current=1e-9, branches=1.5), "branches", "1.5"),
        (lambda: ShotNoise(current=float("inf")), "current", "inf"),
        (lambda: FlickerNoise(1e-24, 1e3, f_min=1e3, f_max=1e3), "f_max", "1000.0"),
        (lambda: FlickerNoise(1e-24, 1e3, f_min=1e4, f_max=10.0), "f_min", "10000.0"),
        (lambda: FlickerNoise(1e-24, 1e3, f_min=0.0, f_max=10.0), "f_min", "0.0"),
        (lambda: InjectedNoise(psd=1e-24, fill_to=1.0), "fill_to", "1e-24"),
        (lambda: InjectedNoise(), "psd", "None"),
        (lambda: InjectedNoise(psd=-1e-24), "psd", "-1e-24"),
        (lambda: InjectedNoise(fill_to=-2.0), "fill_to", "-2.0"),
    ],
)
def test_validation_messages_name_field_and_value(make, field, shown):
    with pytest.raises(ValueError) as err:
        make()
    msg = str(err.value)
    assert field in msg and shown in msg and "expected" in msg


def test_conductance_message_exact_form():
    with pytest.raises(ValueError) as err:
        ThermalNoise(conductance=-1e-6, temperature=300.0)
    assert str(err.value) == "conductance: expected a positive conductance in S, got -1e-06"


def test_temperature_helpers_validate():
    with pytest.raises(ValueError, match="capacitance"):
        effective_temperature(1e-24, G_M, -1.0, V_U)
    with pytest.raises(ValueError, match="temperature"):
        kT_over_C(0.0, C)


def test_public_api_reexported_and_no_brian2():
    import pathlib

    for name in ["ThermalNoise", "ShotNoise", "FlickerNoise", "InjectedNoise", "noise_budget",
                 "NoiseBudget", "BudgetEntry", "format_si", "effective_temperature",
                 "psd_for_temperature", "kT_over_C", "subthreshold_transconductance",
                 "thermal_voltage"]:
        assert hasattr(noise, name)
    for path in pathlib.Path(noise.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "import brian2" not in text and "from brian2" not in text, path
