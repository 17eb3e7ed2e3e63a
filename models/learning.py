"""Reference (numpy) integration of inference and learning running at the same time.

SPEC section 2, "Learning": on top of the Langevin dynamics of ``u``,

* dictionary:  ``tau_Phi dPhi/dt = (x - Phi s) s^T / sigma^2  - gamma Phi_j (|Phi_j|^2 - 1)``
  (the second term is an optional continuous-time column normalisation, per column ``j``);
* threshold:   ``tau_u0 du0_j/dt = -dE/du0_j = -h'(u_j) sign(u_j) [Phi^T r]_j / sigma^2``
  (the exact maximum-likelihood gradient: the prior on ``u`` does not depend on ``u0``,
  and ``ds_j/du0_j = -h'(u_j) sign(u_j)`` in both threshold variants); one threshold
  shared by all units follows the sum of these over ``j``.

All three are stepped together by one explicit Euler step from the same state, exactly as
the Brian2 circuit does (all quantities of step ``n`` are computed before any update), so
the deterministic (T = 0) trajectories of the two can be compared to round-off.
Times are in units of ``tau_u``: ``h = dt / tau_u``, ``tau_phi = tau_Phi / tau_u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import constraints as v
from .sparse_coding import SparseCodingModel, _soft_threshold, _soft_threshold_derivative

__all__ = ["LearningTrajectory", "learning_reference", "bars_dictionary", "bars_data"]


@dataclass(frozen=True)
class LearningTrajectory:
    """Recorded states of :func:`learning_reference` (before each recorded step's update).

    Attributes
    ----------
    u : ndarray (K, M)
    dictionary : ndarray (K, N, M)
    u0 : ndarray (K, M)
    """

    u: np.ndarray
    dictionary: np.ndarray
    u0: np.ndarray


def learning_reference(model: SparseCodingModel, x, u_init, *, n_steps: int, step: float,
                       tau_phi: float, tau_u0: float | None = None, normalise: float = 0.0,
                       temperature: float = 0.0, rng: np.random.Generator | None = None,
                       record_every: int = 1, dynamics: str = "langevin",
                       plasticity_every: int = 1,
                       threshold: str = "per_unit") -> LearningTrajectory:
    """Euler integration of inference + dictionary (+ threshold) learning, one chain.

    Parameters
    ----------
    model : SparseCodingModel
        Initial dictionary (N, M), ``sigma``, prior (``laplace``; ``gaussian`` learns Phi only).
    x : ndarray (N,) or (n_steps, N)
        Input, fixed or one row per step.
    u_init : ndarray (M,)
    n_steps : int
    step : float
        ``h = dt / tau_u``.
    tau_phi : float
        ``tau_Phi / tau_u``.
    tau_u0 : float or None
        ``tau_u0 / tau_u``; None keeps ``u0`` fixed.
    normalise : float
        ``gamma`` of the column normalisation term (0: off).
    temperature : float
        Sampler temperature (0: deterministic).
    rng : numpy.random.Generator, optional
        Needed when ``temperature > 0``.
    record_every : int
    dynamics : {"langevin", "map", "lca"}
        ``lca``: ``du = h (Phi^T r / sigma^2 - (u - s))`` (laplace prior only; with the
        positive threshold ``s = |ST(u)|`` the drive is multiplied by ``sign(u)``, as in the
        paper's LCA, so that a negative ``u`` is driven towards a larger ``s``; ``+1`` at
        ``u = 0``, where ``sign`` would hold a unit at rest for ever); ``map`` is
        ``langevin`` at temperature 0.
    plasticity_every : int
        ``K``: the dictionary takes one Euler step of size ``K h / tau_phi`` at the steps
        ``k = 0, K, 2K, ...`` (a multirate scheme; the threshold ``u0`` steps every step).
    threshold : {"per_unit", "shared"}
        ``per_unit``: each ``u0_j`` follows ``-dE/du0_j``; ``shared``: one threshold (every
        unit's ``u0_j`` moves by the same amount) following ``-sum_j dE/du0_j``.

    Returns
    -------
    LearningTrajectory
    """
    phi = np.array(model.dictionary, dtype=float)
    n, m = phi.shape
    plasticity_every = v.integer("plasticity_every", plasticity_every, lower=1)
    v.choice("threshold", threshold, ("per_unit", "shared"))
    x = np.asarray(x, dtype=float)
    xs = np.broadcast_to(x, (n_steps, n)) if x.ndim == 1 else x
    if xs.shape != (n_steps, n):
        raise v.bad_input("x", f"shape ({n},) or ({n_steps}, {n})", f"shape {x.shape}")
    u = np.array(u_init, dtype=float).reshape(m)
    u0 = np.full(m, float(model.u0))
    learn_u0 = tau_u0 is not None and model.prior != "gaussian"
    noise = np.sqrt(2.0 * temperature * step) if temperature > 0 else 0.0
    k_rec = n_steps // record_every
    rec_u, rec_phi, rec_u0 = np.empty((k_rec, m)), np.empty((k_rec, n, m)), np.empty((k_rec, m))
    for k in range(n_steps):
        if k % record_every == 0 and k // record_every < k_rec:
            j = k // record_every
            rec_u[j], rec_phi[j], rec_u0[j] = u, phi, u0
        force, dphi, du0 = learning_rates(model, phi, u, u0, xs[k], normalise=normalise,
                                          dynamics=dynamics, threshold=threshold)
        u = u + step * force
        if noise:
            u = u + noise * rng.standard_normal(m)
        if k % plasticity_every == 0:
            phi = phi + (plasticity_every * step / tau_phi) * dphi
        if learn_u0:
            u0 = u0 + (step / tau_u0) * du0
    return LearningTrajectory(rec_u, rec_phi, rec_u0)


def learning_rates(model: SparseCodingModel, phi: np.ndarray, u: np.ndarray, u0: np.ndarray,
                   x: np.ndarray, *, normalise: float = 0.0, dynamics: str = "langevin",
                   threshold: str = "per_unit") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three right-hand sides of one step of :func:`learning_reference`, from one state.

    Returns
    -------
    force : ndarray (M,)
        ``tau_u du/dt`` without the noise (``-dE/du``, or the LCA drive).
    dphi : ndarray (N, M)
        ``tau_Phi dPhi/dt``.
    du0 : ndarray (M,)
        ``tau_u0 du0/dt = -dE/du0`` (summed over units for a shared threshold).
    """
    m = phi.shape[1]
    gaussian = model.prior == "gaussian"
    if gaussian:
        s, hp = u, np.ones(m)
    else:
        s = _soft_threshold(u, u0, model.positive)
        hp = _soft_threshold_derivative(u, u0, model.positive)
    r = x - phi @ s
    drive = phi.T @ r / model.sigma ** 2
    if gaussian:
        force = drive - u / model.prior_variance
    elif dynamics == "lca":
        force = (np.where(u >= 0, drive, -drive) if model.positive else drive) - (u - s)
    else:
        force = hp * drive - model.lam * np.sign(u)
    dphi = np.outer(r, s) / model.sigma ** 2
    if normalise:
        dphi -= normalise * phi * (np.sum(phi**2, axis=0) - 1.0)
    du0 = np.zeros(m) if gaussian else -hp * np.sign(u) * drive
    if threshold == "shared":
        du0 = np.full(m, np.sum(du0))
    return force, dphi, du0


def bars_dictionary(size: int = 8) -> np.ndarray:
    """The bars dictionary: ``size`` horizontal then ``size`` vertical unit-norm bars.

    Returns
    -------
    ndarray (size*size, 2*size)
        Pixels flattened row-major (pixel ``(r, c)`` is row ``r * size + c``).
    """
    size = v.integer("size", size, lower=2)
    phi = np.zeros((size * size, 2 * size))
    img = np.zeros((size, size))
    for b in range(size):
        img[:] = 0
        img[b, :] = 1
        phi[:, b] = img.ravel()
        img[:] = 0
        img[:, b] = 1
        phi[:, size + b] = img.ravel()
    return phi / np.sqrt(size)


def bars_data(n_samples: int, rng: np.random.Generator, *, size: int = 8, pi: float = 0.3,
              lam: float = 1.0, sigma: float = 0.5, positive: bool = True
              ) -> tuple[np.ndarray, np.ndarray]:
    """Draw bars images ``x = Phi s + sigma * noise`` from the spike-and-slab model.

    Coefficients are Bernoulli(pi) times Exponential(lam) (``positive``) or Laplace(lam).

    Returns
    -------
    x : ndarray (n_samples, size*size)
    s : ndarray (n_samples, 2*size)
    """
    phi = bars_dictionary(size)
    m = phi.shape[1]
    active = rng.random((n_samples, m)) < pi
    mag = rng.exponential(1.0 / lam, size=(n_samples, m))
    if not positive:
        mag *= rng.choice([-1.0, 1.0], size=(n_samples, m))
    s = active * mag
    x = s @ phi.T + sigma * rng.standard_normal((n_samples, phi.shape[0]))
    return x, s
