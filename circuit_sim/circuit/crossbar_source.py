"""C++ source of the dense crossbar kernel (standalone): a pure function of the array
names Brian2 gives the synaptic state and of the sizes. See :mod:`.crossbar`. Its errors go
to the program's standard output (Brian2 keeps it in ``results/stdout.txt``) as lines starting
``circuit-sim``, which the run reports (:func:`circuit_sim.circuit.backends.program_errors`)."""

from __future__ import annotations

_TEMPLATE = """
static bool _crossbar_order_checked = false;
static int _crossbar_active[{m}];

static void _crossbar_check_order()
{{
    if (_crossbar_order_checked) return;
    const std::vector<int32_t>& pre = brian::{pre};
    const std::vector<int32_t>& post = brian::{post};
    if ((long)pre.size() != {nm}L) {{
        fprintf(stdout, "circuit-sim dense crossbar: expected {nm} synapses, found %ld\\n",
                (long)pre.size());
        fflush(stdout);
        exit(3);
    }}
    for (long k = 0; k < {nm}L; k++) {{
        if (pre[k] != k % {m} || post[k] != k / {m}) {{
            fprintf(stdout, "circuit-sim dense crossbar: synapse %ld is (%d, %d), expected "
                    "row-major order (%ld, %ld)\\n", k, pre[k], post[k], k % {m}, k / {m});
            fflush(stdout);
            exit(3);
        }}
    }}
    _crossbar_order_checked = true;
}}

// i_s[i] = V_u * sum_j g[i, j] s[j] over the active columns (s_j != 0)
static double crossbar_forward(double)
{{
    _crossbar_check_order();
    const double* __restrict g = &brian::{g}[0];
    const double* __restrict s = brian::{s};
    double* __restrict out = brian::{i_s};
    int n_active = 0;
    for (int j = 0; j < {m}; j++)
        if (s[j] != 0.0) _crossbar_active[n_active++] = j;
    if (2 * n_active > {m}) {{
        for (int i = 0; i < {n}; i++) {{
            const double* __restrict row = g + (long)i * {m};
            double acc = 0.0;
            for (int j = 0; j < {m}; j++) acc += row[j] * s[j];
            out[i] = {v_u} * acc;
        }}
    }} else {{
        for (int i = 0; i < {n}; i++) {{
            const double* __restrict row = g + (long)i * {m};
            double acc = 0.0;
            for (int a = 0; a < n_active; a++) {{ const int j = _crossbar_active[a]; acc += row[j] * s[j]; }}
            out[i] = {v_u} * acc;
        }}
    }}
    return 0.0;
}}

// i_d[j] = sum_i g[i, j] vr[i], only where h'(u_j) != 0 (the force ignores i_d elsewhere;
// not so for LCA, whose leaky dynamics read the drive of inactive units too: full_backward)
static double crossbar_backward(double)
{{
    const double* __restrict g = &brian::{g}[0];
    const double* __restrict vr = brian::{vr};
    const double* __restrict hp = brian::{hp};
    double* __restrict out = brian::{i_d};
    int n_active = 0;
    for (int j = 0; j < {m}; j++)
        if (hp[j] != 0.0) _crossbar_active[n_active++] = j;
    if ({full} || 2 * n_active > {m}) {{
        for (int j = 0; j < {m}; j++) out[j] = 0.0;
        for (int i = 0; i < {n}; i++) {{
            const double* __restrict row = g + (long)i * {m};
            const double r = vr[i];
            for (int j = 0; j < {m}; j++) out[j] += row[j] * r;
        }}
    }} else {{
        for (int a = 0; a < n_active; a++) out[_crossbar_active[a]] = 0.0;
        for (int i = 0; i < {n}; i++) {{
            const double* __restrict row = g + (long)i * {m};
            const double r = vr[i];
            for (int a = 0; a < n_active; a++) {{ const int j = _crossbar_active[a]; out[j] += row[j] * r; }}
        }}
    }}
    return 0.0;
}}
"""


def dense_kernel_cpp(names: dict, n: int, m: int, v_u: float, full_backward: bool = False) -> str:
    """The kernel's C++ (two functions, ``crossbar_forward`` and ``crossbar_backward``, and
    the one-time check of the synapses' row-major order).

    Parameters
    ----------
    names : dict
        Brian2's array names of ``g``, ``pre``, ``post`` (synapses), ``s``, ``hp``, ``i_d``
        (latent) and ``vr``, ``i_s`` (residual).
    n, m : int
        Inputs ``N`` and latent units ``M``.
    v_u : float
        ``V_u`` in V.
    full_backward : bool
        Compute every entry of ``G^T vr`` (LCA reads the drive of inactive units).
    """
    return _TEMPLATE.format(n=n, m=m, nm=n * m, v_u=repr(float(v_u)),
                            full="true" if full_backward else "false", **names)


