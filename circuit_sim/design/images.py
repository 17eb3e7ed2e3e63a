"""Natural-image patches: the photographs, their whitening, and the patch source.

Whitening (SPEC section 6). Olshausen & Field filter each image with ``|f| exp(-(|f| /
f0)^4)``, ``f0 = 200`` cycles per 512-pixel picture, i.e. **0.4 cycles/pixel** (0.8 of
Nyquist): the ``|f|`` part undoes an amplitude spectrum falling as ``1/f``, the exponential
removes the highest frequencies (noise, aliasing, the pixel grid). The photographs that
ship inside installed packages are smoother than natural scenes (amplitude spectra falling
as ``f^-0.95`` to ``f^-1.55``, and differently from one to the next), so ``|f|`` leaves
them red: their 8x8 patches kept about 60 times more power below 0.2 c/px than above 0.35.
Here the ``|f|`` is replaced by the inverse of each image's own amplitude spectrum ``A(f)``
(radially averaged, Hann-windowed):

    ``W(f) = exp(-(f / 0.4)^4) / A(f)``,   ``W(0) = 0``,

applied to the mean-subtracted image mirrored to twice its size (so the Fourier transform
sees no seam); each whitened image is then scaled to unit variance. Divided by the designed
roll-off ``exp(-2 (f / 0.4)^4)`` (power), the whitened images' radial power is flat to 3%
from 0.05 to 0.35 c/px, the 8x8 patches' to a factor of 1.6 (``tests/test_images.py``).

Images. By default the photographs of :data:`PHOTOS` (scikit-image and matplotlib wheels,
both dependencies; nothing is downloaded): people, an animal, objects and two outdoor
textures, 2.37 Mpixel. The faithful route is the user's own natural images given by
``input.path``: Olshausen's ``IMAGES.mat`` (10 whitened 512x512 images, used as they are),
or van Hateren's ``.iml`` / ``.imc`` files (1536x1024, 16-bit big-endian; a file or a
directory of them; log intensity, then whitened as above).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .. import seeds
from ..errors import ConfigError

#: The default photographs: (package, path inside it). Grey-scale versions are used.
PHOTOS = (("skimage", "data/camera.png"), ("skimage", "data/astronaut.png"),
          ("skimage", "data/chelsea.png"), ("skimage", "data/coffee.png"),
          ("skimage", "data/rocket.jpg"), ("skimage", "data/motorcycle_left.png"),
          ("skimage", "data/grass.png"), ("skimage", "data/gravel.png"),
          ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"))
#: O&F's roll-off, cycles per pixel.
CUTOFF = 0.4
#: Width of the radial frequency bins of the spectrum estimate, cycles per pixel.
BIN = 1.0 / 128
VAN_HATEREN_SHAPE = (1024, 1536)


def _package_file(package: str, rel: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / rel
    return p if p.is_file() else None


def grey(path: Path) -> np.ndarray:
    """A picture file as a grey float image in [0, 1] (luma of RGB). matplotlib reads PNGs as
    floats in [0, 1] and JPEGs as 8-bit integers: both end on the same scale."""
    import matplotlib.image as mpimg

    raw = np.asarray(mpimg.imread(path))
    img = raw.astype(float)
    if np.issubdtype(raw.dtype, np.integer):
        img /= float(np.iinfo(raw.dtype).max)
    if img.ndim == 3:
        img = img[..., :3] @ np.array([0.299, 0.587, 0.114])
    return img


def default_photos() -> list[tuple[str, np.ndarray]]:
    """``(name, grey image)`` of every available photograph of :data:`PHOTOS`."""
    out = []
    for package, rel in PHOTOS:
        p = _package_file(package, rel)
        if p is not None:
            out.append((f"{package}/{Path(rel).name}", grey(p)))
    if not out:
        raise ConfigError("input.path", "natural images: IMAGES.mat, van Hateren .iml/.imc "
                          "files, or scikit-image installed (its photographs are the default)",
                          None)
    return out


def radial_power(images, bin_width: float = BIN) -> tuple[np.ndarray, np.ndarray]:
    """The images' average radial power spectrum: ``(bin centres f (cycles/px), power)``.
    Each image is mean-subtracted, normalised to unit variance and Hann-windowed; every image
    weighs the same."""
    edges = np.arange(0.0, np.sqrt(0.5) + bin_width, bin_width)
    total, weight = np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    for img in images:
        a = np.asarray(img, dtype=float)
        a = (a - a.mean()) / (a.std() or 1.0)
        win = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
        power = np.abs(np.fft.fft2(a * win)) ** 2 / np.sum(win**2)
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(a.shape[0]), np.fft.fftfreq(a.shape[1]),
                                  indexing="ij"))
        idx = np.digitize(f.ravel(), edges) - 1
        ok = (idx >= 0) & (idx < len(total))
        s = np.bincount(idx[ok], power.ravel()[ok], len(total))
        n = np.bincount(idx[ok], minlength=len(total))
        total += np.where(n > 0, s / np.maximum(n, 1), 0.0)
        weight += n > 0
    return 0.5 * (edges[1:] + edges[:-1]), total / np.maximum(weight, 1)


def whitening_filter(f: np.ndarray, f_bins: np.ndarray, power: np.ndarray,
                     cutoff: float = CUTOFF) -> np.ndarray:
    """``exp(-(f / cutoff)^4) / A(f)`` with ``A = sqrt(power)`` interpolated in log-log between
    the bins (0 at f = 0)."""
    good = power > 0
    log_a = 0.5 * np.interp(np.log(np.maximum(f, f_bins[0])), np.log(f_bins[good]),
                            np.log(power[good]))
    w = np.exp(-(f / cutoff) ** 4 - log_a)
    return np.where(f > 0, w, 0.0)


def whiten(images, cutoff: float = CUTOFF) -> list[np.ndarray]:
    """Whiten each image by its own radial spectrum with O&F's roll-off (module docstring)."""
    out = []
    for img in (np.asarray(im, dtype=float) for im in images):
        f_bins, power = radial_power([img])
        a = img - img.mean()
        h, w = a.shape
        m = np.block([[a, a[:, ::-1]], [a[::-1, :], a[::-1, ::-1]]])  # mirrored: no seam
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(2 * h), np.fft.fftfreq(2 * w), indexing="ij"))
        filt = whitening_filter(f, f_bins, power, cutoff)
        out.append(np.real(np.fft.ifft2(np.fft.fft2(m) * filt))[:h, :w])
    return out


