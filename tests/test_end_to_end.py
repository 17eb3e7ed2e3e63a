"""End to end: ``circuit-sim infer`` writes the public HDF5 layout and a PNG; interruption
keeps what was recorded; the demo runs and matches the exact posterior."""

import os
import signal

import h5py
import numpy as np
import pytest

from circuit_sim import loads_config, run_inference
from circuit_sim.cli import main
from circuit_sim.config import dumps_toml

from ._configs import base_dict


def _write(tmp_path, **sections):
    path = tmp_path / "chip.toml"
    path.write_text(dumps_toml(base_dict(**sections)))
    return path


def test_infer_writes_public_hdf5_layout(tmp_path, capsys):
    cfg = _write(tmp_path, circuit={"bias_current": "37 nA", "supply_voltage": "1 V"},
                 run={"duration": "1 us", "record_every": "2 ns"})
    out = tmp_path / "run.h5"
    assert main(["infer", str(cfg), "--out", str(out), "--seed", "7"]) == 0
    text = capsys.readouterr().out
    for fragment in ("TOTAL", "tau_u = C/G_m = 10 ns", "T_eff = 1", "energy per effective sample",
                     "TV(u) vs exact", "TV(s) vs exact", "(floor ", "P(s_1 = 0)", "activity  "):
        assert fragment in text
    assert out.with_suffix(".png").stat().st_size > 5000
    with h5py.File(out) as f:
        for name, units in (("t", "s"), ("u", "1"), ("s", "1"), ("v", "V"), ("x", "1"),
                            ("dictionary", "1")):
            assert f[name].attrs["units"] == units
        n = f["t"].shape[0]
        assert n == 500 and f["u"].shape == (n, 2) and f["v"].shape == (n, 2)
        assert f["dictionary"].shape == (2, 2) and f["x"].shape == (2,)
        np.testing.assert_allclose(f["v"][:] / 0.01, f["u"][:], rtol=1e-12)
        nb = f["noise_budget"]
        assert [s.decode() for s in nb["source"][:]] == ["thermal", "injected"]
        assert nb["psd"].attrs["units"] == "A^2/Hz" and nb["T_eff"].attrs["units"] == "1"
        assert np.isclose(nb["T_eff"][:].sum(), 1.0)
        a = f.attrs
        assert a["seed"] == 7 and a["T_eff"] == pytest.approx(1.0) and a["tau_u"] == pytest.approx(1e-8)
        assert {"version", "git_revision", "config", "integrator"} <= set(a.keys())
        again = loads_config(a["config"])  # the resolved config reloads
        assert again.run.seed == 7 and again.circuit.capacitance == pytest.approx(1e-14)
        assert f["metrics"].attrs["energy_per_sample"] > 0


def test_same_seed_same_result():
    cfg = loads_config(dumps_toml(base_dict(run={"duration": "0.4 us"})))
    a, b = run_inference(cfg), run_inference(cfg)
    np.testing.assert_array_equal(a.v, b.v)
    c = run_inference(cfg.with_overrides(seed=2))
    assert not np.array_equal(a.v, c.v)


class _InterruptOnProgress:
    """A progress stream that sends Ctrl-C (SIGINT) once the run reports real progress, so the
    interruption lands mid-run whatever the machine's load."""

    def __init__(self, marker):
        self.marker, self.sent = marker, False

    def write(self, text):
        if not self.sent and self.marker(text):
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)

    def flush(self):
        pass


def test_interrupt_keeps_recorded_samples(tmp_path):
    import re

    cfg = loads_config(dumps_toml(base_dict(run={"duration": "200 us", "record_every": "2 ns"})))

    def started(text):
        m = re.search(r"simulating:\s+([0-9.]+)%", text)
        return m is not None and float(m.group(1)) > 0

    res = run_inference(cfg, progress=_InterruptOnProgress(started))
    assert res.interrupted
    assert 10 < len(res.t) < 100_000 and np.all(np.isfinite(res.u))
    path = res.to_hdf5(tmp_path / "partial.h5")
    with h5py.File(path) as f:
        assert bool(f.attrs["interrupted"]) and f["u"].shape[0] == len(res.t)


@pytest.mark.slow
def test_demo_runs_and_matches_exact_posterior(tmp_path, capsys):
    assert main(["demo", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo.h5").exists() and (tmp_path / "demo.png").exists()
    with h5py.File(tmp_path / "demo.h5") as f:
        assert f["metrics"].attrs["tv_s"] < 0.03 and f["metrics"].attrs["tv_u"] < 0.03
    assert "wrote" in out


def test_same_seed_same_result_across_processes(tmp_path):
    """Reproducible in a new interpreter too, whatever its hash seed (Brian2's own xi_k
    would be drawn in set order, which follows PYTHONHASHSEED)."""
    import subprocess
    import sys

    noise = [{"kind": "thermal"}, {"kind": "shot", "current": "10 nA"},
             {"kind": "flicker", "corner_frequency": "1 MHz", "f_min": "100 kHz", "f_max": "100 MHz"},
             {"kind": "injected", "fill_to": 1.0}]
    cfg = tmp_path / "c.toml"
    cfg.write_text(dumps_toml(base_dict(noise=noise, run={"duration": "0.2 us"})))
    code = ("import sys; from circuit_sim import load_config, run_inference; "
            "r = run_inference(load_config(sys.argv[1])); print(repr(r.v[-1].tolist()))")
    outs = []
    for hashseed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run([sys.executable, "-c", code, str(cfg)], capture_output=True, text=True,
                             env=env, check=True)
        outs.append(out.stdout.strip().splitlines()[-1])
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.slow
def test_standalone_builds_in_its_own_directory(tmp_path, monkeypatch):
    """Parallel standalone runs must not share Brian2's default ./output project."""
    monkeypatch.chdir(tmp_path)
    cfg = loads_config(dumps_toml(base_dict(run={"duration": "0.2 us", "backend": "standalone"})))
    res = run_inference(cfg)
    assert len(res.t) == 1000 and res.run_time > 0
    assert not (tmp_path / "output").exists()


def test_standalone_cache_is_locked_per_process(tmp_path, monkeypatch):
    """Two users of one cached project never share it: the second builds elsewhere."""
    from circuit_sim.circuit.backends import _cached_project

    monkeypatch.setenv("CIRCUIT_SIM_CACHE", str(tmp_path))
    with _cached_project("k") as a:
        code = ("import sys; from circuit_sim.circuit.backends import _cached_project\n"
                "with _cached_project('k') as d: print(d)")
        import subprocess
        import sys
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env={**os.environ, "CIRCUIT_SIM_CACHE": str(tmp_path)}, check=True)
        assert other.stdout.strip() != a and str(tmp_path) not in other.stdout
    with _cached_project("k") as b:  # released: reused
        assert b == a