_ENSEMBLE_TEMPLATE = """
// circuit-sim ensemble crossbar: {chips} chip(s) x {chains} chain(s), N = {n}, M = {m}.
// g holds one row-major N x M block per chip; chain k of chip c is copy q = c * {chains} + k,
// whose s, hp, i_d are entries q * M .. q * M + M - 1 and vr, i_s entries q * N ...
static bool _crossbar_order_checked = false;
static int _crossbar_union[{m}];

static void _crossbar_check_order()
{{
    if (_crossbar_order_checked) return;
    const std::vector<int32_t>& pre = brian::{pre};
    const std::vector<int32_t>& post = brian::{post};
    if ((long)pre.size() != {total}L) {{
        fprintf(stdout, "circuit-sim ensemble crossbar: expected {total} synapses, found %ld\\n",
                (long)pre.size());
        fflush(stdout);
        exit(3);
    }}
    for (long k = 0; k < {total}L; k++) {{
        const long c = k / {nm}L, r = k % {nm}L;
        const long epre = c * {chains}L * {m}L + r % {m}, epost = c * {chains}L * {n}L + r / {m};
        if (pre[k] != epre || post[k] != epost) {{
            fprintf(stdout, "circuit-sim ensemble crossbar: synapse %ld is (%d, %d), expected "
                    "(%ld, %ld)\\n", k, pre[k], post[k], epre, epost);
            fflush(stdout);
            exit(3);
        }}
    }}
    _crossbar_order_checked = true;
}}

// I_s[q, i] = V_u sum_j G[c, i, j] s[q, j], four chains at a time (each row of G read once
// per four chains); over the columns active in any of the four when they are few.
static double crossbar_forward(double)
{{
    _crossbar_check_order();
    const double* __restrict g = &brian::{g}[0];
    const double* __restrict s = brian::{s};
    double* __restrict out = brian::{i_s};
    for (int c = 0; c < {chips}; c++) {{
        const double* __restrict G = g + (long)c * {nm}L;
        for (int k0 = 0; k0 < {chains}; k0 += 4) {{
            const int nb = {chains} - k0 < 4 ? {chains} - k0 : 4;
            const long q0 = (long)c * {chains} + k0;
            const double* s0 = s + q0 * {m};
            const double* s1 = s0 + (nb > 1 ? {m} : 0);
            const double* s2 = s0 + (nb > 2 ? 2 * {m} : 0);
            const double* s3 = s0 + (nb > 3 ? 3 * {m} : 0);
            int n_union = 0;
            for (int j = 0; j < {m}; j++)
                if (s0[j] != 0.0 || s1[j] != 0.0 || s2[j] != 0.0 || s3[j] != 0.0)
                    _crossbar_union[n_union++] = j;
            double acc[4][{n}];
            if (2 * n_union > {m}) {{
                for (int i = 0; i < {n}; i++) {{
                    const double* __restrict row = G + (long)i * {m};
                    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
                    for (int j = 0; j < {m}; j++) {{
                        const double w = row[j];
                        a0 += w * s0[j]; a1 += w * s1[j]; a2 += w * s2[j]; a3 += w * s3[j];
                    }}
                    acc[0][i] = a0; acc[1][i] = a1; acc[2][i] = a2; acc[3][i] = a3;
                }}
            }} else {{
                for (int i = 0; i < {n}; i++) {{
                    const double* __restrict row = G + (long)i * {m};
                    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
                    for (int a = 0; a < n_union; a++) {{
                        const int j = _crossbar_union[a];
                        const double w = row[j];
                        a0 += w * s0[j]; a1 += w * s1[j]; a2 += w * s2[j]; a3 += w * s3[j];
                    }}
                    acc[0][i] = a0; acc[1][i] = a1; acc[2][i] = a2; acc[3][i] = a3;
                }}
            }}
            for (int b = 0; b < nb; b++) {{
                double* __restrict o = out + (q0 + b) * {n};
                for (int i = 0; i < {n}; i++) o[i] = {v_u} * acc[b][i];
            }}
        }}
    }}
    return 0.0;
}}

// I_d[q, j] = sum_i G[c, i, j] vr[q, i], every entry, four chains at a time.
static double crossbar_backward(double)
{{
    const double* __restrict g = &brian::{g}[0];
    const double* __restrict vr = brian::{vr};
    double* __restrict out = brian::{i_d};
    for (int c = 0; c < {chips}; c++) {{
        const double* __restrict G = g + (long)c * {nm}L;
        for (int k0 = 0; k0 < {chains}; k0 += 4) {{
            const int nb = {chains} - k0 < 4 ? {chains} - k0 : 4;
            const long q0 = (long)c * {chains} + k0;
            double acc[4][{m}];
            for (int b = 0; b < 4; b++)
                for (int j = 0; j < {m}; j++) acc[b][j] = 0.0;
            const double* r = vr + q0 * {n};
            for (int i = 0; i < {n}; i++) {{
                const double* __restrict row = G + (long)i * {m};
                const double r0 = r[i];
                const double r1 = nb > 1 ? r[{n} + i] : 0.0;
                const double r2 = nb > 2 ? r[2 * {n} + i] : 0.0;
                const double r3 = nb > 3 ? r[3 * {n} + i] : 0.0;
                for (int j = 0; j < {m}; j++) {{
                    const double w = row[j];
                    acc[0][j] += w * r0; acc[1][j] += w * r1;
                    acc[2][j] += w * r2; acc[3][j] += w * r3;
                }}
            }}
            for (int b = 0; b < nb; b++) {{
                double* __restrict o = out + (q0 + b) * {m};
                for (int j = 0; j < {m}; j++) o[j] = acc[b][j];
            }}
        }}
    }}
    return 0.0;
}}
"""


def ensemble_kernel_cpp(names: dict, n: int, m: int, chips: int, chains: int,
                        v_u: float) -> str:
    """The ensemble kernel's C++ (:func:`circuit_sim.circuit.crossbar._add_ensemble_kernel`):
    the same two functions and order check as :func:`dense_kernel_cpp`, for ``chips`` blocks
    of conductances each read by ``chains`` copies, four chains per pass over a row of ``G``
    (a matrix-matrix product in register blocks). Plain loops: no OpenMP, no BLAS, which is
    what a brian2cuda port would rewrite as one batched GEMM per product."""
    return _ENSEMBLE_TEMPLATE.format(n=n, m=m, nm=n * m, total=chips * n * m, chips=chips,
                                     chains=chains, v_u=repr(float(v_u)), **names)