def patch_radial_power(x: np.ndarray, p: int, pad: int = 32,
                       bin_width: float = 1 / 32) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectrum of patches (rows of ``x``, ``p x p`` each): mean removed,
    Hann-windowed, zero-padded to ``pad``, averaged in radial bins of ``bin_width``
    cycles/pixel. Returns (bin centres, power)."""
    w = np.outer(np.hanning(p + 2)[1:-1], np.hanning(p + 2)[1:-1])
    patches = np.asarray(x, dtype=float).reshape(-1, p, p)
    patches = patches - patches.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(patches * w, s=(pad, pad))) ** 2).mean(0) / np.sum(w**2)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(pad), np.fft.fftfreq(pad), indexing="ij"))
    edges = np.arange(0, 0.5 + bin_width, bin_width)
    idx = np.digitize(f.ravel(), edges) - 1
    n = np.bincount(idx, minlength=len(edges))[:len(edges) - 1]
    s = np.bincount(idx, power.ravel(), len(edges))[:len(edges) - 1]
    return 0.5 * (edges[1:] + edges[:-1]), s / np.maximum(n, 1)


def random_patches(images, n: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` patches of ``p x p`` (rows) at random places clear of the borders."""
    out = np.empty((n, p * p))
    for k, w in enumerate(rng.integers(len(images), size=n)):
        im = images[w]
        r = rng.integers(p, im.shape[0] - 2 * p)
        c = rng.integers(p, im.shape[1] - 2 * p)
        out[k] = im[r:r + p, c:c + p].ravel()
    return out


def _van_hateren(path: Path) -> np.ndarray:
    raw = np.fromfile(path, dtype=">u2")
    if raw.size != VAN_HATEREN_SHAPE[0] * VAN_HATEREN_SHAPE[1]:
        raise ConfigError("input.path", f"a van Hateren image of {VAN_HATEREN_SHAPE[1]} x "
                          f"{VAN_HATEREN_SHAPE[0]} 16-bit pixels", f"{path} ({raw.size} values)")
    return np.log1p(raw.reshape(VAN_HATEREN_SHAPE).astype(float))


def _images_mat(p: Path) -> list[np.ndarray]:
    from scipy.io import loadmat

    try:
        arr = loadmat(p)["IMAGES"]
    except Exception as exc:  # scipy raises several kinds for a bad file
        raise ConfigError("input.path", "a MATLAB file with an array 'IMAGES' (H, W, K)",
                          f"{p} ({type(exc).__name__})") from None
    return [np.asarray(arr[..., k], dtype=float) for k in range(arr.shape[-1])]


def load_images(path: str | None) -> tuple[list[np.ndarray], list[str]]:
    """Whitened images (each of unit variance overall) and their names, from ``input.path``
    (see the module docstring) or the default photographs."""
    if path is None:
        named = default_photos()
        return whiten([im for _, im in named]), [n for n, _ in named]
    p = Path(path)
    if p.is_dir():
        files = sorted(q for q in p.iterdir() if q.suffix.lower() in (".iml", ".imc"))
        if not files:
            raise ConfigError("input.path", "a directory of van Hateren .iml / .imc files", str(p))
        return whiten([_van_hateren(q) for q in files]), [q.name for q in files]
    if not p.is_file():
        raise ConfigError("input.path", "an existing IMAGES.mat, van Hateren .iml/.imc file or "
                          "a directory of them", str(path))
    if p.suffix.lower() in (".iml", ".imc"):
        return whiten([_van_hateren(p)]), [p.name]
    images = _images_mat(p)  # already whitened by Olshausen
    return images, [f"{p.name}[{k}]" for k in range(len(images))]


class ImagesSource:
    """Whitened natural-image patches (``size`` x ``size``, flattened row-major), each image
    scaled to unit variance; patch positions drawn from the seed's ``data`` stream."""

    true_dictionary = None

    def __init__(self, size: int, seed: int, path: str | None = None):
        self.size, self.seed, self.n_features = size, seed, size * size
        images, names = load_images(path)
        keep = [k for k, im in enumerate(images) if min(im.shape) > 4 * size]
        if not keep:
            raise ConfigError("input.patch_size", "a patch size smaller than the images", size)
        self.names = [names[k] for k in keep]
        # each image to unit variance: photographs differ in exposure and contrast, and one
        # high-contrast picture would otherwise supply most of the patch energy
        self.images = [images[k] / (np.std(images[k]) or 1.0) for k in keep]

    def block(self, b: int) -> np.ndarray:
        """Patches ``b * BLOCK`` ... (the stream's block ``b``)."""
        from .streams import BLOCK as block

        return random_patches(self.images, block, self.size, seeds.rng(self.seed, "data", b))
