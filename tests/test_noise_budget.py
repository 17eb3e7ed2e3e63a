"""Tests of noise.budget: totals, fill_to resolution, table and plot."""

import math

import pytest
from scipy import constants

from noise import (
    BudgetEntry,
    FlickerNoise,
    InjectedNoise,
    NoiseBudget,
    ShotNoise,
    ThermalNoise,
    effective_temperature,
    format_si,
    noise_budget,
)

NODE = dict(transconductance=1e-6, capacitance=10e-15, volts_per_unit=10e-3)


def _natural():
    return [ThermalNoise(conductance=1e-6, temperature=300.0, name="gm thermal"),
            ShotNoise(current=1e-9, branches=2, name="bias shot"),
            FlickerNoise(white_psd=1e-26, corner_frequency=1e5, f_min=1.0, f_max=1e9,
                         name="1/f")]


def test_budget_adds_psds_and_temperatures():
    b = noise_budget(_natural(), **NODE)
    assert isinstance(b, NoiseBudget) and all(isinstance(e, BudgetEntry) for e in b.entries)
    assert [e.name for e in b.entries] == ["gm thermal", "bias shot", "1/f"]
    assert [e.kind for e in b.entries] == ["thermal", "shot", "flicker"]
    th = b.entries[0]
    assert th.T_eff == pytest.approx(constants.k * 300.0 / (10e-15 * 1e-4), rel=1e-12)
    assert th.T_eff == pytest.approx(0.0041, rel=0.02)
    for e in b.entries:
        assert e.T_eff == pytest.approx(effective_temperature(e.psd, **NODE), rel=1e-12)
    assert b.total_psd == pytest.approx(sum(e.psd for e in b.entries), rel=1e-12)
    assert b.T_eff == pytest.approx(sum(e.T_eff for e in b.entries), rel=1e-12)
    assert sum(e.share for e in b.entries) == pytest.approx(1.0, rel=1e-12)
    assert b.tau_u == pytest.approx(1e-8)
    fl = b.sources[2]
    assert b.entries[2].psd == pytest.approx(fl.equivalent_psd(b.tau_u), rel=1e-15)


def test_fill_to_makes_total_exactly_target():
    srcs = _natural() + [InjectedNoise(fill_to=1.0, name="amp")]
    b = noise_budget(srcs, **NODE)
    assert b.T_eff == 1.0
    assert math.fsum(e.T_eff for e in b.entries) == pytest.approx(1.0, rel=1e-13)
    inj = b.sources[-1]
    assert isinstance(inj, InjectedNoise) and inj.fill_to is None and inj.name == "amp"
    natural = noise_budget(_natural(), **NODE).T_eff
    expected_psd = 4 * 1e-6 * 10e-15 * 1e-4 * (1.0 - natural)
    assert inj.psd == pytest.approx(expected_psd, rel=1e-12)
    assert b.entries[-1].psd == pytest.approx(expected_psd, rel=1e-12)
    assert b.entries[-1].share == pytest.approx(1.0 - natural, rel=1e-12)
    # resolved budget can be fed back in and gives the same total
    again = noise_budget(b.sources, **NODE)
    assert again.T_eff == pytest.approx(1.0, rel=1e-13)


def test_fill_to_below_natural_noise_is_an_error():
    with pytest.raises(ValueError) as err:
        noise_budget(_natural() + [InjectedNoise(fill_to=1e-3)], **NODE)
    msg = str(err.value)
    natural = noise_budget(_natural(), **NODE).T_eff
    assert "fill_to" in msg and "0.001" in msg and f"{natural:.6g}" in msg


def test_two_fill_to_sources_is_an_error():
    with pytest.raises(ValueError, match="fill_to"):
        noise_budget([InjectedNoise(fill_to=1.0, name="a"), InjectedNoise(fill_to=1.0, name="b")],
                     **NODE)


def test_exactly_one_of_psd_fill_to():
    with pytest.raises(ValueError, match="exactly one"):
        InjectedNoise(psd=1e-24, fill_to=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        InjectedNoise()


def test_node_parameters_validated():
    with pytest.raises(ValueError, match="capacitance"):
        noise_budget(_natural(), transconductance=1e-6, capacitance=0.0, volts_per_unit=0.01)


def test_empty_budget_is_a_noiseless_circuit():
    budget = noise_budget([], **NODE)
    assert budget.T_eff == 0.0 and budget.total_psd == 0.0 and budget.entries == ()
    assert "TOTAL" in budget.table()


def test_table_lists_sources_and_total():
    b = noise_budget(_natural() + [InjectedNoise(fill_to=1.0, name="amp")], **NODE)
    t = b.table()
    for name in ["gm thermal", "bias shot", "1/f", "amp", "TOTAL"]:
        assert name in t
    for unit in ["C = 10 fF", "G_m = 1 uS", "V_u = 10 mV", "tau_u = 10 ns", "PSD [A^2/Hz]",
                 "share [%]"]:
        assert unit in t
    lines = t.splitlines()
    assert lines[-1].startswith("TOTAL") and "100.0" in lines[-1]
    body = [ln for ln in lines[1:] if not ln.startswith("-")]
    assert len({len(ln) for ln in body}) <= 2      # aligned columns (rstrip of empty cells)


def test_plot_writes_png(tmp_path):
    b = noise_budget(_natural() + [InjectedNoise(fill_to=1.0)], **NODE)
    path = tmp_path / "budget.png"
    fig = b.plot(path)
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "T_eff" in fig._suptitle.get_text() and "C = 10 fF" in fig._suptitle.get_text()
    # every source labelled by its name (kind only when it differs) and its share, drawn
    # above the total (which would otherwise hide the dominating source)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    injected = next(k for k in lines if k.startswith("injected:"))
    assert injected.endswith("% of T_eff") and "(injected)" not in injected
    total = next(k for k in lines if k.startswith("total"))
    assert lines[injected].get_zorder() > lines[total].get_zorder()
    assert "nV" in fig.axes[1].get_ylabel()  # the voltage-referred panel


@pytest.mark.parametrize("value, unit, text", [
    (10e-15, "F", "10 fF"), (1e-6, "S", "1 uS"), (2.5e-9, "s", "2.5 ns"), (0.01, "V", "10 mV"),
    (300.0, "K", "300 K"), (1.5e6, "Hz", "1.5 MHz"), (0.0, "A", "0 A"), (999.99e-12, "F", "1 nF"),
])
def test_format_si(value, unit, text):
    assert format_si(value, unit) == text
