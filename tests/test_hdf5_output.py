"""The HDF5 file a run writes as it finishes: ``run_inference(cfg, out=path)``, which
``circuit-sim infer`` uses. The sample datasets are written at their offsets in the file on
a background thread (``os.pwrite``) while the figures of merit are computed; the file must
be the one :meth:`InferenceResult.to_hdf5` writes, value for value."""

import errno

import h5py
import numpy as np
import pytest

from circuit_sim import InferenceResult, run_inference
from circuit_sim.results import hdf5 as result_module

from ._configs import make_config


def _cfg():
    return make_config(circuit={"bias_current": "37 nA", "supply_voltage": "1 V"},
                       run={"duration": "1 us", "record_every": "2 ns"})


def _contents(path) -> dict:
    """Every dataset (values, dtype, units) and every attribute of a file, by path."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                     for k, v in obj.attrs.items()}
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype.str, obj.shape, obj[()].tobytes(), attrs)
            else:
                out[name] = attrs
        visit("/", f)
        f.visititems(visit)
    return out


def test_file_written_during_metrics_equals_to_hdf5(tmp_path):
    res = run_inference(_cfg(), out=tmp_path / "run.h5")
    res.to_hdf5(tmp_path / "again.h5")
    written, again = _contents(tmp_path / "run.h5"), _contents(tmp_path / "again.h5")
    assert set(written) == set(again)
    for name in written:
        assert written[name] == again[name], name
    with h5py.File(tmp_path / "run.h5") as f:
        assert f["v"].shape == (500, 2) and np.array_equal(f["v"][:], res.v)
        assert f["metrics"].attrs["energy_per_sample"] > 0


def test_samples_written_in_pieces_not_multiples_of_a_row(tmp_path, monkeypatch):
    # 1003-byte pwrite calls: 7 full pieces and a remainder of v's 8000 bytes, cut mid-float
    monkeypatch.setattr(result_module.BackgroundWriter, "CHUNK_BYTES", 1003)
    res = run_inference(_cfg(), out=tmp_path / "run.h5")
    with h5py.File(tmp_path / "run.h5") as f:
        for name in ("t", "u", "s", "v"):
            assert np.array_equal(f[name][:], getattr(res, name)), name


def test_a_failed_write_removes_the_file_and_raises(tmp_path, monkeypatch):
    def full_disk(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(result_module.os, "pwrite", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_inference(_cfg(), out=tmp_path / "run.h5")
    assert not (tmp_path / "run.h5").exists()


def test_failed_metrics_keep_the_samples_in_the_file(tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("metrics broke")

    monkeypatch.setattr(InferenceResult, "compute_metrics", broken)
    with pytest.raises(RuntimeError, match="metrics broke"):
        run_inference(_cfg(), out=tmp_path / "run.h5")
    with h5py.File(tmp_path / "run.h5") as f:
        assert f["v"].shape == (500, 2) and np.all(np.isfinite(f["v"][:]))
        np.testing.assert_allclose(f["v"][:] / 0.01, f["u"][:], rtol=1e-12)
        assert np.any(f["v"][:] != 0)
        assert "config" in f.attrs and len(f["metrics"].attrs) == 0
