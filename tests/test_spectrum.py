"""A cell's noise spectrum as it is (``kind = "measured"`` with ``spectrum_f`` /
``spectrum_psd``, issue 17 item 4(a)): the fit of white, low-pass and high-pass Lorentzian
components follows a spectrum with a non-1/f slope, a notch and a rising floor, and the Brian2
node driven by it has the variance and the PSD the fitted spectrum predicts."""

import math

import numpy as np
import pytest
from scipy.signal import welch

import models
from circuit_sim import run_inference
from circuit_sim.errors import ConfigError
from noise import SpectrumNoise

from ._configs import make_config

F = np.logspace(0, 9, 91)


def _ota_like(s0=2e-24, fc=1e6, alpha=0.85, f_notch=10e6):
    """A spectrum shaped like the sky130 OTA's: flicker falling as f^-alpha, a notch to half
    the floor near ``f_notch`` and the floor back above it (A^2/Hz)."""
    notch = 0.5 * np.exp(-np.log(F / f_notch) ** 2 / (2 * 0.6 ** 2))
    return s0 * ((fc / F) ** alpha + 1.0 - notch)


def test_spectrum_fit_follows_an_ota_like_spectrum():
    s = _ota_like()
    sp = SpectrumNoise(F, s, 250.0, 50e6)
    assert sp.max_deviation(2.5e3, 25e6) < 0.1          # measured 4.6% (a sharp notch)
    # the two-parameter summary is far off over the same band
    f = np.logspace(math.log10(2.5e3), math.log10(25e6), 200)
    two = 2e-24 * (1 + 1e6 / f)
    assert np.max(np.abs(two / sp.data(f) - 1)) > 0.3
    lp_tau, lp_sd = sp.ou_bank()
    hp_tau, hp_a = sp.highpass()
    assert len(hp_tau) > 0 and np.all(lp_sd > 0) and np.all(hp_a > 0)   # all realisable
    # a flat spectrum is its white part alone
    flat = SpectrumNoise(F, np.full(F.size, 3e-26), 10.0, 1e8)
    assert flat.white_psd == pytest.approx(3e-26, rel=1e-9)
    assert flat.equivalent_psd(1e-8) == pytest.approx(3e-26, rel=1e-6)


def test_spectrum_config_and_budget():
    s = _ota_like()
    cfg = make_config(noise=[{"kind": "measured", "spectrum_f": F.tolist(),
                              "spectrum_psd": s.tolist(), "f_min": "100 kHz"}],
                      model={"prior": "gaussian", "pi": None})
    d = cfg.design
    (src,) = d.noise.sources
    assert isinstance(src, SpectrumNoise) and src.f_lo == pytest.approx(1e5)
    assert src.f_hi == pytest.approx(2 * 1e-6 / (4 * 10e-15))          # twice G_m / (4 C)
    (entry,) = d.noise.budget.entries
    assert entry.T_eff == pytest.approx(src.equivalent_psd(1e-8) / 4e-24, rel=1e-12)
    with pytest.raises(ConfigError, match=r"noise\[0\]\.spectrum_psd: expected spectrum_f"):
        make_config(noise=[{"kind": "measured", "spectrum_f": F.tolist()}])
    with pytest.raises(ConfigError, match=r"noise\[0\]\.white_psd: expected no white_psd"):
        make_config(noise=[{"kind": "measured", "spectrum_f": F.tolist(),
                            "spectrum_psd": s.tolist(), "white_psd": "1e-26 A^2/Hz"}])
    with pytest.raises(ConfigError, match=r"noise\[0\]\.spectrum_f: expected a list of >= 8"):
        make_config(noise=[{"kind": "measured", "spectrum_f": [1, 2, 3],
                            "spectrum_psd": [1e-26] * 3}])
    with pytest.raises(ConfigError, match=r"noise\[0\]: expected a spectrum this node can "
                                          r"realise.*increasing frequencies"):
        make_config(noise=[{"kind": "measured", "spectrum_f": F[::-1].tolist(),
                            "spectrum_psd": s.tolist()}])


def _node_config(**run):
    """1 latent, Gaussian prior, A = phi^2/sigma^2 + 1/var = 2 (lambda = 2), tau_u = 10 ns,
    driven by the OTA-like spectrum alone (f_min 100 kHz: every component is fast against
    the 400 us run)."""
    s = _ota_like()
    return make_config(model={"n_features": 1, "n_components": 1, "prior": "gaussian",
                              "pi": None, "sigma": 1.0, "dictionary": [[1.0]]},
                       input={"x": [0.0]},
                       noise=[{"kind": "measured", "spectrum_f": F.tolist(),
                               "spectrum_psd": s.tolist(), "f_min": "100 kHz"}],
                       run={"duration": "400 us", "dt": "0.05 ns", "record_every": "0.25 ns",
                            "integrator": "euler", "backend": "standalone", **run})


def _predicted_psd_u(src, f, lam=2.0, tau_u=1e-8, scale=1e-6 * 1e-2):
    """One-sided PSD of u: S_I(f) / (G_m V_u)^2 / (lam^2 + (2 pi f tau_u)^2) (1/Hz)."""
    return src.psd(f) / scale**2 / (lam**2 + (2 * np.pi * f * tau_u) ** 2)


@pytest.mark.slow
def test_node_driven_by_the_spectrum_has_its_variance_and_psd():
    """var(u) within 4 SE of the integral of the predicted PSD of u (the fitted spectrum
    through the node); Welch's PSD of u within 4 of its standard errors of the prediction in
    each of 8 log-spaced bands from 0.3 to 100 MHz (u sampled every 0.25 ns: at 1 ns the
    node's PSD above the Nyquist frequency folds back, +2% at 100 MHz). The SE of a band: K
    Hann segments at 50% overlap (variance 1.06 / K per bin) and bins correlated over the
    window's noise bandwidth of 1.5 bins."""
    cfg = _node_config()
    (src,) = cfg.design.noise.sources
    res = run_inference(cfg)
    u = res.kept(res.u)[:, 0]
    f_all = np.logspace(0, 11, 20001)
    var_pred = np.trapezoid(_predicted_psd_u(src, f_all), f_all)
    q = (u - u.mean()) ** 2
    var_hat, se = models.mean_and_standard_error(q)
    assert abs(var_hat - var_pred) < 4 * se, (var_hat, var_pred, se)
    f, p = welch(u, fs=4e9, nperseg=32768)
    k = 2 * len(u) // 32768 - 1
    edges = np.logspace(math.log10(3e5), math.log10(1e8), 9)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (f >= lo) & (f < hi)
        ratio = np.mean(p[sel] / _predicted_psd_u(src, f[sel]))
        se_band = math.sqrt(1.06 * 1.5 / (k * sel.sum()))
        assert abs(ratio - 1) < 4 * se_band, (lo, hi, ratio, se_band)
