"""Config parsing: units checked once at the boundary, one-line errors naming the field."""

import math
import subprocess
import sys

import pytest

from circuit_sim import ConfigError, load_config, loads_config
from circuit_sim.cli import demo_config_text, main
from noise import parse_quantity

from ._configs import base_dict, make_config

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text, dim, expected", [
    ("10 fF", "capacitance", 10e-15), ("41.4 aF", "capacitance", 41.4e-18),
    ("1 uS", "conductance", 1e-6), ("1µS", "conductance", 1e-6), ("10 mV", "voltage", 0.01),
    ("300 K", "temperature", 300.0), ("2 ms", "time", 2e-3), ("5 ns", "time", 5e-9),
    ("1e-24 A^2/Hz", "current_psd", 1e-24), ("1 pA^2/Hz", "current_psd", 1e-24),
    ("10 kHz", "frequency", 1e4), ("37 nA", "current", 37e-9), ("1 V", "voltage", 1.0),
])
def test_parse_quantity(text, dim, expected):
    assert math.isclose(parse_quantity(text, dim, "f"), expected, rel_tol=1e-12)


@pytest.mark.parametrize("text, fragment", [
    ("10 pS", "'pS' is a unit of conductance"), ("10", "the unit is missing"),
    ("ten fF", "expected a capacitance"), ("10 fX", "unknown unit"),
])
def test_parse_quantity_errors(text, fragment):
    with pytest.raises(ConfigError) as err:
        parse_quantity(text, "capacitance", "circuit.capacitance")
    msg = str(err.value)
    assert msg.startswith("circuit.capacitance: expected a capacitance") and fragment in msg
    assert repr(text) in msg and "\n" not in msg


def _error(**sections) -> str:
    with pytest.raises(ConfigError) as err:
        make_config(**sections)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_wrong_unit():
    msg = _error(circuit={"capacitance": "10 pS"})
    assert msg.startswith("circuit.capacitance: expected a capacitance with a unit in F")
    assert "'10 pS'" in msg


@pytest.mark.parametrize("value", ["-10 fF", "0 fF"])
def test_negative_or_zero_capacitance(value):
    msg = _error(circuit={"capacitance": value})
    assert msg.startswith("circuit.capacitance: expected a capacitance > 0") and value in msg


def test_dictionary_shape():
    msg = _error(model={"dictionary": [[1.0, 0.6, 0.1], [0.0, 0.8, 0.2]]})
    assert msg.startswith("model.dictionary: expected 2 rows of 2 numbers") and "(2, 3)" in msg


def test_unstable_dt_explains_the_bound():
    # lambda_max = 1.6 / 0.25 = 6.4 -> Euler needs dt/tau_u < 0.3125, i.e. dt < 3.125 ns
    msg = _error(run={"dt": "5 ns", "record_every": "5 ns"})
    assert msg.startswith("run.dt: expected dt < 2 tau_u / lambda_max = 3.125 ns")
    assert "lambda_max = 6.4" in msg and "'5 ns'" in msg
    make_config(run={"dt": "3 ns", "record_every": "3 ns"})  # just inside is fine


def test_unknown_noise_kind():
    msg = _error(noise=[{"kind": "popcorn"}])
    assert msg.startswith("noise[0].kind: expected one of 'thermal', 'shot', 'flicker', 'injected'")
    assert "'popcorn'" in msg


def test_other_errors():
    assert _error(model={"pi": 1.5}).startswith("model.pi: expected a number > 0 and <= 1")
    assert _error(model={"sigma": -1}).startswith("model.sigma: expected a number > 0")
    assert _error(input={"x": [1.0]}).startswith("input.x: expected a list of model.n_features = 2")
    assert _error(run={"backend": "gpu"}).startswith("run.backend: expected one of 'numpy'")
    assert _error(run={"record_every": "0.3 ns"}).startswith("run.record_every: expected a whole multiple")
    assert _error(circuit={"temperature": "300 C"}).startswith("circuit.temperature:")
    assert _error(circuit={"volts_per_unit": None}).startswith("circuit.volts_per_unit: expected")
    assert _error(circuit={"colour": "red"}).startswith("circuit.colour: expected one of the keys")
    msg = _error(noise=[{"kind": "thermal", "conductance": "1 uS"}, {"kind": "injected", "fill_to": 0.001}])
    assert msg.startswith("noise[1]:") and "fill_to" in msg
    assert _error(noise=[{"kind": "shot"}]).startswith("noise[0].current: expected a current")
    assert _error(noise=[{"kind": "injected", "psd": "1e-24 A^2/Hz", "fill_to": 1.0}]).startswith(
        "noise[0].psd: expected exactly one of psd")


