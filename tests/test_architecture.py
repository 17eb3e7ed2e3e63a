"""The package's shape: one resolved design per config, one builder argument, small modules
and functions, Brian2 only where circuits are built, one seed tree."""

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import models
import noise
from circuit_sim import load_config, run_inference
from circuit_sim import seeds

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600


def _python_files(*packages):
    for pkg in packages:
        yield from sorted((ROOT / pkg).rglob("*.py"))


def test_no_long_functions_or_modules():
    long_functions, long_modules = [], []
    for path in _python_files("circuit_sim", "models", "noise"):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n})")
    assert not long_functions and not long_modules, (long_functions, long_modules)


def test_brian2_only_in_circuit_and_run():
    """Brian2 is imported by the circuit builder and the run layer only; config, design,
    results, sweeps and the CLI work without it."""
    allowed = {"circuit", "run"}
    for path in _python_files("circuit_sim"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0
                     else [])
            if any(n.split(".")[0] == "brian2" for n in names):
                sub = path.relative_to(ROOT / "circuit_sim").parts[0]
                assert sub in allowed, f"{path.relative_to(ROOT)} imports brian2"
    code = ("import sys, circuit_sim, circuit_sim.config, circuit_sim.design, circuit_sim.results,"
            " circuit_sim.sweep, circuit_sim.cli, circuit_sim.spice\n"
            "from circuit_sim import load_config\n"
            "load_config(sys.argv[1]).design\n"
            "sys.exit('brian2' in sys.modules)")
    cfg = ROOT / "experiments" / "configs" / "slab_2d.toml"
    assert subprocess.run([sys.executable, "-c", code, str(cfg)], cwd=ROOT).returncode == 0


def _tiny_index(tmp_path):
    """A sweep directory with a hand-made two-point index (nothing run)."""
    from circuit_sim.sweep.index import SweepIndex, _write_index

    cols = ["point_id", "index", "circuit.capacitance", "circuit.capacitance [F]", "status",
            "error", "wall_time", "session", "worker", "posterior_error"]
    rows = [dict(zip(cols, [f"p{i}", i, c, v, "ok", "", 1.0, 1, "w", e]))
            for i, (c, v, e) in enumerate([("10 fF", 1e-14, 0.1), ("20 fF", 2e-14, 0.2)])]
    out = tmp_path / "sweep"
    out.mkdir()
    _write_index(out, SweepIndex(cols, rows, units={"circuit.capacitance [F]": "F"}), {})
    return out


def test_help_budget_and_config_errors_do_not_import_brian2(tmp_path):
    """``circuit-sim --help``, each subcommand's help, ``budget``, ``report``, ``plot-sweep``
    and a config error run without importing Brian2 (it is imported when a circuit is built)."""
    cfg = ROOT / "experiments" / "configs" / "slab_2d.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(cfg.read_text().replace('capacitance = "10 fF"', 'capacitance = "10 fV"'))
    assert bad.read_text() != cfg.read_text()
    runs = [["--help"], ["infer", "--help"], ["learn", "--help"], ["sweep", "--help"],
            ["budget", str(cfg), "--out", str(tmp_path / "b.png")], ["infer", str(bad)],
            ["report", str(tmp_path / "missing.h5")], ["config", "--describe"],
            ["characterize", "--help"],
            ["plot-sweep", str(_tiny_index(tmp_path)), "--x", "circuit.capacitance"]]
    code = ("import sys, runpy\n"
            "from circuit_sim.cli import main\n"
            "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
            "sys.exit(100 if 'brian2' in sys.modules else 0)")
    for argv in runs:
        r = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True,
                           text=True)
        assert r.returncode == 0, f"circuit-sim {' '.join(argv)} imported brian2: {r.stderr}"


def test_network_builder_takes_the_design_alone():
    from circuit_sim.circuit.network import build_network

    assert list(inspect.signature(build_network).parameters) == ["design"]


class _Counter:
    """Counts constructions of a frozen dataclass (through its __post_init__)."""

    def __init__(self, monkeypatch, cls):
        self.n = 0
        original = cls.__post_init__

        def counted(obj, *a, **kw):
            self.n += 1
            return original(obj, *a, **kw)

        monkeypatch.setattr(cls, "__post_init__", counted)


def test_loading_and_running_constructs_the_model_and_each_source_once(tmp_path, monkeypatch):
    """slab_2d.toml (the demo: thermal, shot and an injected fill-to source), loaded and
    run: one SparseCodingModel and one object per source (the fill is resolved before its
    source is made). Counted by wrapping each class's __post_init__."""
    text = (ROOT / "experiments" / "configs" / "slab_2d.toml").read_text()
    text = re.sub(r'duration = "[^"]*"', 'duration = "40 ns"', text)
    text = text.replace('backend = "standalone"', 'backend = "numpy"')
    path = tmp_path / "slab.toml"
    path.write_text(text)
    counts = {cls.__name__: _Counter(monkeypatch, cls)
              for cls in (models.SparseCodingModel, noise.ThermalNoise, noise.InjectedNoise,
                          noise.ShotNoise, noise.FlickerNoise)}
    res = run_inference(load_config(path), out=tmp_path / "run.h5")
    res.summary()
    assert {k: c.n for k, c in counts.items()} == {"SparseCodingModel": 1, "ThermalNoise": 1,
                                                   "InjectedNoise": 1, "ShotNoise": 1,
                                                   "FlickerNoise": 0}


def test_files_record_the_design_and_the_seed_scheme(tmp_path):
    cfg = load_config(ROOT / "experiments" / "configs" / "slab_2d.toml").replace(
        **{"run.duration": "40 ns", "run.backend": "numpy"})
    run_inference(cfg, out=tmp_path / "run.h5")
    d = cfg.design
    with h5py.File(tmp_path / "run.h5") as f:
        assert f.attrs["seed_scheme"] == seeds.SCHEME_VERSION
        g = f["design"]
        assert g.attrs["dt"] == d.dt and g.attrs["record_stride"] == d.timestep.record_stride
        assert g.attrs["h"] == pytest.approx(d.dt / d.tau_u)
        np.testing.assert_array_equal(g["white_noise_amplitude"][()], d.noise.white_amplitude)


def test_seed_streams_are_named_independent_and_documented():
    doc = seeds.__doc__
    for name, key in seeds.STREAMS.items():
        assert re.search(rf"``{name}``\s+{key}\b", doc), f"stream {name} ({key}) not in the table"
    a = seeds.rng(1, "noise", 0).standard_normal(4)
    assert np.array_equal(a, seeds.rng(1, "noise", 0).standard_normal(4))
    others = [seeds.rng(1, "noise", 1), seeds.rng(1, "devices"), seeds.rng(2, "noise", 0)]
    for r in others:
        assert not np.allclose(a, r.standard_normal(4))
    with pytest.raises(ValueError, match="stream: expected one of"):
        seeds.rng(1, "nosuch")
