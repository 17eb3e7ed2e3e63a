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