def test_defaults_and_derived_values():
    cfg = make_config(circuit={"transconductance": None, "bias_current": "37 nA",
                               "supply_voltage": "1 V"}, run={"dt": None, "record_every": None})
    # subthreshold G_m = kappa I_b / U_T
    assert math.isclose(cfg.circuit.transconductance, 0.7 * 37e-9 / 0.025852, rel_tol=2e-3)
    dt, auto = cfg.resolved_dt()
    assert auto and dt / cfg.circuit.tau_u <= 0.02 / 6.4 + 1e-12
    budget = cfg.noise_budget()
    assert math.isclose(budget.T_eff, 1.0) and len(budget.entries) == 2


def test_resolved_toml_round_trip():
    cfg = make_config(model={"dictionary": None})
    again = loads_config(cfg.to_toml())
    assert again.build_model().dictionary.tolist() == cfg.build_model().dictionary.tolist()
    assert again.circuit == cfg.circuit and again.resolved_dt() == cfg.resolved_dt()
    assert again.noise_budget().T_eff == pytest.approx(cfg.noise_budget().T_eff)


def test_missing_file():
    with pytest.raises(ConfigError, match="config file: expected an existing TOML file"):
        load_config("/nonexistent/chip.toml")


def test_example_configs_load():
    for path in sorted((ROOT / "experiments" / "configs").glob("*.toml")):
        load_config(path)
    assert demo_config_text() == (ROOT / "experiments" / "configs" / "slab_2d.toml").read_text()


def test_cli_bad_input_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    text = demo_config_text().replace('capacitance = "10 fF"', 'capacitance = "-10 fF"')
    bad.write_text(text)
    assert main(["infer", str(bad), "--out", str(tmp_path / "o.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["circuit-sim: error: circuit.capacitance: expected a capacitance > 0, got '-10 fF'"]
    assert main(["budget", str(tmp_path / "missing.toml")]) == 2


def test_cli_help_on_every_command():
    for args in (["--help"], ["infer", "--help"], ["budget", "--help"], ["demo", "--help"]):
        out = subprocess.run([sys.executable, "-m", "circuit_sim.cli", *args], capture_output=True,
                             text=True)
        assert out.returncode == 0 and "usage: circuit-sim" in out.stdout


def test_cli_budget(tmp_path, capsys):
    png = tmp_path / "b.png"
    assert main(["budget", str(ROOT / "experiments" / "configs" / "slab_2d.toml"),
                 "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert "TOTAL" in out and "injected" in out and png.stat().st_size > 1000


def test_set_changes_fields_with_the_file_grammar(tmp_path, capsys):
    """--set key=value (dotted keys, unit strings) on the CLI and Config.replace from Python:
    the same values, the same errors."""
    cfg = make_config()
    again = cfg.replace(**{"run.duration": "20 ns", "circuit.capacitance": "5 fF",
                           "noise[1].fill_to": 0.5})
    assert again.duration == pytest.approx(20e-9) and again.circuit.capacitance == pytest.approx(5e-15)
    assert again.noise_budget().T_eff == pytest.approx(0.5)
    with pytest.raises(ConfigError, match=r"^circuit.capacitance: expected a capacitance"):
        cfg.replace(**{"circuit.capacitance": "5 V"})
    from circuit_sim.config import dumps_toml
    path = tmp_path / "c.toml"
    path.write_text(dumps_toml(base_dict()))
    png = tmp_path / "b.png"
    assert main(["budget", str(path), "--out", str(png), "--set", "noise.1.fill_to=2.0"]) == 0
    assert "2" in capsys.readouterr().out.split("TOTAL")[1].split()[1]
    assert main(["budget", str(path), "--out", str(png), "--set", "circuit.capacitance=5 V"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "circuit-sim: error: circuit.capacitance: expected a capacitance with a unit in F (SI prefixes allowed); 'V' is a unit of voltage, got '5 V'"
    assert main(["budget", str(path), "--set", "nodots=1"]) == 2
    assert "nodots: expected a dotted config key" in capsys.readouterr().err
