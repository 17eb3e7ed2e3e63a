"""Parameter sweeps on Dask (circuit_sim.sweep): expansion, validation, running, resuming."""

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from circuit_sim import ConfigError
from circuit_sim.config import dumps_toml
from circuit_sim.sweep import SweepError, cmd_sweep, load_sweep, read_index, run_sweep

from ._configs import base_dict

ROOT = Path(__file__).resolve().parents[1]


def _tiny_base() -> dict:
    """2-unit Gaussian, 10 fF / 1 uS, injected fill to T = 1; 500 steps on numpy."""
    return base_dict(model={"prior": "gaussian", "pi": None},
                     run={"duration": "100 ns", "dt": "0.2 ns", "record_every": "0.2 ns"})


def _write_sweep(tmp_path: Path, body: str, name: str = "sweep.toml") -> Path:
    (tmp_path / "configs").mkdir(exist_ok=True)
    (tmp_path / "configs" / "base.toml").write_text(dumps_toml(_tiny_base()))
    path = tmp_path / "sweeps" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text('base = "../configs/base.toml"\n' + textwrap.dedent(body))
    return path


# --------------------------------------------------------------------------- expansion
def test_grid_product_with_units_and_explicit_points(tmp_path):
    path = _write_sweep(tmp_path, """
        [overrides]
        "run.duration" = "50 ns"
        [grid]
        "circuit.capacitance" = ["1 fF", "10 fF", "20 fF"]
        run.seed = [1, 2]                 # an unquoted dotted key (a nested table) works too
        [[points]]
        "noise[1].fill_to" = 0.5
        "model.dictionary.0.1" = 0.3
        [[points]]
        "noise.2.kind" = "shot"           # one past the end: a new [[noise]] entry
        "noise.2.current" = "10 nA"
        """)
    sweep = load_sweep(path)
    assert sweep.base_path == (tmp_path / "configs" / "base.toml").resolve()
    assert sweep.keys == ["circuit.capacitance", "run.seed", "noise.1.fill_to",
                          "model.dictionary.0.1", "noise.2.kind", "noise.2.current"]
    assert len(sweep.points) == 3 * 2 + 2
    caps = [p.config.circuit.capacitance for p in sweep.points[:6]]
    np.testing.assert_allclose(caps, [1e-15, 1e-15, 1e-14, 1e-14, 2e-14, 2e-14])
    assert [p.config.run.seed for p in sweep.points[:6]] == [1, 2, 1, 2, 1, 2]
    assert all(p.config.duration == pytest.approx(50e-9) for p in sweep.points)
    assert sweep.points[0].params == {"circuit.capacitance": "1 fF", "run.seed": 1}
    first, second = sweep.points[6], sweep.points[7]
    assert dict(first.config.noise[1].params)["fill_to"] == 0.5
    assert first.config.model.dictionary[0][1] == 0.3
    assert first.config.circuit.capacitance == pytest.approx(1e-14)  # the base's
    assert [n.kind for n in second.config.noise] == ["thermal", "injected", "shot"]
    # ids: position + hash of the swept values, the same on every read, all distinct
    ids = [p.point_id for p in sweep.points]
    assert ids == [p.point_id for p in load_sweep(path).points]
    assert len(set(ids)) == len(ids) and ids[0].startswith("p0000-")


def test_product_combination(tmp_path):
    path = _write_sweep(tmp_path, """
        combine = "product"
        [grid]
        "run.seed" = [1, 2, 3]
        [[points]]
        "circuit.capacitance" = "5 fF"
        "circuit.transconductance" = "0.5 uS"
        [[points]]
        "circuit.capacitance" = "20 fF"
        "circuit.transconductance" = "2 uS"
        """)
    sweep = load_sweep(path)
    assert len(sweep.points) == 6
    assert [p.config.circuit.tau_u for p in sweep.points] == pytest.approx([1e-8] * 6)
    assert [p.config.run.seed for p in sweep.points] == [1, 2, 3, 1, 2, 3]


