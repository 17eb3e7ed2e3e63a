"""Dimensionless Bayesian sparse-coding model, exact posteriors and reference samplers.

Imports only numpy and scipy (never brian2). See SPEC section 2. :mod:`models.constraints`
is the project's one parameter validator (``noise`` and ``circuit_sim`` use it too).
"""

from .data import random_dictionary
from .diagnostics import (bin_effective_sizes, bin_labels, code_edges, code_total_variation,
                          effective_sample_size, expected_total_variation,
                          integrated_autocorrelation_time, mean_and_standard_error,
                          split_r_hat)
from .exact import (GridPosterior, gaussian_posterior, gaussian_precision, grid_posterior,
                    s_bin_probabilities, s_total_variation, total_variation,
                    temperature_series, u_bin_probabilities, u_total_variation)
from .gibbs import gibbs_spike_and_slab, u_from_s
from .learning import (LearningTrajectory, bars_data, bars_dictionary, learning_rates,
                       learning_reference)
from .samplers import euler_maruyama, langevin_drift, map_descent, mala
from .sparse_coding import (SparseCodingModel, energy, energy_gradient, lambda_max,
                            max_stable_step, pi_from_u0, smooth_soft_threshold, soft_threshold,
                            soft_threshold_derivative, u0_from_pi, zero_by_energy)

__all__ = [
    "LearningTrajectory",
    "split_r_hat",
    "learning_reference",
    "learning_rates",
    "bars_dictionary",
    "bars_data",
    "SparseCodingModel",
    "pi_from_u0",
    "u0_from_pi",
    "smooth_soft_threshold",
    "soft_threshold",
    "soft_threshold_derivative",
    "zero_by_energy",
    "energy",
    "energy_gradient",
    "lambda_max",
    "max_stable_step",
    "gaussian_posterior",
    "gaussian_precision",
    "temperature_series",
    "GridPosterior",
    "grid_posterior",
    "total_variation",
    "s_total_variation",
    "u_total_variation",
    "s_bin_probabilities",
    "u_bin_probabilities",
    "langevin_drift",
    "euler_maruyama",
    "gibbs_spike_and_slab",
    "u_from_s",
    "mala",
    "map_descent",
    "integrated_autocorrelation_time",
    "effective_sample_size",
    "expected_total_variation",
    "mean_and_standard_error",
    "code_total_variation",
    "code_edges",
    "bin_labels",
    "bin_effective_sizes",
    "random_dictionary",
]
