"""Crossbar wire resistance (IR drop): the conductances the two products really see.

The crossbar (``N`` rows, the residual nodes; ``M`` columns, the latent outputs) is a
resistive network: each wire has a resistance per cell pitch, ``R_row`` along a row and
``R_col`` along a column, the cell ``(i, j)`` is its conductance between the two wires at
their crossing. Column ``j`` is driven (forward read) or sensed (backward read) at its row-0
end through one segment; row ``i`` is sensed or driven at its column-0 end through one
segment; the far corner ``(N-1, M-1)`` is the farthest from both. Each read sees the ports
of the other side at virtual ground (the sense amplifiers), so the forward product is ``i_s =
G_eff vs`` and the backward one ``i_d = G_eff^T vr`` with the same ``G_eff``: the network is
reciprocal (its short-circuit port admittance is symmetric), so IR drop changes the
dictionary the circuit computes with, ``Phi_eff = G_eff / G_w``, and nothing else; the chip
samples the posterior of ``Phi_eff``.

``G_eff`` is solved exactly, once per chip (the weights are static): the Laplacian of the
``2 N M`` wire nodes (sparse LU, ``scipy.sparse.linalg.splu``) against the ``M`` column
drives. A signed weight is a differential cell: the positive and the negative parts are two
crossbars with the same wires, ``G_eff = G_eff(g+) - G_eff(g-)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu


def _laplacian(g: np.ndarray, r_row: float, r_col: float) -> sp.csc_matrix:
    """The nodal conductance matrix of the wire nodes (column wire ``a(i, j) = i M + j``,
    row wire ``b(i, j) = N M + i M + j``), the ports held at 0 V."""
    n, m = g.shape
    nm = n * m
    idx = np.arange(nm).reshape(n, m)
    a, b = idx, idx + nm
    gc, gr = 1.0 / r_col, 1.0 / r_row
    rows, cols, vals = [], [], []

    def edge(p, q, cond):
        cond = np.broadcast_to(cond, np.shape(p)).ravel()
        p, q = np.ravel(p), np.ravel(q)
        rows.extend([p, q, p, q])
        cols.extend([p, q, q, p])
        vals.extend([cond, cond, -cond, -cond])

    edge(a, b, g)                                       # the cells
    edge(a[:-1, :], a[1:, :], gc)                       # column wires
    edge(b[:, :-1], b[:, 1:], gr)                       # row wires
    diag = np.zeros(2 * nm)
    diag[a[0, :]] += gc                                 # column ports (driver / sense)
    diag[b[:, 0]] += gr                                 # row ports
    rows.append(np.arange(2 * nm))
    cols.append(np.arange(2 * nm))
    vals.append(diag)
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(2 * nm, 2 * nm))


def _transfer(g: np.ndarray, r_row: float, r_col: float) -> np.ndarray:
    """``G_eff`` (N, M) of one crossbar of conductances ``g >= 0``: column ``j`` at 1 V,
    every other port at 0 V, the currents into the row ports."""
    n, m = g.shape
    if not np.any(g):
        return np.zeros_like(g)
    lu = splu(_laplacian(g, r_row, r_col))
    rhs = np.zeros((2 * n * m, m))
    rhs[np.arange(m), np.arange(m)] = 1.0 / r_col       # a(0, j) driven through one segment
    v = lu.solve(rhs)
    return v[n * m + np.arange(n) * m, :] / r_row       # b(i, 0) into the row port


def effective_conductances(g, r_row: float, r_col: float) -> np.ndarray:
    """The conductances both crossbar products see with wire resistance (module docstring).

    Parameters
    ----------
    g : array_like, shape (N, M)
        Programmed cell conductances in S (signed: a differential cell).
    r_row, r_col : float
        Wire resistance per cell pitch along a row and along a column, in ohm (> 0).

    Returns
    -------
    numpy.ndarray, shape (N, M)
        ``G_eff`` in S; tends to ``g`` as the resistances go to 0.
    """
    g = np.asarray(g, dtype=float)
    return (_transfer(np.maximum(g, 0.0), r_row, r_col)
            - _transfer(np.maximum(-g, 0.0), r_row, r_col))


def relative_error(g, g_eff) -> float:
    """``|G_eff - g|_F / |g|_F``: how far IR drop moves the dictionary."""
    g = np.asarray(g, dtype=float)
    return float(np.linalg.norm(np.asarray(g_eff) - g) / np.linalg.norm(g))