def test_bad_values_are_all_reported_with_key_and_point(tmp_path):
    path = _write_sweep(tmp_path, """
        [grid]
        "circuit.capacitance" = ["10 fF", "-1 fF", "3 V"]
        "run.seed" = [1, -2]
        """)
    with pytest.raises(SweepError) as info:
        load_sweep(path)
    err = info.value
    assert isinstance(err, ConfigError)
    assert len(err.problems) == 5  # every point but (10 fF, seed 1)
    msg = str(err)
    assert "5 bad point(s) of 6" in msg
    assert "point 1 (circuit.capacitance='10 fF', run.seed=-2): run.seed: expected an integer" in msg
    assert "point 2 (circuit.capacitance='-1 fF', run.seed=1): circuit.capacitance: expected " \
           "a capacitance > 0, got '-1 fF'" in msg
    assert "point 4 (circuit.capacitance='3 V', run.seed=1): circuit.capacitance" in msg
    assert "'V' is a unit of voltage" in msg


@pytest.mark.parametrize("key, value, named", [
    ("circuit.capacitanse", '["10 fF"]', "circuit.capacitanse"),
    ("noise.0.current", '["1 nA"]', "noise.0.current"),   # a thermal source has no current
    ("nosuchsection.x", "[1]", "nosuchsection.x"),
    ("noise.5.gamma", "[1.0]", "noise.5.gamma"),          # no such [[noise]] entry
    ("seed", "[1]", "seed"),                              # not section.key
    ("run.seed.value", "[1]", "run.seed.value"),          # below a value
])
def test_unknown_key_is_an_error_naming_it(tmp_path, key, value, named):
    path = _write_sweep(tmp_path, f"""
        [grid]
        "run.seed" = [1, 2]
        "{key}" = {value}
        """)
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert str(info.value).startswith(named + ":")


