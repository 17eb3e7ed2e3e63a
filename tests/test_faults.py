"""Reliability (issue 14): bad input gets one clean line and exit 2 before any work; a
learning file survives kills at any point (code generation, compilation, the program's run,
an HDF5 write) and resumes bit for bit; no child process outlives its run; our errors are
reported as ours; damaged files are found by their checksums."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from circuit_sim.cli import main
from circuit_sim.config import dumps_toml

from ._configs import base_dict

ROOT = Path(__file__).resolve().parents[1]
BARS = ROOT / "experiments" / "configs" / "bars.toml"


def _toml(tmp_path, name="c.toml", **sections) -> Path:
    p = tmp_path / name
    p.write_text(dumps_toml(base_dict(**sections)))
    return p


def _tiny_bars(tmp_path, backend="numpy", n_patches=20, name="bars.toml",
               snapshot_every="250 ns", **run) -> Path:
    """A small bars learning config (16 pixels, 8 atoms, a segment every 5 patches)."""
    import tomllib

    d = tomllib.loads(BARS.read_text())
    d["model"].update(n_features=16, n_components=8)
    d["input"].update(n_patches=n_patches, patch_size=4, hold="50 ns")
    d["learning"].update(snapshot_every=snapshot_every, dictionary_time_constant="2 us")
    d["run"].update(backend=backend, record_every="5 ns", **run)
    p = tmp_path / name
    p.write_text(dumps_toml(d))
    return p


# --------------------------------------------------------------------------- bad input
def _cases(tmp_path) -> list[tuple[str, list[str], str]]:
    """(what, argv, a fragment of the one-line error) for each bad input."""
    good = _toml(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "binary.toml").write_bytes(bytes(range(256)))
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["x"] = np.zeros(3)
    (tmp_path / "broken.toml").write_text("[model\nn = 1")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(os.urandom(4096))
    bars = _tiny_bars(tmp_path)
    other = _tiny_bars(tmp_path, name="other.toml", seed=2)
    learned = tmp_path / "learned.h5"
    assert main(["learn", str(bars), "--out", str(learned), "--quiet"]) == 0
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(learned.read_bytes()[:3000])
    g = str(good)
    w = lambda name, **s: str(_toml(tmp_path, name, **s))  # noqa: E731
    return [
        ("missing config", ["infer", str(tmp_path / "nope.toml")], "config file: expected an existing TOML file"),
        ("directory as config", ["infer", str(tmp_path / "adir")], "expected an existing TOML file"),
        ("binary config", ["infer", str(tmp_path / "binary.toml")], "(binary data)"),
        ("HDF5 file as config", ["budget", str(tmp_path / "data.h5")], "(an HDF5 file)"),
        ("invalid TOML", ["infer", str(tmp_path / "broken.toml")], "expected valid TOML"),
        ("typo in a key", ["infer", w("t.toml", circuit={"capacitanse": "10 fF"})], "capacitanse"),
        ("wrong unit", ["infer", w("u.toml", circuit={"capacitance": "10 fV"})], "circuit.capacitance"),
        ("negative capacitance", ["infer", w("n.toml", circuit={"capacitance": "-10 fF"})], "circuit.capacitance"),
        ("dt too coarse", ["infer", w("d.toml", run={"dt": "20 ns"})], "run.dt"),
        ("noise list of numbers", ["infer", g, "--set", "noise=[1, 2]"], "noise"),
        ("u_init NaN", ["infer", g, "--set", "run.u_init=[nan, nan]"], "run.u_init: expected finite numbers"),
        ("u_init wrong length", ["infer", g, "--set", "run.u_init=[1.0]"], "run.u_init"),
        ("network larger than memory", ["learn", str(BARS), "--set", "model.n_components=100000000"],
         "model.n_components: expected a network that fits in memory"),
        ("recording larger than memory", ["infer", g, "--set", "run.duration=1000 s"],
         "run.record_every: expected a recording that fits in memory"),
        ("run longer than the time limit", ["infer", g, "--set", "run.duration=100 s",
                                            "--set", "run.record_every=1 ms"],
         "run.duration: expected a run within run.time_limit"),
        ("--set without =", ["infer", g, "--set", "run.duration"], "--set: expected KEY=VALUE"),
        ("--set unknown key", ["infer", g, "--set", "run.durashun=1 us"], "durashun"),
        ("--set bad unit", ["infer", g, "--set", "run.duration=3 kg"], "run.duration"),
        ("--out an existing directory", ["infer", g, "--out", str(tmp_path / "adir")],
         "--out: expected a file path, got"),
        ("--out under a regular file", ["infer", g, "--out", str(tmp_path / "afile" / "x.h5")],
         "is a file)"),
        ("budget --out a directory", ["budget", g, "--out", str(tmp_path / "adir")], "--out: expected a file path"),
        ("export-spice --out under a file", ["export-spice", g, "-o", str(tmp_path / "afile" / "x.cir")],
         "--out: expected a file path whose folders can be made"),
        ("report of a missing file", ["report", str(tmp_path / "nope.h5")], "FILE.h5: expected an existing"),
        ("report of garbage", ["report", str(garbage)], "FILE.h5: expected an HDF5 file"),
        ("report --out a directory", ["report", str(learned), "--out", str(tmp_path / "adir")], "--out"),
        ("--resume of a missing file", ["learn", str(bars), "--resume", str(tmp_path / "nope.h5")],
         "--resume: expected an existing learning HDF5 file, got '{} (not found)'".format(tmp_path / "nope.h5")),
        ("--resume of garbage", ["learn", str(bars), "--resume", str(garbage)], "(not readable as HDF5"),
        ("--resume of a truncated file", ["learn", str(bars), "--resume", str(truncated)], "--resume: expected"),
        ("--resume of another config's file", ["learn", str(other), "--resume", str(learned)],
         "--resume: expected a file written by the same configuration"),
        ("--out and --resume differ", ["learn", str(bars), "--resume", str(learned), "--out",
                                       str(tmp_path / "x.h5")], "--out: expected the file --resume names"),
        ("learn on a fixed input", ["learn", g], "input.kind"),
        ("sweep --out a file", ["sweep", str(ROOT / "experiments" / "sweeps" / "sweep_demo.toml"),
                                "--out", str(tmp_path / "afile")], "--out: expected a folder"),
        ("sweep file missing", ["sweep", str(tmp_path / "nope.toml")], "expected an existing"),
        ("sweep --workers 0", ["sweep", str(ROOT / "experiments" / "sweeps" / "sweep_demo.toml"),
                               "--workers", "0"], "--workers"),
    ]


def test_bad_inputs_get_one_clean_line(tmp_path, capsys):
    """Every bad input of the corpus: exit 2, one line on stderr that names the field, no
    traceback, and nothing written."""
    cases = _cases(tmp_path)
    capsys.readouterr()
    before = set(tmp_path.rglob("*"))
    failures = []
    for what, argv, fragment in cases:
        rc = main(argv)
        err = capsys.readouterr().err.strip()
        lines = err.splitlines()
        if not (rc == 2 and len(lines) == 1 and lines[0].startswith("circuit-sim: error: ")
                and fragment in err and "Traceback" not in err):
            failures.append(f"{what}: rc {rc}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    written = {p for p in set(tmp_path.rglob("*")) - before if p.suffix in (".h5", ".png", ".cir")}
    assert not written, written
    print(f"{len(cases)} bad inputs, {len(cases) - len(failures)} clean one-line errors")


def test_report_of_a_file_without_snapshots(tmp_path, capsys):
    """The file a crash before the first snapshot leaves: report says so (exit 0); a file
    whose groups are empty (a crash while it was being made) too; --resume starts it over."""
    from circuit_sim import load_config
    from circuit_sim.results.hdf5 import LearningFile
    from circuit_sim.results.learning import HIST_EDGES

    cfg_path = _tiny_bars(tmp_path)
    design = load_config(cfg_path).design
    empty = tmp_path / "empty.h5"
    LearningFile(empty, design, None, False, HIST_EDGES)
    assert main(["report", str(empty)]) == 0
    out = capsys.readouterr().out
    assert "0 snapshots: it stopped before its first snapshot" in out and "no figure" in out
    bare = tmp_path / "bare.h5"
    with h5py.File(bare, "w") as f:
        f.create_group("snapshots"), f.create_group("stats")
        f.attrs["config"] = design.to_toml()
    assert main(["report", str(bare)]) == 0
    assert "0 snapshots" in capsys.readouterr().out
    assert main(["learn", str(cfg_path), "--resume", str(empty), "--quiet"]) == 0
    with h5py.File(empty) as f:
        assert f.attrs["complete"] and f["snapshots/t"].shape[0] == 4


def test_damaged_learning_file_is_found(tmp_path, capsys):
    """200 scribbled bytes in a snapshot's dictionary: report and --resume refuse the file,
    naming the damaged dataset (fletcher32 checksums), instead of reading wrong numbers."""
    cfg_path = _tiny_bars(tmp_path)
    out = tmp_path / "run.h5"
    assert main(["learn", str(cfg_path), "--out", str(out), "--quiet"]) == 0
    with h5py.File(out) as f:
        info = f["snapshots/dictionary"].id.get_chunk_info(2)
    data = bytearray(out.read_bytes())
    data[info.byte_offset + 100:info.byte_offset + 300] = os.urandom(200)
    out.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "dataset snapshots/dictionary is damaged" in err, err
    with h5py.File(out, "r+") as f:
        f.attrs["complete"] = False
    assert main(["learn", str(cfg_path), "--resume", str(out), "--quiet"]) == 2
    assert "--resume: expected an intact learning file" in capsys.readouterr().err


def test_our_errors_are_reported_as_ours(tmp_path, monkeypatch, capsys):
    """An unexpected error: one line saying it is a bug in circuit-sim, where the full
    traceback is, and how to report it (exit 1); never Brian2's 'report this issue' text,
    also after Brian2 was imported (it replaces sys.excepthook)."""
    import circuit_sim.cli as cli

    def broken(args):
        raise RuntimeError("something we did not expect")

    monkeypatch.setattr(cli, "cmd_report", broken)
    assert main(["report", "whatever.h5"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: something we did not expect" in err
    assert "bug in circuit-sim" in err and "Reporting a bug" in err and "Brian" not in err
    log = Path(err.split("traceback is in ")[1].split(".log")[0] + ".log")
    assert "RuntimeError" in log.read_text() and "Traceback" in log.read_text()


@pytest.mark.slow
def test_brian2_does_not_claim_our_errors():
    """Importing the circuit (Brian2 with it) leaves Python's excepthook in place: an
    uncaught error in a user's script is not presented as a Brian2 bug."""
    code = ("import circuit_sim.circuit.backends\n"
            "raise RuntimeError('boom')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "RuntimeError: boom" in r.stderr
    assert "Brian 2 encountered an unexpected error" not in r.stderr


@pytest.mark.slow
def test_ctrl_c_during_the_summary_or_plot_exits_130(tmp_path):
    """SIGINT while the figures are drawn (after the run): exit status 130, one line."""
    cfg = _toml(tmp_path, run={"duration": "0.2 us"})
    code = (f"import sys, time\n"
            f"import circuit_sim.results.inference as r\n"
            f"def slow(self, path):\n"
            f"    print('plotting', flush=True); time.sleep(30)\n"
            f"r.InferenceResult.plot = slow\n"
            f"from circuit_sim.cli import main\n"
            f"sys.exit(main(['infer', {str(cfg)!r}, '--out', {str(tmp_path / 'o.h5')!r}]))\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for line in p.stdout:
        if line.startswith("plotting"):
            break
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1] == "circuit-sim: interrupted"


# --------------------------------------------------------------------------- kills
def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    # os.listdir, not Path.glob: glob stats each entry, and a process that exits in between
    # raises ProcessLookupError from inside the glob (seen once in a full run)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path("/proc", name, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _named(pids, name: str) -> bool:
    """Whether one of ``pids`` is a running process called ``name``."""
    for p in pids:
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == name:
                return True
        except OSError:
            pass
    return False


def _alive(pids) -> list[int]:
    alive = []
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(p)
    return alive


def _learn(cfg: Path, out: Path, *extra, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "circuit_sim.cli", "learn", str(cfg), *extra,
                             "--progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=ROOT, env={**os.environ, **(env or {})}, start_new_session=True)


def _kill_when(p: subprocess.Popen, marker: str | None, delay: float, timeout=300) -> tuple[str, set]:
    """Read the run's output until ``marker`` appears (None: at once; ``"process NAME"``:
    until a descendant named NAME runs), wait ``delay`` s, SIGKILL the run (its process
    only) and return its output and its descendants then."""
    import select

    seen, t0, kids = b"", time.monotonic(), set()
    fd = p.stdout.fileno()
    deadline = None if marker is not None else time.monotonic() + delay
    while p.poll() is None and time.monotonic() - t0 < timeout:
        if select.select([fd], [], [], 0.005)[0]:  # often: a chunk's program lives ~20 ms
            seen += os.read(fd, 65536)
        now = _descendants(p.pid)
        kids |= now
        named = marker is not None and marker.startswith("process ")
        if deadline is None and (_named(now, marker[8:]) if named else marker.encode() in seen):
            deadline = time.monotonic() + delay
        # a "process" marker: kill once the delay is over and such a process runs again
        if (deadline is not None and time.monotonic() >= deadline
                and (not named or _named(now, marker[8:]))):
            break
    kids |= _descendants(p.pid)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, (p.returncode, seen[-2000:])  # killed, not done
    p.stdout.close()
    return seen.decode(errors="replace"), kids


def _snapshots(path: Path) -> dict:
    with h5py.File(path) as f:
        return {k: f[k][()] for k in ("snapshots/t", "snapshots/dictionary", "snapshots/u0",
                                      "stats/activity", "stats/reconstruction_error",
                                      "dictionary")}


def _snapshot_count(path: Path) -> int:
    """Snapshots a killed run left (0 when it died before writing the file or a snapshot)."""
    if not path.exists():
        return 0
    with h5py.File(path) as f:
        return f["snapshots/t"].shape[0] if "snapshots/t" in f else 0


def _resume_to_the_end(cfg: Path, out: Path, env=None) -> float:
    t0 = time.monotonic()
    args = ["--resume", str(out)] if out.exists() else ["--out", str(out)]
    r = subprocess.run([sys.executable, "-m", "circuit_sim.cli", "learn", str(cfg), *args,
                        "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=900,
                       env={**os.environ, **(env or {})})
    assert r.returncode == 0, r.stdout + r.stderr
    return time.monotonic() - t0


def _kill_all(tmp_path, cfg: Path, points, env=None) -> list[tuple]:
    """Kill a run at each point and resume it to the end: (name, children at the kill,
    those alive after it, snapshots kept, resume seconds, file)."""
    killed = []
    for k, (name, marker, delay, fault) in enumerate(points):
        out = tmp_path / f"killed_{k}.h5"
        p = _learn(cfg, out, "--out", str(out), env={**(env or {}), **(fault or {})})
        _, kids = _kill_when(p, marker, delay)
        time.sleep(1.5)  # the watchdogs notice the parent's death
        orphans = _alive(kids)
        for pid in orphans:  # leave nothing behind, whatever the assertion below says
            os.kill(pid, signal.SIGKILL)
        killed.append((name, len(kids), orphans, _snapshot_count(out), out))
    # resumed only after all the kills, so that each later kill meets the build cache the
    # earlier ones left (half-generated, half-compiled) as a user's next run would
    return [(name, n, orphans, kept, _resume_to_the_end(cfg, out, env), out)
            for name, n, orphans, kept, out in killed]


def _check(rows, reference: dict) -> None:
    for name, n_kids, orphans, kept, resumed, out in rows:
        got = _snapshots(out)
        for key, ref in reference.items():
            np.testing.assert_array_equal(got[key], ref, err_msg=f"{name}: {key}")
        assert not orphans, f"{name}: processes outlived the run: {orphans}"
        print(f"{name}: {n_kids} child processes at the kill, none left; {kept} snapshots "
              f"kept; resumed in {resumed:.1f} s; bit-identical")


@pytest.mark.slow
def test_kills_at_random_points_numpy(tmp_path):
    """numpy backend: SIGKILL at seeded random times and in the middle of an HDF5 update;
    every resumed run equals the uninterrupted one bit for bit."""
    cfg = _tiny_bars(tmp_path, n_patches=60)
    ref_path = tmp_path / "ref.h5"
    _resume_to_the_end(cfg, ref_path)
    rng = np.random.default_rng(14)
    points = [(f"random time {t:.1f} s after the first snapshot", "segment 1/", t, None)
              for t in rng.uniform(0.0, 3.0, 3)]
    points += [("inside the 3rd HDF5 update", None, 600, {"CIRCUIT_SIM_FAULT": "hdf5-write:3"}),
               ("before the first snapshot", None, 0.5, None)]
    _check(_kill_all(tmp_path, cfg, points), _snapshots(ref_path))


@pytest.mark.slow
def test_kills_at_random_points_standalone(tmp_path):
    """standalone backend, in a build cache of its own (so the first runs generate code and
    compile): SIGKILL during code generation, during compilation (the compiler's processes
    must die too), while the compiled program runs (it must die too) and inside an HDF5
    update; each run, resumed, equals an uninterrupted one bit for bit."""
    # 10 segments of 20 patches; a chunk (one run of the compiled program) every 50 ms of wall
    # time instead of 30 s, which cuts the run into chunks of 2, then 1 segment (the first
    # from the estimate, the others measured), so that a kill while the program runs falls
    # after a chunk was written, as in a long run. (With 4 segments the run could end before
    # the kill's delay once one program served every chunk length: each chunk then compiles
    # for about a second, no longer for several.)
    cfg = _tiny_bars(tmp_path, backend="standalone", n_patches=200, snapshot_every="1 us",
                     checkpoint_every="0.05 s")
    env = {"CIRCUIT_SIM_CACHE": str(tmp_path / "cache")}
    rng = np.random.default_rng(14)
    points = [("during code generation", "generating C++ code", 0.2, None),
              ("during compilation", "compiling", float(rng.uniform(1.0, 4.0)), None),
              ("while the program runs", "process main", float(rng.uniform(1.0, 4.0)), None),
              ("inside the 2nd HDF5 update", None, 600, {"CIRCUIT_SIM_FAULT": "hdf5-write:2"})]
    rows = _kill_all(tmp_path, cfg, points, env)
    # the chunks before the one killed are in the file: the loss is bounded by the chunk
    assert rows[2][3] > 0, "a kill while the program ran lost the earlier chunks"
    ref_path = tmp_path / "ref.h5"
    _resume_to_the_end(cfg, ref_path, env)
    _check(rows, _snapshots(ref_path))
