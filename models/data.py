"""Synthetic dictionaries for tests and experiments."""

from __future__ import annotations

import numpy as np

from . import constraints as v

__all__ = ["random_dictionary"]


def random_dictionary(n_features: int, n_components: int, rng: np.random.Generator) -> np.ndarray:
    """Random dictionary with i.i.d. Gaussian entries and unit-norm columns.

    Parameters
    ----------
    n_features : int
        ``N`` >= 1 (rows).
    n_components : int
        ``M`` >= 1 (columns = atoms).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (N, M), float64
        Each column has Euclidean norm 1.
    """
    n = v.integer("n_features", n_features, lower=1)
    m = v.integer("n_components", n_components, lower=1)
    rng = v.generator("rng", rng)
    phi = rng.standard_normal((n, m))
    norms = np.linalg.norm(phi, axis=0)
    # a zero column has probability zero; guard anyway
    norms[norms == 0.0] = 1.0
    return phi / norms