def test_malformed_sweep_files(tmp_path):
    path = _write_sweep(tmp_path, """
        [grid]
        "run.seed" = 3
        """)
    with pytest.raises(ConfigError, match="grid.run.seed: expected a non-empty list"):
        load_sweep(path)
    path.write_text('base = "nowhere.toml"\n[grid]\n"run.seed" = [1]\n')
    with pytest.raises(ConfigError, match="sweep.base: expected an existing TOML file"):
        load_sweep(path)
    path.write_text('base = "../configs/base.toml"\ngird = 1\n')
    with pytest.raises(ConfigError, match="sweep.gird: expected one of the keys"):
        load_sweep(path)
    with pytest.raises(ConfigError, match="sweep file: expected an existing TOML file"):
        load_sweep(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- running
def test_run_point_returns_the_file_or_a_failure(tmp_path, monkeypatch):
    """The worker task in this process: without a visible sweep directory the HDF5 file's
    bytes come back; a point that fails when run comes back as a failure, never raises."""
    import brian2

    from circuit_sim.sweep import run_point

    # run_point sets these for its worker process: restore them for the other tests
    for name in ("CIRCUIT_SIM_CACHE", "OPENBLAS_NUM_THREADS"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    old_cache = brian2.prefs.codegen.runtime.cython.cache_dir
    try:
        ok = run_point(_tiny_base(), None, str(tmp_path / "cache"))
        bad = _tiny_base()
        bad["input"].update(kind="file", path="nope.npy", n_patches=1, hold="1 us")
        failed = run_point(bad, None, str(tmp_path / "cache"))
    finally:
        brian2.prefs.codegen.runtime.cython.cache_dir = old_cache
    assert ok["status"] == "ok" and ok["h5"][:8] == b"\x89HDF\r\n\x1a\n"
    assert ok["metrics"]["T_eff"] == pytest.approx(1.0) and ok["wall_time"] > 0
    assert failed["status"] == "failed" and "Traceback" in failed["traceback"]
    assert failed["error"].startswith("ConfigError: input.path") and "nope.npy" in failed["error"]


# Four good points and one that passes validation but fails when run (its input file is
# read only then). One LocalCluster run, then a resume, shared by the tests below.
SWEEP_BODY = """
    [grid]
    "circuit.capacitance" = ["10 fF", "20 fF"]
    "run.seed" = [1, 2]
    [[points]]
    "input.kind" = "file"
    "input.path" = "does-not-exist.npy"
    "input.n_patches" = 1
    "input.hold" = "1 us"
    """


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    path = _write_sweep(tmp, SWEEP_BODY)
    out = tmp / "out"
    log = tmp / "progress.txt"
    with open(log, "w") as fh:
        first = run_sweep(path, out, workers=2, progress=fh)
    files = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.h5")}
    # resume: delete one finished point; the rerun runs it and the failed point, nothing else
    victim = first.rows[1]["point_id"]
    (out / "points" / f"{victim}.h5").unlink()
    args = argparse.Namespace(sweep=str(path), out=str(out), scheduler=None, workers=1)
    code = cmd_sweep(args)
    return dict(path=path, out=out, first=first, files=files, victim=victim, code=code,
                log=log.read_text())


def test_sweep_writes_points_and_index(swept):
    first, out = swept["first"], swept["out"]
    assert first.counts == {"ok": 4, "failed": 1, "pending": 0}
    assert not first.interrupted
    ok = [r for r in first if r["status"] == "ok"]
    for r in ok:
        assert r["T_eff"] == pytest.approx(1.0)
        assert np.isfinite(r["posterior_error"]) and np.isfinite(r["ess_per_second"])
        assert np.isnan(r["energy_per_sample"])  # no bias current / supply in this design
        assert r["wall_time"] > 0 and r["session"] == 1
    np.testing.assert_allclose(first["circuit.capacitance [F]"][:4], [1e-14, 1e-14, 2e-14, 2e-14])
    assert list(first["run.seed"][:4]) == [1, 2, 1, 2]
    assert len({r["worker"] for r in ok}) == 2  # both worker processes got points
    with h5py.File(out / "points" / f"{ok[2]['point_id']}.h5") as f:
        assert f.attrs["circuit.capacitance"] == "20 fF" and f.attrs["run.seed"] == 1
        assert f.attrs["sweep_point_id"] == ok[2]["point_id"]
        assert f["u"].shape == (500, 2) and f["metrics"].attrs["T_eff"] == pytest.approx(1.0)
    assert (out / "index.h5").is_file()
    assert "ETA" in swept["log"] and "[5/5]" in swept["log"]
    assert not list((out / "points").glob(".*"))  # no temporary files left behind
    assert not (out / ".lock").exists()


def test_plot_sweep_draws_a_metric_against_a_swept_key(swept, tmp_path, capsys):
    from circuit_sim.cli import main

    png = tmp_path / "map.png"
    assert main(["plot-sweep", str(swept["out"]), "--x", "circuit.capacitance", "--y",
                 "ess_per_second", "--group", "run.seed", "--out", str(png)]) == 0
    assert png.stat().st_size > 10000 and "wrote" in capsys.readouterr().out
    assert main(["plot-sweep", str(swept["out"]), "--x", "circuit.capacitance", "--y", "nope"]) == 2
    assert "--y: expected a metric of this sweep's index" in capsys.readouterr().err
    assert main(["plot-sweep", str(swept["out"]), "--x", "run.dt"]) == 2
    assert "--x: expected a swept key of this sweep (one of circuit.capacitance, run.seed" \
        in capsys.readouterr().err
    assert main(["plot-sweep", str(tmp_path / "missing"), "--x", "run.seed"]) == 2
    assert "DIR: expected a sweep's output directory" in capsys.readouterr().err


def test_a_second_sweep_into_a_busy_directory_is_refused(tmp_path):
    from circuit_sim.sweep.runner import _dir_lock  # noqa: PLC0415 -- the lock itself

    with _dir_lock(tmp_path):
        with pytest.raises(ConfigError, match="a directory no other running sweep writes to"):
            with _dir_lock(tmp_path):
                pass
    with _dir_lock(tmp_path):  # free again
        pass


def test_failing_point_is_recorded_and_others_finish(swept):
    bad = [r for r in swept["first"] if r["status"] == "failed"]
    assert len(bad) == 1
    assert bad[0]["error"].startswith("ConfigError: input.path: expected an existing .npy")
    assert bad[0]["input.path"] == "does-not-exist.npy"
    txt = (swept["out"] / "points" / f"{bad[0]['point_id']}.error.txt").read_text()
    assert "Traceback" in txt and "does-not-exist.npy" in txt
    assert not (swept["out"] / "points" / f"{bad[0]['point_id']}.h5").exists()


def test_resume_runs_only_missing_and_failed_points(swept):
    out = swept["out"]
    index = read_index(out)
    assert swept["code"] == 1  # the failing point fails again
    assert index.counts == {"ok": 4, "failed": 1, "pending": 0}
    sessions = {r["point_id"]: r["session"] for r in index}
    bad = [r["point_id"] for r in index if r["status"] == "failed"]
    assert {pid for pid, s in sessions.items() if s == 2} == {swept["victim"], *bad}
    after = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.h5")}
    changed = {n for n in after if after[n] != swept["files"].get(n)}
    assert changed == {swept["victim"] + ".h5"}
    with open(out / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["point_id"] for r in rows] == [r["point_id"] for r in index]
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["failed"]
    for name in ("T_eff [1]", "posterior_error [1]", "ess_per_second [1/s]",
                 "energy_per_sample [J]", "wall_time [s]", "tau_u [s]", "dt [s]",
                 "autocorrelation_time [s]", "error", "circuit.capacitance",
                 "circuit.capacitance [F]"):
        assert name in rows[0]
    # every metric column carries a unit in the CSV
    cols = list(rows[0])
    metric_cols = [c for c in cols[cols.index("status") + 1:] if c not in ("error", "session", "worker")]
    assert metric_cols and all(c.endswith("]") for c in metric_cols), metric_cols


def test_rerun_of_a_finished_sweep_runs_nothing(swept, tmp_path):
    # a copy without the failing point: everything is done, no cluster is started
    out = tmp_path / "out"
    shutil.copytree(swept["out"], out)
    path = swept["path"].parent / "done.toml"
    path.write_text(swept["path"].read_text().split("[[points]]")[0])
    t0 = time.perf_counter()
    index = run_sweep(path, out, progress=None)
    assert time.perf_counter() - t0 < 5
    assert index.counts == {"ok": 4, "failed": 0, "pending": 0}
    # a changed base (here: the overrides) makes the finished files stale: they would rerun
    body = swept["path"].read_text().split("[[points]]")[0]
    path.write_text(body.replace("[grid]", '[overrides]\n"run.duration" = "60 ns"\n[grid]'))
    from circuit_sim.sweep.index import _Book  # noqa: PLC0415 -- checking the resume bookkeeping
    sweep = load_sweep(path)
    book = _Book(sweep, out, 3)
    assert {book.load_finished(p) for p in sweep.points} == {"stale"}


@pytest.mark.slow
def test_sigterm_keeps_a_valid_index_and_the_rerun_completes(tmp_path):
    """Kill a sweep of 8 slower points half-way (SIGTERM), then resume it (each point alone:
    a batch of seeds would finish its points together)."""
    path = _write_sweep(tmp_path, """
        batch = false
        [overrides]
        "run.duration" = "4 us"
        [grid]
        "run.seed" = [1, 2, 3, 4, 5, 6, 7, 8]
        """)
    out = tmp_path / "out"
    code = f"from circuit_sim.sweep import run_sweep; run_sweep({str(path)!r}, {str(out)!r}, workers=2)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        n = len(list((out / "points").glob("p*.h5"))) if (out / "points").is_dir() else 0
        if n >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert "interrupted" in err
    index = read_index(out)
    done = {r["point_id"] for r in index if r["status"] == "ok"}
    assert 3 <= len(done) < 8 and index.interrupted
    assert index.counts["pending"] == 8 - len(done)
    assert done == {p.stem for p in (out / "points").glob("p*.h5")}
    rerun = run_sweep(path, out, workers=2, progress=None)
    assert rerun.counts["ok"] == 8
    ran = {r["point_id"] for r in rerun if r["session"] == 2}
    assert ran == {r["point_id"] for r in rerun} - done


@pytest.mark.slow
def test_learning_points_write_learning_files_and_recovery_metrics(tmp_path):
    """A sweep over a learning config (bars stream) runs circuit-sim learn per point; the
    index carries the last learning statistics (recovery against the true bars)."""
    d = base_dict(model={"n_features": 16, "n_components": 8, "prior": "laplace", "pi": 0.3,
                         "positive": True, "dictionary": None},
                  input={"x": None, "kind": "bars", "n_patches": 40, "hold": "20 ns",
                         "patch_size": 4},
                  run={"duration": None, "dt": "0.5 ns", "record_every": "20 ns"})
    d["learning"] = {"dictionary_time_constant": "2 us", "normalise": True,
                     "snapshot_every": "400 ns"}
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "bars.toml").write_text(dumps_toml(d))
    sweep = tmp_path / "learn.toml"
    sweep.write_text('base = "configs/bars.toml"\n[grid]\n"weights.bits" = [3, 8]\n')
    idx = run_sweep(sweep, tmp_path / "out", workers=1, progress=None)
    assert idx.counts["ok"] == 2, [r.get("error") for r in idx]
    for row in idx:
        assert 0 < row["recovery_mean"] <= 1 and 0 < row["recovery_min"] <= row["recovery_mean"]
        assert row["patches_seen"] == 40
        with h5py.File(tmp_path / "out" / "points" / f"{row['point_id']}.h5") as f:
            assert "snapshots" in f and "stats" in f
    again = run_sweep(sweep, tmp_path / "out", workers=1, progress=None)  # nothing to rerun
    assert [r["session"] for r in again] == [r["session"] for r in idx]
    assert list(again["recovery_mean"]) == list(idx["recovery_mean"])


# --------------------------------------------------------------------------- batching
def _chip_base() -> dict:
    """4 spike-and-slab units with mismatch, noise off (T = 0: a point's trajectory is its
    chip's, whatever network it runs in), 300 steps on numpy, every unit active at first."""
    d = base_dict(model={"n_features": 3, "n_components": 4, "sigma": 0.5, "prior": "laplace",
                         "lam": 1.0, "pi": 0.3,
                         "dictionary": [[1.0, 0.6, -0.3, 0.2], [0.0, 0.8, 0.5, -0.7],
                                        [0.2, 0.0, 0.8, 0.6]]},
                  input={"x": [3.0, -2.0, 2.5]}, noise=[],
                  run={"duration": "120 ns", "dt": "0.4 ns", "record_every": "0.4 ns",
                       "crossbar": "dense", "u_init": [1.5, -1.2, 2.0, 0.8]})
    d["mismatch"] = {"gm_sigma": 0.1, "c_sigma": 0.05, "threshold_offset_sigma": "2 mV",
                     "weight_gain_sigma": 0.1, "weight_offset_sigma": 0.05}
    return d


def test_plan_batches_groups_consecutive_draws_of_one_design():
    from circuit_sim.sweep.runner import MAX_BATCH, plan_batches
    from circuit_sim.sweep.spec import expand_sweep

    grid = {"grid": {"mismatch.first_chip": [0, 1, 2, 5, 6, 7, 8],
                     "circuit.capacitance": ["10 fF", "20 fF"]}}
    sweep = expand_sweep(grid, _chip_base())
    jobs = plan_batches(sweep.points, n_workers=2)
    sizes = sorted(len(j) for j in jobs)
    # per capacitance: 7 points on 2 workers -> batches of 4; runs 0-2 and 5-8
    assert sizes == [3, 3, 4, 4], sizes
    for job in jobs:
        chips = [p.config.mismatch.first_chip for p in job]
        assert chips == list(range(chips[0], chips[0] + len(chips)))
        assert len({p.config.circuit.capacitance for p in job}) == 1
    assert [len(j) for j in plan_batches(sweep.points, 2, enabled=False)] == [1] * 14
    # seeds of a given dictionary are a batch of seeds, and so are those of a drawn one
    # (each chip its seed's posterior); a grid of seeds x draws batches the draws of each seed
    seeds = expand_sweep({"grid": {"run.seed": [1, 2, 3]}}, _chip_base())
    (job,) = plan_batches(seeds.points, 1)
    assert [p.config.run.seed for p in job] == [1, 2, 3]
    drawn = {**_chip_base(), "model": {**_chip_base()["model"], "dictionary": None}}
    drawn["model"].pop("dictionary")
    (job,) = plan_batches(expand_sweep({"grid": {"run.seed": [1, 2, 3]}}, drawn).points, 1)
    assert [p.config.run.seed for p in job] == [1, 2, 3]
    # learning on a stream: each seed its own patches and drawn dictionary, in one batch;
    # a Poisson schedule (drawn from the seed) keeps them apart
    from .test_ensemble_learning import _seed_cfg

    learn = _seed_cfg("numpy").raw
    (job,) = plan_batches(expand_sweep({"grid": {"run.seed": [1, 2, 3]}}, learn).points, 1)
    assert [p.config.run.seed for p in job] == [1, 2, 3]
    learn["input"]["presentation"] = "poisson"
    seeds = expand_sweep({"grid": {"run.seed": [1, 2, 3]}}, learn)
    assert [len(j) for j in plan_batches(seeds.points, 1)] == [1, 1, 1]
    grid = expand_sweep({"grid": {"run.seed": [1, 2], "mismatch.first_chip": [0, 1, 2]}},
                        _chip_base())
    for job in plan_batches(grid.points, 1):
        assert len(job) == 3 and len({p.config.run.seed for p in job}) == 1
    many = expand_sweep({"grid": {"mismatch.first_chip": list(range(150))}}, _chip_base())
    assert max(len(j) for j in plan_batches(many.points, 1)) == MAX_BATCH


def _logged_sweep(tmp_path: Path, base: dict, grid: str, workers: int):
    """Write ``base`` and a sweep of it over ``grid`` (one TOML line), run it with its progress
    into a log; ``(index, log text)``."""
    (tmp_path / "base.toml").write_text(dumps_toml(base))
    path = tmp_path / "sweep_of_base.toml"
    path.write_text(f'base = "base.toml"\n[grid]\n{grid}\n')
    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        index = run_sweep(path, tmp_path / "out", workers=workers, progress=fh)
    text = log.read_text()
    print(text)
    return index, text


def _assert_point_is_alone(tmp_path: Path, row, alone, batch: int, what: str) -> None:
    """A batched point's file holds exactly the run alone: trajectory, devices, dictionary."""
    with h5py.File(tmp_path / "out" / "points" / f"{row['point_id']}.h5") as f:
        assert f.attrs["sweep_batch"] == batch
        assert f["u"].shape == alone.u.shape
        np.testing.assert_allclose(f["u"][:], alone.u, rtol=0, atol=1e-10, err_msg=what)
        np.testing.assert_array_equal(f["devices/gm_rel"][:], alone.devices["gm_rel"])
        np.testing.assert_allclose(f["dictionary"][:], alone.dictionary, atol=1e-12)
    assert row["activity"] == pytest.approx(alone.metrics["activity"], abs=1e-12)


@pytest.mark.slow
def test_a_sweep_over_device_draws_runs_them_as_one_network(tmp_path):
    from circuit_sim import Config, run_inference

    index, text = _logged_sweep(tmp_path, _chip_base(),
                                '"mismatch.first_chip" = [0, 1, 2, 3, 4, 5]', workers=2)
    assert index.counts == {"ok": 6, "failed": 0, "pending": 0}
    assert "batched: 6 points" in text and "2 network(s) of 3-3 chips" in text
    for r in index:
        chip = int(r["mismatch.first_chip"])
        alone = run_inference(Config.from_dict({**_chip_base(), "mismatch": {
            **_chip_base()["mismatch"], "first_chip": chip}}))
        _assert_point_is_alone(tmp_path, r, alone, 3, f"chip {chip}")
    # batch = false: each alone, the same rows
    path = tmp_path / "sweep_of_base.toml"
    path.write_text(path.read_text().replace("[grid]", "batch = false\n[grid]"))
    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        alone_index = run_sweep(path, tmp_path / "out_alone", workers=2, progress=fh)
    assert "batched" not in log.read_text()
    np.testing.assert_allclose(alone_index["activity"], index["activity"], atol=1e-12)


@pytest.mark.slow
def test_a_sweep_over_seeds_runs_them_as_one_network(tmp_path):
    """Points that differ only in run.seed (a given dictionary, a fixed input) run as batches
    of seeds (run.seeds); at T = 0 each point's file is its seed's run alone: its device
    draw (mismatch.first_chip 2 of that seed), trajectory and dictionary."""
    from circuit_sim import Config, run_inference

    base = {**_chip_base(), "mismatch": {**_chip_base()["mismatch"], "first_chip": 2}}
    index, text = _logged_sweep(tmp_path, base, '"run.seed" = [4, 7, 11, 12]', workers=2)
    assert index.counts == {"ok": 4, "failed": 0, "pending": 0}
    assert "batched: 4 points that differ only in run.seed run as 2 network(s) of 2-2" in text
    gm = []
    for r in index:
        seed = int(r["run.seed"])
        alone = run_inference(Config.from_dict({**base, "run": {**base["run"], "seed": seed}}))
        _assert_point_is_alone(tmp_path, r, alone, 2, f"seed {seed}")
        gm.append(alone.devices["gm_rel"])
    assert np.min(np.ptp(np.array(gm), axis=0)) > 1e-3, "every seed draws its own devices"


def _chip_sweep_and_alone(tmp_path: Path, base: dict):
    """Sweep ``base`` over ``mismatch.first_chip = 0, 1, 2`` (one worker), assert it ran as
    one batch of 3, and yield ``(index row, the point's learning file, its chip run alone)``
    for each point."""
    from circuit_sim import Config, load_learning, run_learning

    index, text = _logged_sweep(tmp_path, base, '"mismatch.first_chip" = [0, 1, 2]', workers=1)
    assert index.counts == {"ok": 3, "failed": 0, "pending": 0}, [r.get("error") for r in index]
    assert "batched: 3 points that differ only in mismatch.first_chip run as 1 network(s)" in text
    for r in index:
        chip = int(r["mismatch.first_chip"])
        cfg = Config.from_dict(base).replace(**{"mismatch.first_chip": chip})
        alone = load_learning(run_learning(cfg, tmp_path / f"alone{chip}.h5"))
        point = load_learning(tmp_path / "out" / "points" / f"{r['point_id']}.h5")
        assert point["attrs"]["sweep_batch"] == 3 and point["attrs"]["complete"]
        yield r, point, alone


@pytest.mark.slow
@pytest.mark.parametrize("chains", [1, 2])
def test_a_sweep_over_device_draws_of_a_learning_circuit_runs_them_as_one_network(tmp_path,
                                                                                  chains):
    """Learning points that differ only in mismatch.first_chip run as one learning ensemble;
    at T = 0 each point's file is the learning run of its chip alone (its dictionary at every
    snapshot, its statistics), readable by the summary. ``chains = 2``: each point's two
    chains learn on their own (``learning.share = "none"``), so the batch is 3 x 2 learners
    and each point's file holds its chip's two."""
    from circuit_sim.results.text import learning_summary

    from .test_ensemble_learning import _learning_cfg, _patches

    base = _learning_cfg(_patches(tmp_path / "x.npy"), "numpy", chains=chains).raw
    if chains > 1:
        base["learning"]["share"] = "none"
    for r, point, alone in _chip_sweep_and_alone(tmp_path, base):
        np.testing.assert_allclose(point["snapshots"]["dictionary"],
                                   alone["snapshots"]["dictionary"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(point["stats"]["reconstruction_error"],
                                   alone["stats"]["reconstruction_error"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(point["dictionary"], alone["dictionary"], rtol=0, atol=1e-10)
        last = alone["stats"]["reconstruction_error"][-1]
        if chains > 1:  # the chip's own two learners, the index their median
            assert point["snapshots"]["dictionary"].shape[1:3] == (2, 3)
            assert point["attrs"]["learners"] == 2 and point["attrs"]["share"] == "none"
            assert r["reconstruction_error_median"] == pytest.approx(np.median(last), rel=1e-9)
        else:
            assert r["reconstruction_error"] == pytest.approx(last, rel=1e-9)
        assert "learning run: 3 snapshots" in learning_summary(point)


@pytest.mark.slow
def test_a_sweep_over_device_draws_on_a_stream_without_learning_runs_them_as_one_network(
        tmp_path):
    """Inference on a stream (no [learning]; Gaussian prior so that T = 0 trajectories
    follow every patch): points that differ only in mismatch.first_chip run as one ensemble
    through the learning runner; each point's file is its chip's run alone (statistics at
    every snapshot, the fixed dictionary), and the chips differ."""
    from .test_ensemble_learning import _learning_cfg, _patches

    base = _learning_cfg(_patches(tmp_path / "x.npy"), "numpy").raw
    base.pop("learning")
    base["model"] = {k: v for k, v in base["model"].items() if k not in ("pi", "lam")}
    base["model"].update(prior="gaussian", positive=False)
    base["mismatch"] = {k: v for k, v in base["mismatch"].items()
                        if k != "threshold_offset_sigma"}
    errors = []
    for r, point, alone in _chip_sweep_and_alone(tmp_path, base):
        err = alone["stats"]["reconstruction_error"]
        assert len(err) > 3 and np.all(err > 0)
        np.testing.assert_allclose(point["stats"]["reconstruction_error"], err, rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(point["dictionary"], alone["dictionary"], rtol=0, atol=1e-12)
        assert r["reconstruction_error"] == pytest.approx(err[-1], rel=1e-9)
        errors.append(err)
    assert np.min(np.ptp(np.array(errors), axis=0)) > 1e-6, "each chip its own devices"


@pytest.mark.slow
def test_a_sweep_over_seeds_of_a_learning_circuit_runs_them_as_one_network(tmp_path):
    """Learning points that differ only in run.seed (each seed its own bars, drawn
    dictionary and devices) run as one batch of seeds; at T = 0 each point's file is its
    seed's learning run alone (every snapshot's dictionary, the statistics, the index row)."""
    from circuit_sim import Config, load_learning, run_learning

    from .test_ensemble_learning import _seed_cfg

    base = _seed_cfg("numpy").raw
    index, text = _logged_sweep(tmp_path, base, '"run.seed" = [3, 8, 21]', workers=1)
    assert index.counts == {"ok": 3, "failed": 0, "pending": 0}, [r.get("error") for r in index]
    assert "batched: 3 points that differ only in run.seed run as 1 network(s) of 3-3" in text
    finals = []
    for r in index:
        seed = int(r["run.seed"])
        alone = load_learning(run_learning(Config.from_dict(base).replace(**{"run.seed": seed}),
                                           tmp_path / f"alone{seed}.h5"))
        point = load_learning(tmp_path / "out" / "points" / f"{r['point_id']}.h5")
        assert point["attrs"]["sweep_batch"] == 3 and point["attrs"]["complete"]
        assert point["attrs"]["seed"] == seed and "seeds" not in point["attrs"]
        np.testing.assert_allclose(point["snapshots"]["dictionary"],
                                   alone["snapshots"]["dictionary"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(point["stats"]["reconstruction_error"],
                                   alone["stats"]["reconstruction_error"], rtol=1e-9, atol=1e-12)
        assert r["reconstruction_error"] == pytest.approx(
            alone["stats"]["reconstruction_error"][-1], rel=1e-9)
        finals.append(alone["dictionary"])
    assert np.max(np.abs(finals[0] - finals[1])) > 0.05, "each seed learns its own"


def test_batches_stay_within_memory_and_time_limit(monkeypatch):
    from circuit_sim.design import cost
    from circuit_sim.sweep.runner import plan_batches
    from circuit_sim.sweep.spec import expand_sweep

    many = expand_sweep({"grid": {"mismatch.first_chip": list(range(40))}}, _chip_base())
    est = cost.estimate(many.points[0].config.design)
    monkeypatch.setattr(cost, "available_memory", lambda: 10 * est.peak_bytes)
    assert max(len(j) for j in plan_batches(many.points, 1)) == 10
    assert max(len(j) for j in plan_batches(many.points, 2)) == 5  # a worker's share
    limited = expand_sweep({"grid": {"mismatch.first_chip": list(range(40))},
                            "overrides": {"run.time_limit": f"{3.5 * est.seconds!r} s"}},
                           _chip_base())
    monkeypatch.setattr(cost, "available_memory", lambda: 1 << 50)
    assert max(len(j) for j in plan_batches(limited.points, 1)) == 3
