"""The standalone backend's data path: Brian2's generated loop and result files, patched
for speed (``circuit_sim.circuit.backends``), and the samples mapped from the program's files.

* ``network.cpp``: the per-step ``std::clock()`` read (a system call) moves after the loop;
* ``objects.cpp``: a recorded 2D array is written in blocks, not one ``write`` per row;
* results: ``v``, ``t`` are mapped from the program's files, which are unlinked at once, so
  a later run of the same cached project cannot change samples already returned.
"""

import pickle
from dataclasses import replace

import numpy as np
import pytest

from circuit_sim import run_inference
from circuit_sim.circuit import backends

from .test_trajectory import _noiseless

LOOP_START = "while(clock && clock->running()"


def _brian_network_cpp() -> str:
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    return CPPStandaloneCodeObject.templater.network(None, None,
                                                     maximum_run_time=None).cpp_file


def _loop_body(cpp: str) -> str:
    """From the ``while`` to its closing brace (the last one before the loop's epilogue)."""
    start = cpp.index(LOOP_START)
    return cpp[start:cpp.rindex("\n    }\n", start, cpp.index(backends._LOOP_END, start))]


def test_network_patch_reads_the_clock_once_after_the_loop():
    cpp = _brian_network_cpp()
    # Brian2 2.9 reads the clock twice per step in the loop: for the report (only when a
    # report callback is given) and unconditionally at the end of the step
    assert _loop_body(cpp).count("std::clock()") == 2
    patched = backends.network_source_without_step_clock(cpp)
    body = _loop_body(patched)
    assert body.count("std::clock()") == 1
    assert body.index("std::clock()") > body.index("if (report_func)")  # the report's own
    after = patched[patched.index(backends._LOOP_END) - 200:]
    assert "elapsed_realtime = (double)(current - start)" in after.split("_last_run_time")[0]
    # what is left of the text is Brian2's, line for line
    assert sorted(patched.split()) == sorted(cpp.split())
    with pytest.raises(ValueError, match="network.cpp"):  # not Brian2's text: refused
        backends.network_source_without_step_clock(patched)


def test_objects_patch_refuses_text_it_does_not_know():
    text = ("DynamicArray2D<double> _dynamic_array_m_v;\n"
            "for (int n=0; n<_dynamic_array_m_v.n; n++) { something_else(); }\n")
    with pytest.raises(ValueError, match="objects.cpp"):
        backends.objects_source_with_block_writes(text)
    assert backends.objects_source_with_block_writes("int x;\n") == "int x;\n"


def _gaussian(backend: str, n_steps: int = 301, u_init=None):
    cfg = _noiseless("gaussian", backend)
    run = replace(cfg.run, duration=n_steps * 0.4e-9)
    if u_init is not None:
        run = replace(run, u_init=tuple(u_init))
    return replace(cfg, run=run)


@pytest.mark.slow
def test_block_writes_keep_every_sample(tmp_path, monkeypatch):
    """Blocks of 80 bytes (2.5 rows of 4 doubles): full blocks and a remainder. The samples
    read back equal the numpy backend's, which never goes through these files."""
    monkeypatch.setattr(backends, "STANDALONE_WRITE_BLOCK_BYTES", 80)
    res = run_inference(_gaussian("standalone"), build_dir=str(tmp_path))
    assert "size_t(80)" in (tmp_path / "objects.cpp").read_text()
    body = _loop_body((tmp_path / "network.cpp").read_text())
    assert body.count("std::clock()") == 1
    assert res.run_time > 0  # the loop time is still measured, once, after the loop
    ref = run_inference(_gaussian("numpy"))
    assert res.v.shape == ref.v.shape == (301, 4)
    np.testing.assert_allclose(res.t, ref.t, rtol=0, atol=1e-20)
    np.testing.assert_allclose(res.u, ref.u, rtol=0, atol=1e-10)


@pytest.mark.slow
def test_mapped_samples_survive_the_next_run_of_the_same_project():
    """Both runs share one cached project (same structure): the second program writes its
    result files where the first one's were; the first result must not change."""
    first = run_inference(_gaussian("standalone"))
    kept = first.v.copy()
    second = run_inference(_gaussian("standalone", u_init=[-3.0, 2.0, 1.0, -1.0]))
    assert not np.allclose(second.v[:5], kept[:5])  # another trajectory was written
    np.testing.assert_array_equal(first.v, kept)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(first.v)), kept)
    first.v[0, 0] = 1.0  # a private (copy-on-write) mapping: writable, files untouched
    assert type(first.v) is np.ndarray


@pytest.mark.slow
def test_a_repeated_design_compiles_nothing(tmp_path, monkeypatch):
    """The second run of a design (another initial state) reuses the cached program: every
    object file and the binary keep their modification times. The long-run figures of the
    benchmarks rely on it; a generated text that changed between the runs (for instance
    code objects renamed ``..._1`` because the first run's were still alive) would rebuild."""
    monkeypatch.setenv("CIRCUIT_SIM_CACHE", str(tmp_path))
    first = run_inference(_gaussian("standalone"))
    (project,) = [p for p in (tmp_path / "standalone").iterdir() if p.is_dir()]
    built = {p.name: p.stat().st_mtime_ns for p in project.iterdir()
             if p.suffix == ".o" or p.name == "main"}
    assert "main" in built and len(built) > 3
    second = run_inference(_gaussian("standalone", u_init=[-3.0, 2.0, 1.0, -1.0]))
    assert {n: (project / n).stat().st_mtime_ns for n in built} == built
    assert not np.allclose(first.v[:5], second.v[:5])  # the new initial state was used
