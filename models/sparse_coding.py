"""The sparse-coding model: parameters, soft threshold, energy and its gradient.

Everything is dimensionless (SPEC section 2). Data ``x`` has shape ``(N,)``, the dictionary
``Phi`` has shape ``(N, M)`` (columns are atoms), latent potentials ``u`` have shape ``(..., M)``
and coefficients are ``s = h(u)``, a soft threshold of ``u``.

Laplace prior::

    E(u) = |x - Phi h(u)|^2 / (2 sigma^2) + lam * sum_i |u_i|

Gaussian prior (``u0 = 0``, ``h(u) = u``)::

    E(u) = |x - Phi u|^2 / (2 sigma^2) + sum_i u_i^2 / (2 prior_variance)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import constraints as v

__all__ = [
    "SparseCodingModel",
    "pi_from_u0",
    "u0_from_pi",
    "soft_threshold",
    "soft_threshold_derivative",
    "energy",
    "energy_gradient",
    "lambda_max",
    "max_stable_step",
    "zero_by_energy",
]

_PRIORS = ("laplace", "gaussian")


@dataclass(frozen=True, eq=False)
class SparseCodingModel:
    """Parameters of the sparse-coding model (immutable, validated on construction).

    Attributes
    ----------
    dictionary : numpy.ndarray, shape (N, M)
        Dictionary ``Phi``; columns are atoms. Stored as a read-only float64 copy.
    sigma : float
        Observation noise standard deviation, > 0.
    prior : {"laplace", "gaussian"}
        Prior on ``u``.
    lam : float
        Laplace rate, > 0 (used by the Laplace prior only).
    u0 : float
        Soft threshold, >= 0 (Laplace prior only; must be 0 for the Gaussian prior).
    positive : bool
        If True, ``s = max(|u| - u0, 0)`` (non-negative codes); else
        ``s = sign(u) max(|u| - u0, 0)``. Not allowed with the Gaussian prior.
    prior_variance : float
        Variance of the Gaussian prior on each ``u_i``, > 0 (Gaussian prior only).

    Notes
    -----
    Equality is identity (``eq=False``) because the dictionary is an array; use
    :func:`dataclasses.replace` to derive modified models (it re-validates).
    """

    dictionary: np.ndarray
    sigma: float
    prior: str = "laplace"
    lam: float = 1.0
    u0: float = 0.0
    positive: bool = False
    prior_variance: float = 1.0

    def __post_init__(self):
        phi = v.float_array("dictionary", self.dictionary, expected_shape="(N, M)", ndim=2)
        if phi.shape[0] < 1 or phi.shape[1] < 1:
            raise v.bad_input("dictionary", "a 2-D array of shape (N, M) with N, M >= 1",
                              f"shape {phi.shape}")
        phi = np.array(phi, dtype=np.float64, copy=True)
        phi.flags.writeable = False
        object.__setattr__(self, "dictionary", phi)
        object.__setattr__(self, "sigma", v.real_scalar("sigma", self.sigma, lower=0.0,
                                                        lower_inclusive=False))
        if not isinstance(self.prior, str) or self.prior not in _PRIORS:
            raise v.bad_input("prior", "one of 'laplace', 'gaussian'", repr(self.prior))
        object.__setattr__(self, "lam", v.real_scalar("lam", self.lam, lower=0.0,
                                                      lower_inclusive=False))
        object.__setattr__(self, "u0", v.real_scalar("u0", self.u0, lower=0.0))
        object.__setattr__(self, "positive", v.boolean("positive", self.positive))
        object.__setattr__(self, "prior_variance",
                           v.real_scalar("prior_variance", self.prior_variance, lower=0.0,
                                         lower_inclusive=False))
        if self.prior == "gaussian":
            if self.u0 != 0.0:
                raise v.bad_input("u0", "0 with the gaussian prior", repr(self.u0))
            if self.positive:
                raise v.bad_input("positive", "False with the gaussian prior", repr(self.positive))

    @property
    def n_features(self) -> int:
        """Number of data dimensions ``N``."""
        return self.dictionary.shape[0]

    @property
    def n_components(self) -> int:
        """Number of latent units ``M``."""
        return self.dictionary.shape[1]

    @property
    def pi(self) -> float:
        """Prior probability that a coefficient is nonzero: ``exp(-lam u0)`` (1.0 for gaussian)."""
        if self.prior == "gaussian":
            return 1.0
        return float(np.exp(-self.lam * self.u0))


def pi_from_u0(lam: float, u0: float) -> float:
    """Prior activity ``pi = P(s_i != 0) = exp(-lam * u0)``.

    Parameters
    ----------
    lam : float
        Laplace rate, > 0.
    u0 : float
        Soft threshold, >= 0.

    Returns
    -------
    float
        ``pi`` in (0, 1].
    """
    lam = v.real_scalar("lam", lam, lower=0.0, lower_inclusive=False)
    u0 = v.real_scalar("u0", u0, lower=0.0)
    return float(np.exp(-lam * u0))


def u0_from_pi(lam: float, pi: float) -> float:
    """Threshold giving prior activity ``pi``: ``u0 = -log(pi) / lam``.

    Parameters
    ----------
    lam : float
        Laplace rate, > 0.
    pi : float
        Prior activity in (0, 1].

    Returns
    -------
    float
        ``u0 >= 0``.
    """
    lam = v.real_scalar("lam", lam, lower=0.0, lower_inclusive=False)
    pi = v.real_scalar("pi", pi, lower=0.0, lower_inclusive=False, upper=1.0)
    return float(-np.log(pi) / lam) + 0.0  # + 0.0 turns -0.0 into 0.0


def _threshold_args(u, u0, positive):
    u = v.float_array("u", u, expected_shape="(...)", finite=False)
    if np.ndim(u0) == 0:
        u0 = v.real_scalar("u0", u0, lower=0.0)
    else:  # one threshold per sample / unit (learned thresholds), broadcast against u;
        # a learned threshold may cross 0, where h(u) = sign(u) (|u| - u0) still holds
        u0 = v.float_array("u0", u0, expected_shape="broadcastable to u's shape")
        try:
            ok = np.broadcast_shapes(u0.shape, u.shape) == u.shape
        except ValueError:
            ok = False
        if not ok:
            raise v.bad_input("u0", f"thresholds broadcastable to u's shape {u.shape}",
                              f"shape {u0.shape}")
    positive = v.boolean("positive", positive)
    return u, u0, positive


def _soft_threshold(u: np.ndarray, u0: float, positive: bool) -> np.ndarray:
    mag = np.abs(u, out=np.empty(np.shape(u)))  # one temporary, updated in place (long recordings: ~10^7 values)
    mag -= u0
    np.maximum(mag, 0.0, out=mag)
    return mag if positive else np.copysign(mag, u, out=mag)


def _soft_threshold_derivative(u: np.ndarray, u0: float, positive: bool) -> np.ndarray:
    active = (np.abs(u) > u0).astype(np.float64)
    return np.sign(u) * active if positive else active


def soft_threshold(u, u0: float, positive: bool = False):
    """Soft threshold ``s = h(u)``, elementwise.

    Parameters
    ----------
    u : array_like, any shape
        Potentials.
    u0 : float or array_like
        Threshold, >= 0; an array broadcastable to ``u`` gives every element its own
        threshold (learned thresholds recorded with the samples, ``(K, M)``; any finite
        values).
    positive : bool
        If True ``h(u) = max(|u| - u0, 0)``; else ``h(u) = sign(u) max(|u| - u0, 0)``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``u`` (a numpy scalar for scalar input).
    """
    u, u0, positive = _threshold_args(u, u0, positive)
    return _soft_threshold(u, u0, positive)[()]


def zero_by_energy(s, x, phi, sigma: float, lam: float) -> np.ndarray:
    """Set to zero every coefficient whose removal does not raise the L1 energy.

    For the L1 model (``u0 = 0``, ``s = u`` or ``|u|``) the zero-temperature flow has no dead
    zone: a unit whose likelihood drive is below ``lam`` slides along ``u = 0``, and a
    discrete step renders that sliding mode as chatter of size about ``h * lam`` around 0,
    never exactly 0. This finds those units exactly. With the other coefficients held, removing
    ``s_i`` changes ``E = |x - Phi s|^2 / (2 sigma^2) + lam |s|_1`` by

    ``dE_i = (2 s_i phi_i . r + s_i^2 |phi_i|^2) / (2 sigma^2) - lam |s_i|``,  ``r = x - Phi s``,

    and the coefficient is zeroed when ``dE_i <= 0`` (every ``i`` judged against the same
    ``s``). At a true L1 minimum an active coefficient has ``phi_i . r / sigma^2 = lam
    sign(s_i)``, so ``dE_i = s_i^2 |phi_i|^2 / (2 sigma^2) > 0`` and it is kept.

    Parameters
    ----------
    s : array_like, shape (K, M) or (M,)
        Coefficients (dimensionless).
    x : array_like, shape (K, N) or (N,)
        The inputs the coefficients explain.
    phi : array_like, shape (N, M)
        Dictionary.
    sigma, lam : float
        Noise standard deviation and the prior's rate (> 0).

    Returns
    -------
    numpy.ndarray
        ``s`` with the zeroed coefficients, same shape.
    """
    sigma = v.real_scalar("sigma", sigma, lower=0, lower_inclusive=False)
    lam = v.real_scalar("lam", lam, lower=0, lower_inclusive=False)
    s = np.asarray(s, dtype=float)
    x = np.asarray(x, dtype=float)
    phi = np.asarray(phi, dtype=float)
    s2, x2 = np.atleast_2d(s), np.atleast_2d(x)
    if s2.shape[0] != x2.shape[0] or phi.shape != (x2.shape[1], s2.shape[1]):
        raise v.bad_input("s, x, phi", "shapes (K, M), (K, N), (N, M)",
                          f"s {s.shape}, x {x.shape}, phi {phi.shape}")
    r = x2 - s2 @ phi.T
    drive = r @ phi  # (K, M): phi_i . r
    d_e = (2 * s2 * drive + s2**2 * np.sum(phi**2, axis=0)) / (2 * sigma**2) - lam * np.abs(s2)
    out = np.where(d_e <= 0, 0.0, s2)
    return out.reshape(s.shape)


def soft_threshold_derivative(u, u0: float, positive: bool = False):
    """Derivative ``h'(u)`` of the soft threshold, elementwise.

    ``1[|u| > u0]``, times ``sign(u)`` when ``positive``; 0 at the kinks ``|u| = u0``.

    Parameters
    ----------
    u : array_like, any shape
    u0 : float
        Threshold, >= 0.
    positive : bool

    Returns
    -------
    numpy.ndarray
        Same shape as ``u``.
    """
    u, u0, positive = _threshold_args(u, u0, positive)
    return _soft_threshold_derivative(u, u0, positive)[()]


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def smooth_soft_threshold(u, u0: float, width: float, positive: bool = False):
    """The soft threshold made by two comparators of finite gain: ``h_w`` and ``h_w'``.

    One comparator fires for ``u > u0``, the other for ``u < -u0``; with a finite gain each
    output is a sigmoid of width ``w``, ``g_+ = sigmoid((u - u0) / w)`` and ``g_- =
    sigmoid((-u - u0) / w)``, and each rectifier passes the integral of its gate::

        h_w(u)  = w [softplus((u - u0) / w) - softplus((-u - u0) / w)],   h_w' = g_+ + g_-
        positive: w [softplus((u - u0) / w) + softplus((-u - u0) / w)],   h_w' = g_+ - g_-

    with ``softplus(z) = log(1 + e^z)``. ``h_w'`` is the exact derivative of ``h_w``, so
    the Langevin flow on ``E_w(u) = |x - Phi h_w(u)|^2 / (2 sigma^2) + lam |u|_1`` samples
    ``exp(-E_w)``; ``h_w`` is smooth everywhere, and ``w -> 0`` gives :func:`soft_threshold`
    and :func:`soft_threshold_derivative` (the largest difference, ``w log 2``, at
    ``|u| = u0``). Codes are never exactly zero: in the dead zone ``|h_w| <= 2 w e^(-u0/w)``.

    Parameters
    ----------
    u : array_like, any shape
        Potentials.
    u0 : float
        Threshold, >= 0.
    width : float
        ``w > 0``, dimensionless (the comparator's transition width over ``V_u``).
    positive : bool

    Returns
    -------
    s, ds_du : numpy.ndarray
        ``h_w(u)`` and ``h_w'(u)``, each the shape of ``u``.
    """
    u, u0, positive = _threshold_args(u, u0, positive)
    w = v.real_scalar("width", width, lower=0.0, lower_inclusive=False)
    zp, zm = (u - u0) / w, (-u - u0) / w
    gp, gm = 0.5 * (1.0 + np.tanh(0.5 * zp)), 0.5 * (1.0 + np.tanh(0.5 * zm))
    if positive:
        return (w * (_softplus(zp) + _softplus(zm)))[()], (gp - gm)[()]
    return (w * (_softplus(zp) - _softplus(zm)))[()], (gp + gm)[()]


# --------------------------------------------------------------------------------------------
# energy and gradient
# --------------------------------------------------------------------------------------------

def _check_x(model: SparseCodingModel, x) -> np.ndarray:
    return v.float_array("x", x, expected_shape=f"(N,) = ({model.n_features},)",
                         shape=(model.n_features,))


def _check_u(model: SparseCodingModel, u, field: str = "u") -> np.ndarray:
    return v.float_array(field, u, expected_shape=f"(..., M) with M = {model.n_components}",
                         min_ndim=1, last_dim=model.n_components)


def _check_model(model) -> SparseCodingModel:
    if not isinstance(model, SparseCodingModel):
        raise v.bad_input("model", "a SparseCodingModel", type(model).__name__)
    return model


def _coefficients(model: SparseCodingModel, u: np.ndarray) -> np.ndarray:
    if model.prior == "gaussian":
        return u
    return _soft_threshold(u, model.u0, model.positive)


def _prior_energy(model: SparseCodingModel, u: np.ndarray) -> np.ndarray:
    if model.prior == "gaussian":
        return np.sum(u * u, axis=-1) / (2.0 * model.prior_variance)
    return model.lam * np.sum(np.abs(u), axis=-1)


def _prior_gradient(model: SparseCodingModel, u: np.ndarray) -> np.ndarray:
    if model.prior == "gaussian":
        return u / model.prior_variance
    return model.lam * np.sign(u)


def gram_terms(model: SparseCodingModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precompute ``G = Phi^T Phi`` (M, M) and ``b = Phi^T x`` (M,) for fast batched evaluation.

    ``x`` must already be validated.
    """
    phi = model.dictionary
    return phi.T @ phi, phi.T @ x


def gradient_from_gram(model: SparseCodingModel, u: np.ndarray, gram: np.ndarray,
                       b: np.ndarray) -> np.ndarray:
    """Energy gradient of a batch ``u`` (..., M) using ``G`` and ``b`` from :func:`gram_terms`.

    ``Phi^T (x - Phi h(u)) = b - h(u) G`` (G symmetric): one matrix product per call.
    """
    s = _coefficients(model, u)
    drive = (b - s @ gram) / model.sigma ** 2
    if model.prior == "gaussian":
        return -drive + u / model.prior_variance
    return -_soft_threshold_derivative(u, model.u0, model.positive) * drive + model.lam * np.sign(u)


def energy_from_gram(model: SparseCodingModel, u: np.ndarray, gram: np.ndarray, b: np.ndarray,
                     xx: float) -> np.ndarray:
    """Energy of a batch ``u`` (..., M) from ``G``, ``b`` and ``xx = |x|^2``.

    ``|x - Phi s|^2 = xx - 2 s.b + s G s``.
    """
    s = _coefficients(model, u)
    quad = xx - 2.0 * (s @ b) + np.sum((s @ gram) * s, axis=-1)
    return quad / (2.0 * model.sigma ** 2) + _prior_energy(model, u)


def energy(model: SparseCodingModel, u, x) -> np.ndarray:
    """Energy (negative log posterior of ``u`` up to a constant).

    Parameters
    ----------
    model : SparseCodingModel
    u : array_like, shape (..., M)
        Potentials (a batch of any leading shape).
    x : array_like, shape (N,)
        Data vector.

    Returns
    -------
    numpy.ndarray, shape (...)
        Laplace: ``|x - Phi h(u)|^2/(2 sigma^2) + lam sum|u_i|``;
        Gaussian: ``|x - Phi u|^2/(2 sigma^2) + sum u_i^2/(2 prior_variance)``.
    """
    model = _check_model(model)
    x = _check_x(model, x)
    u = _check_u(model, u)
    s = _coefficients(model, u)
    r = x - s @ model.dictionary.T
    return np.sum(r * r, axis=-1) / (2.0 * model.sigma ** 2) + _prior_energy(model, u)


def energy_gradient(model: SparseCodingModel, u, x) -> np.ndarray:
    """Gradient of :func:`energy` with respect to ``u``.

    Parameters
    ----------
    model : SparseCodingModel
    u : array_like, shape (..., M)
    x : array_like, shape (N,)

    Returns
    -------
    numpy.ndarray, shape (..., M)
        Laplace: ``-h'(u) * [Phi^T (x - Phi h(u))] / sigma^2 + lam sign(u)`` with
        ``sign(0) = 0`` and ``h'`` from :func:`soft_threshold_derivative`;
        Gaussian: ``-Phi^T (x - Phi u) / sigma^2 + u / prior_variance``.
    """
    model = _check_model(model)
    x = _check_x(model, x)
    u = _check_u(model, u)
    s = _coefficients(model, u)
    drive = ((x - s @ model.dictionary.T) @ model.dictionary) / model.sigma ** 2
    if model.prior == "gaussian":
        return -drive + u / model.prior_variance
    return (-_soft_threshold_derivative(u, model.u0, model.positive) * drive
            + model.lam * np.sign(u))


def lambda_max(model: SparseCodingModel) -> float:
    """Largest curvature of the energy: top eigenvalue of ``Phi^T Phi / sigma^2``.

    Plus ``1 / prior_variance`` for the Gaussian prior (the Laplace prior adds no curvature).

    Parameters
    ----------
    model : SparseCodingModel

    Returns
    -------
    float
    """
    model = _check_model(model)
    phi = model.dictionary
    small = phi @ phi.T if phi.shape[0] < phi.shape[1] else phi.T @ phi
    top = float(np.linalg.eigvalsh(small)[-1]) / model.sigma ** 2
    if model.prior == "gaussian":
        top += 1.0 / model.prior_variance
    return top


def max_stable_step(model: SparseCodingModel) -> float:
    """Euler-Maruyama stability limit on ``h = dt / tau_u``: ``2 / lambda_max(model)``.

    Parameters
    ----------
    model : SparseCodingModel

    Returns
    -------
    float
    """
    return 2.0 / lambda_max(model)
