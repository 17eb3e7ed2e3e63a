"""Natural-image patches (circuit_sim.design.images): each photograph whitened by its own
spectrum with Olshausen & Field's roll-off at 0.4 cycles/pixel. The target spectrum is that
roll-off, exp(-2 (f / 0.4)^4) in power (0.31 at 0.35 c/px by design: the ideal O&F spectrum
itself is not flat to a factor of 2 up to 0.35), so flatness is judged after dividing it out:
within a factor of 2 from 0.05 to 0.35 c/px on the 8x8 patches the circuit sees (a
Hann-windowed estimate, which smooths over about 0.1 c/px), within 10% on the whole images.
O&F's |f| filter alone (the old whitening) leaves the patches falling by a factor of 20 or more.
"""

import numpy as np
import pytest

from circuit_sim.design.images import (ImagesSource, default_photos, load_images,
                                       patch_radial_power, radial_power)


def _flatness(x) -> float:
    f, pw = patch_radial_power(x, 8)
    band = (f >= 0.05) & (f <= 0.35)
    level = pw / np.exp(-2 * (f / 0.4) ** 4)
    return float(level[band].max() / level[band].min())


def test_whitened_patches_are_flat_from_005_to_035_cycles_per_pixel():
    src = ImagesSource(8, seed=1)
    x = np.vstack([src.block(b) for b in range(4)])
    assert len(src.names) >= 8
    assert _flatness(x) < 2.0
    f, pw = radial_power(src.images)
    band = (f >= 0.05) & (f <= 0.35)
    level = pw / np.exp(-2 * (f / 0.4) ** 4)
    assert level[band].max() / level[band].min() < 1.1
    assert np.var(x) == pytest.approx(1.0, rel=0.15)


def test_the_old_whitening_was_not_flat():
    """O&F's filter |f| exp(-(f / f0)^4) on these smooth photographs, with f0 at 0.2 c/px (the
    old code's reading of the SPEC): the check above fails by far."""
    ims = [im - im.mean() for _, im in default_photos()]
    rng = np.random.default_rng(0)
    rows = []
    for im in ims:
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(im.shape[0]), np.fft.fftfreq(im.shape[1]),
                                  indexing="ij"))
        w = np.real(np.fft.ifft2(np.fft.fft2(im) * f * np.exp(-(f / 0.2) ** 4)))
        for _ in range(400):
            r, c = rng.integers(8, w.shape[0] - 16), rng.integers(8, w.shape[1] - 16)
            rows.append(w[r:r + 8, c:c + 8].ravel())
    assert _flatness(np.array(rows)) > 20


def test_image_paths_are_checked(tmp_path):
    from circuit_sim import ConfigError

    with pytest.raises(ConfigError, match="input.path: expected an existing IMAGES.mat"):
        load_images(str(tmp_path / "none.mat"))
    with pytest.raises(ConfigError, match="input.path: expected a directory of van Hateren"):
        load_images(str(tmp_path))
    bad = tmp_path / "x.iml"
    bad.write_bytes(b"\x00\x01" * 10)
    with pytest.raises(ConfigError, match="input.path: expected a van Hateren image of 1536 x 1024"):
        load_images(str(bad))
    good = tmp_path / "imk00001.iml"
    rng = np.random.default_rng(0)
    good.write_bytes(rng.integers(100, 4000, size=1024 * 1536).astype(">u2").tobytes())
    images, names = load_images(str(tmp_path / "imk00001.iml"))
    assert names == ["imk00001.iml"] and images[0].shape == (1024, 1536)
