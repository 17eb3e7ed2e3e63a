"""Is a dictionary atom a localised, oriented, band-pass edge? Three measures and a criterion
that a Gaussian blob, a smooth ramp and a random whitened data patch all fail.

For a square atom (``p x p`` pixels, flattened row-major), mean removed:

* **spectral peak** ``f_peak`` (cycles/pixel): the radial frequency of the maximum of its power
  spectrum, computed on a 16x zero-padded grid (so the peak is located to ``1 / (16 p)``). A
  blob or a ramp peaks at the lowest frequencies; an edge or Gabor at its carrier frequency.
* **orientation selectivity** ``osi`` in [0, 1]: ``|sum P(k) e^{2 i theta_k}| / sum P(k)`` over
  the padded spectrum without DC (the length of the mean doubled-angle vector): 0 for an
  isotropic pattern (a blob), near 1 for a single orientation (an edge, a grating, a ramp).
* **extent** ``area`` in (0, 1]: the participation ratio ``(sum e)^2 / (p^2 sum e^2)`` of the
  atom's energy ``e`` smoothed over 3x3 pixels: the fraction of the patch its energy covers
  (0.87 for a grating over the whole patch, 0.8 for white noise; 0.4 for a Gabor with an
  envelope of 1.5 px, 0.64 at 2.5 px).

An atom is **edge-like** when ``f_peak >= 0.15`` (band-pass), ``osi >= 0.5`` (oriented) and
``area <= 0.65`` (localised). The thresholds are set on synthetic shapes, not on learned
dictionaries (``tests/test_atoms.py``): Gabors with wavelengths of 3-6 px, envelopes of
1.5-2.5 px and any orientation and phase pass (an envelope of 1 px is nearly isotropic, one
of 3 px fills an 8 px patch); Gaussian blobs, ramps, full-patch gratings and white noise
fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter

#: The criterion's thresholds (see the module docstring).
MIN_PEAK_FREQUENCY = 0.15   # cycles / pixel
MIN_ORIENTATION = 0.5
MAX_AREA = 0.65
PAD = 16


@dataclass(frozen=True)
class AtomShapes:
    """Per-atom measures of a dictionary (arrays of shape (M,))."""

    peak_frequency: np.ndarray
    orientation: np.ndarray
    area: np.ndarray

    @property
    def band_pass(self) -> np.ndarray:
        return self.peak_frequency >= MIN_PEAK_FREQUENCY

    @property
    def oriented(self) -> np.ndarray:
        return self.orientation >= MIN_ORIENTATION

    @property
    def localised(self) -> np.ndarray:
        return self.area <= MAX_AREA

    @property
    def edge_like(self) -> np.ndarray:
        return self.band_pass & self.oriented & self.localised

    def summary(self) -> dict:
        """Medians of the measures and the fractions meeting each part of the criterion."""
        return {"median_peak_frequency": float(np.median(self.peak_frequency)),
                "median_orientation": float(np.median(self.orientation)),
                "median_area": float(np.median(self.area)),
                "band_pass": float(np.mean(self.band_pass)),
                "oriented": float(np.mean(self.oriented)),
                "localised": float(np.mean(self.localised)),
                "band_pass_and_oriented": float(np.mean(self.band_pass & self.oriented)),
                "edge_like": float(np.mean(self.edge_like)), "n_atoms": int(len(self.area))}


def _spectrum_grid(p: int) -> tuple[np.ndarray, np.ndarray]:
    n = PAD * p
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    return np.hypot(fx, fy), np.arctan2(fy, fx)


def atom_shapes(dictionary: np.ndarray) -> AtomShapes:
    """The three measures of every atom (column) of ``dictionary`` (p*p, M)."""
    d = np.asarray(dictionary, dtype=float)
    n_pix, m = d.shape
    p = int(round(np.sqrt(n_pix)))
    if p * p != n_pix:
        raise ValueError(f"dictionary: expected square atoms (p*p rows), got {n_pix} rows")
    f, theta = _spectrum_grid(p)
    nonzero = f > 0
    rot = np.exp(2j * theta[nonzero])
    peak, osi, area = np.empty(m), np.empty(m), np.empty(m)
    for j in range(m):
        atom = d[:, j].reshape(p, p)
        atom = atom - atom.mean()
        power = np.abs(np.fft.fft2(atom, s=(PAD * p, PAD * p))) ** 2
        if not np.any(power > 0):
            peak[j], osi[j], area[j] = 0.0, 0.0, 1.0
            continue
        peak[j] = f.flat[np.argmax(power)]
        pw = power[nonzero]
        osi[j] = np.abs(np.sum(pw * rot)) / np.sum(pw)
        e = uniform_filter(atom**2, size=3, mode="constant")
        area[j] = np.sum(e) ** 2 / (p * p * np.sum(e**2))
    return AtomShapes(peak, osi, area)


def tiles_from_figure(image: np.ndarray, n_tiles: int, p: int, *, origin=(1, 4),
                      pitch: float = 70.0, inner: tuple = (65.0, 66.0)) -> np.ndarray:
    """Read the atoms back from a rendered figure of ``n_tiles x n_tiles`` tiles of ``p x p``
    pixels (grey image, values in [0, 1]): tile ``(i, j)``'s pixel ``(r, c)`` is sampled at the
    centre of its block. The defaults fit ``figures_vh_learn_pi_dim_8_oc_4.png`` (560 x 560,
    tiles every 70 px, the first tile's inner area starting at row 1, column 4).

    Returns
    -------
    ndarray (p*p, n_tiles**2)
        The tiles as atoms (grey levels, each tile's mean removed).
    """
    out = np.empty((p * p, n_tiles * n_tiles))
    for i in range(n_tiles):
        for j in range(n_tiles):
            rows = origin[0] + pitch * i + (np.arange(p) + 0.5) * inner[0] / p
            cols = origin[1] + pitch * j + (np.arange(p) + 0.5) * inner[1] / p
            tile = image[np.ix_(rows.astype(int), cols.astype(int))]
            out[:, i * n_tiles + j] = (tile - tile.mean()).ravel()
    return out
