"""C++ source of the dense crossbar kernel (standalone): a pure function of the array
names Brian2 gives the synaptic state and of the sizes. See :mod:`.crossbar`. Its errors go
to the program's standard output (Brian2 keeps it in ``results/stdout.txt``) as lines starting
``circuit-sim``, which the run reports (:func:`circuit_sim.circuit.backends.program_errors`)."""

from __future__ import annotations

#: The one-time check of the synapse order both kernels assume: one row-major N x M block per
#: chip, connecting the chip's first chain (a single circuit: one block). The crossbar's own
#: creation template (``templates/synapses_create_generator.cpp``) makes the synapses in that
#: order without index arrays: then the number of conductances is checked; synapses that
#: Brian2 made (index arrays present) are checked one by one.
_ORDER_CHECK = """
static bool _crossbar_order_checked = false;

static void _crossbar_check_order()
{{
    if (_crossbar_order_checked) return;
    const std::vector<int32_t>& pre = brian::{pre};
    const std::vector<int32_t>& post = brian::{post};
    const long n_g = (long)brian::{g}.size();
    if (pre.empty() && post.empty() && n_g == {total}L) {{
        _crossbar_order_checked = true;  // made by the crossbar's template, in this order
        return;
    }}
    if ((long)pre.size() != {total}L || n_g != {total}L) {{
        fprintf(stdout, "circuit-sim dense crossbar: expected {total} synapses, found %ld "
                "(%ld conductances)\\n", (long)pre.size(), n_g);
        fflush(stdout);
        exit(3);
    }}
    for (long k = 0; k < {total}L; k++) {{
        const long c = k / {nm}L, r = k % {nm}L;
        const long epre = c * {chains}L * {m}L + r % {m}, epost = c * {chains}L * {n}L + r / {m};
        if (pre[k] != epre || post[k] != epost) {{
            fprintf(stdout, "circuit-sim dense crossbar: synapse %ld is (%d, %d), expected "
                    "row-major order (%ld, %ld)\\n", k, pre[k], post[k], epre, epost);
            fflush(stdout);
            exit(3);
        }}
    }}
    _crossbar_order_checked = true;
}}
"""


def _order_check(names: dict, n: int, m: int, chips: int = 1, chains: int = 1) -> str:
    """The C++ of :data:`_ORDER_CHECK` for ``chips`` blocks of ``N x M``, ``chains`` per chip."""
    return _ORDER_CHECK.format(n=n, m=m, nm=n * m, total=chips * n * m, chains=chains,
                               pre=names["pre"], post=names["post"], g=names["g"])


#: The branch-free list of a copy's active units, shared by the single-circuit and ensemble
#: kernels and the batch-averaged Hebbian term (each in its own code object, so each source
#: has its copy).
_ACTIVE_LIST = """
// The indices j of x[j] != 0 into act (room for M + 8), without branches (which units are
// active changes every step, and a branch per unit mispredicts about as often): eight units
// at a time, the bits of which are active looked up in a table of their positions, so that
// no unit waits on the count of the one before; returns how many.
static const int8_t _crossbar_slots[256][8] = {slots};
static inline int _crossbar_active_list(const double* __restrict x, int* __restrict act)
{{
    int na = 0, j = 0;
    for (; j + 8 <= {m}; j += 8) {{
        unsigned bits = 0;
        for (int l = 0; l < 8; l++) bits |= (unsigned)(x[j + l] != 0.0) << l;
        const int8_t* __restrict slot = _crossbar_slots[bits];
        for (int l = 0; l < 8; l++) act[na + l] = j + slot[l];
        na += __builtin_popcount(bits);
    }}
    for (; j < {m}; j++) {{
        act[na] = j;
        na += (x[j] != 0.0);
    }}
    return na;
}}
"""
#: row ``bits`` of ``_crossbar_slots``: the positions of the set bits of ``bits``, then zeros
_SLOTS = "{" + ", ".join("{" + ", ".join(map(str, ([b for b in range(8) if bits >> b & 1]
                                                   + [0] * 8)[:8])) + "}"
                         for bits in range(256)) + "}"


def _active_list(m: int) -> str:
    """The C++ of :data:`_ACTIVE_LIST` for ``m`` units."""
    return _ACTIVE_LIST.format(m=m, slots=_SLOTS)


#: One row's forward sum, sum_j row[j] s[j]: over every column (``dense``) or over the active
#: ones in ``_crossbar_active`` with four partial sums (the gathered products do not wait on
#: one FMA chain); shared by the two-pass and the one-pass kernels.
_ROW_SUM = """
static inline double _crossbar_row_sum(const double* __restrict row, const double* __restrict s,
                                       int n_active, bool dense)
{{
    if (dense) {{
        double acc = 0.0;
        for (int j = 0; j < {m}; j++) acc += row[j] * s[j];
        return acc;
    }}
    double acc[4] = {{0.0, 0.0, 0.0, 0.0}};
    int a = 0;
    for (; a + 4 <= n_active; a += 4)
        for (int l = 0; l < 4; l++) {{ const int j = _crossbar_active[a + l]; acc[l] += row[j] * s[j]; }}
    for (; a < n_active; a++) {{ const int j = _crossbar_active[a]; acc[0] += row[j] * s[j]; }}
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}}
"""

_TEMPLATE = """
static int _crossbar_active[{m} + 8];
{active_list}
{row_sum}
// Row-major G: a product over the active columns reads nearly every cache line of a row (8
// doubles) once about one column in 8 is active, as the dense loop does, but gathered and
// without its vector instructions: the dense loop from one column in 32 on (measured).
#define _CROSSBAR_DENSE(n_active) (32 * (n_active) > {m})
{order_check}
// i_s[i] = V_u * sum_j g[i, j] s[j] over the active columns (s_j != 0)
static double crossbar_forward(double)
{{
    _crossbar_check_order();
    const double* __restrict g = &brian::{g}[0];
    const double* __restrict s = brian::{s};
    double* __restrict out = brian::{i_s};
    const int n_active = _crossbar_active_list(s, _crossbar_active);
    if (_CROSSBAR_DENSE(n_active)) {{
        int i = 0;
        for (; i + 4 <= {n}; i += 4) {{  // four rows at a time: four independent sums, s read once
            const double* __restrict r0 = g + (long)i * {m};
            const double* __restrict r1 = r0 + {m};
            const double* __restrict r2 = r1 + {m};
            const double* __restrict r3 = r2 + {m};
            double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
            for (int j = 0; j < {m}; j++) {{
                const double sj = s[j];
                a0 += r0[j] * sj; a1 += r1[j] * sj; a2 += r2[j] * sj; a3 += r3[j] * sj;
            }}
            out[i] = {v_u} * a0; out[i + 1] = {v_u} * a1; out[i + 2] = {v_u} * a2; out[i + 3] = {v_u} * a3;
        }}
        for (; i < {n}; i++) out[i] = {v_u} * _crossbar_row_sum(g + (long)i * {m}, s, n_active, true);
    }} else {{
        for (int i = 0; i < {n}; i++)
            out[i] = {v_u} * _crossbar_row_sum(g + (long)i * {m}, s, n_active, false);
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
    const int n_active = _crossbar_active_list(hp, _crossbar_active);
    if ({full} || _CROSSBAR_DENSE(n_active)) {{
        for (int j = 0; j < {m}; j++) out[j] = 0.0;
        int i = 0;
        for (; i + 4 <= {n}; i += 4) {{  // four rows at a time: the output read and written once
            const double* __restrict r0 = g + (long)i * {m};
            const double* __restrict r1 = r0 + {m};
            const double* __restrict r2 = r1 + {m};
            const double* __restrict r3 = r2 + {m};
            const double v0 = vr[i], v1 = vr[i + 1], v2 = vr[i + 2], v3 = vr[i + 3];
            for (int j = 0; j < {m}; j++) out[j] += (r0[j] * v0 + r1[j] * v1) + (r2[j] * v2 + r3[j] * v3);
        }}
        for (; i < {n}; i++) {{
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
                            active_list=_active_list(m), row_sum=_ROW_SUM.format(m=m),
                            full="true" if full_backward else "false",
                            order_check=_order_check(names, n, m), **names)


_FUSED_TEMPLATE = """
static int _crossbar_active[{m} + 8];
static int _crossbar_active_d[{m} + 8];
{active_list}
{row_sum}
#define _CROSSBAR_DENSE(n_active) (32 * (n_active) > {m})
{order_check}
// Both products in one pass over G (a single circuit with an ideal residual): four rows'
// forward sums i_s[i] = V_u sum_j g[i, j] s[j] are all the residual r_i = x_i - i_s[i] / G_w of
// those rows needs, so the backward i_d[j] += g[i, j] r_i uses the rows while they are in the
// cache: G is read from memory once a step, not twice. The residual group's own equation then
// stores vr = x_in - i_s / G_w, the same value; the sums run in the order of the two-pass
// kernel (dense_kernel_cpp), four rows at a time.

static double crossbar_fused(double)
{{
    _crossbar_check_order();
    const double* __restrict g = &brian::{g}[0];
    const double* __restrict s = brian::{s};
    const double* __restrict hp = brian::{hp};
    const double* __restrict x = brian::{x_in};
    double* __restrict i_s = brian::{i_s};
    double* __restrict out = brian::{i_d};
    const int n_s = _crossbar_active_list(s, _crossbar_active);
    const int n_d = _crossbar_active_list(hp, _crossbar_active_d);
    const bool dense_s = _CROSSBAR_DENSE(n_s), dense_d = {full} || _CROSSBAR_DENSE(n_d);
    if (dense_d) for (int j = 0; j < {m}; j++) out[j] = 0.0;
    else for (int a = 0; a < n_d; a++) out[_crossbar_active_d[a]] = 0.0;
    int i = 0;
    for (; i + 4 <= {n}; i += 4) {{
        const double* __restrict r0 = g + (long)i * {m};
        const double* __restrict r1 = r0 + {m};
        const double* __restrict r2 = r1 + {m};
        const double* __restrict r3 = r2 + {m};
        if (dense_s) {{
            double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
            for (int j = 0; j < {m}; j++) {{
                const double sj = s[j];
                a0 += r0[j] * sj; a1 += r1[j] * sj; a2 += r2[j] * sj; a3 += r3[j] * sj;
            }}
            i_s[i] = {v_u} * a0; i_s[i + 1] = {v_u} * a1; i_s[i + 2] = {v_u} * a2; i_s[i + 3] = {v_u} * a3;
        }} else {{
            for (int l = 0; l < 4; l++)
                i_s[i + l] = {v_u} * _crossbar_row_sum(r0 + (long)l * {m}, s, n_s, false);
        }}
        const double v0 = x[i] - i_s[i] / {g_w}, v1 = x[i + 1] - i_s[i + 1] / {g_w};
        const double v2 = x[i + 2] - i_s[i + 2] / {g_w}, v3 = x[i + 3] - i_s[i + 3] / {g_w};
        if (dense_d) {{
            for (int j = 0; j < {m}; j++) out[j] += (r0[j] * v0 + r1[j] * v1) + (r2[j] * v2 + r3[j] * v3);
        }} else {{
            const double vs[4] = {{v0, v1, v2, v3}};
            for (int l = 0; l < 4; l++) {{
                const double* __restrict row = r0 + (long)l * {m};
                for (int a = 0; a < n_d; a++) {{ const int j = _crossbar_active_d[a]; out[j] += row[j] * vs[l]; }}
            }}
        }}
    }}
    for (; i < {n}; i++) {{
        const double* __restrict row = g + (long)i * {m};
        i_s[i] = {v_u} * _crossbar_row_sum(row, s, n_s, dense_s);
        const double r = x[i] - i_s[i] / {g_w};
        if (dense_d) for (int j = 0; j < {m}; j++) out[j] += row[j] * r;
        else for (int a = 0; a < n_d; a++) {{ const int j = _crossbar_active_d[a]; out[j] += row[j] * r; }}
    }}
    return 0.0;
}}
"""


def fused_kernel_cpp(names: dict, n: int, m: int, v_u: float, g_w: float,
                     full_backward: bool = False) -> str:
    """The one-pass kernel's C++ (``crossbar_fused``: both products of a single circuit with
    an ideal residual, ``G`` read once a step; see :data:`_FUSED_TEMPLATE`).

    Parameters
    ----------
    names : dict
        As :func:`dense_kernel_cpp`, and ``x_in`` (the residual nodes' stored input, V).
    n, m : int
        Inputs ``N`` and latent units ``M``.
    v_u, g_w : float
        ``V_u`` in V and ``G_w`` in S.
    full_backward : bool
        Compute every entry of ``G^T r`` (LCA).
    """
    return _FUSED_TEMPLATE.format(n=n, m=m, v_u=repr(float(v_u)), g_w=repr(float(g_w)),
                                  active_list=_active_list(m), row_sum=_ROW_SUM.format(m=m),
                                  full="true" if full_backward else "false",
                                  order_check=_order_check(names, n, m), **names)


_ENSEMBLE_TEMPLATE = """
// circuit-sim ensemble crossbar: {chips} chip(s) x {chains} chain(s), N = {n}, M = {m}.
// g holds one row-major N x M block per chip; chain k of chip c is copy q = c * {chains} + k,
// whose s, hp, i_d are entries q * M .. q * M + M - 1 and vr, i_s entries q * N ...
// Both products read G^T (M x N per chip, kept here): a column of G is then contiguous, so
// I_s = sum over the active units j of s_j G[:, j] (one AXPY of length N per active unit) and
// I_d[j] = G[:, j] . vr (one dot product per unit with h'(u_j) != 0), every copy against the
// same G^T of its chip (read from cache by all its chains). G^T is rebuilt every step when the
// weights change ({dynamic}), once otherwise. Each of the two functions is compiled into its
// own code object, each with its own (static) copy of G^T.
static bool _crossbar_transposed = false;
static double _crossbar_gt[{total}];
{order_check}
static void _crossbar_transpose()
{{
    if (_crossbar_transposed && !{dynamic}) return;
    const double* __restrict g = &brian::{g}[0];
    for (int c = 0; c < {chips}; c++)
        for (int i = 0; i < {n}; i++)
            for (int j = 0; j < {m}; j++)
                _crossbar_gt[(long)c * {nm}L + (long)j * {n} + i] = g[(long)c * {nm}L + (long)i * {m} + j];
    _crossbar_transposed = true;
}}

{active_list}
typedef double _crossbar_v8 __attribute__((vector_size(64)));  // eight doubles (GCC, Clang)

// I_s[q, :] = V_u sum_j s[q, j] G[c, :, j] over the active units of copy q, one AXPY each,
// 32 rows at a time into registers
static double crossbar_forward(double)
{{
    _crossbar_check_order();
    _crossbar_transpose();
    const double* __restrict s = brian::{s};
    double* __restrict out = brian::{i_s};
    int act[{m} + 8];
    for (long q = 0; q < {copies}L; q++) {{
        const double* __restrict gt = _crossbar_gt + (q / {chains}) * {nm}L;
        const double* __restrict sq = s + q * {m};
        const int na = _crossbar_active_list(sq, act);
        double* __restrict o = out + q * {n};
        int i0 = 0;
        for (; i0 + 32 <= {n}; i0 += 32) {{  // 32 rows at a time, summed in four vector registers
            _crossbar_v8 acc[4] = {{}};
            for (int a = 0; a < na; a++) {{
                const double sj = sq[act[a]];
                const double* __restrict col = gt + (long)act[a] * {n} + i0;
                for (int v = 0; v < 4; v++) {{
                    _crossbar_v8 c;
                    memcpy(&c, col + 8 * v, sizeof(c));
                    acc[v] += sj * c;
                }}
            }}
            for (int v = 0; v < 4; v++) {{
                const _crossbar_v8 r = {v_u} * acc[v];
                memcpy(o + i0 + 8 * v, &r, sizeof(r));
            }}
        }}
        if (i0 < {n}) {{
            for (int i = i0; i < {n}; i++) o[i] = 0.0;
            for (int a = 0; a < na; a++) {{
                const double sj = sq[act[a]];
                const double* __restrict col = gt + (long)act[a] * {n};
                for (int i = i0; i < {n}; i++) o[i] += sj * col[i];
            }}
            for (int i = i0; i < {n}; i++) o[i] *= {v_u};
        }}
    }}
    return 0.0;
}}

// I_d[q, j] = G[c, :, j] . vr[q, :] where h'(u_j) != 0 (0 elsewhere: the force reads it times
// h'), the units listed as in the forward product
static double crossbar_backward(double)
{{
    _crossbar_transpose();
    const double* __restrict vr = brian::{vr};
    const double* __restrict hp = brian::{hp};
    double* __restrict out = brian::{i_d};
    int act[{m} + 8];
    for (long q = 0; q < {copies}L; q++) {{
        const double* __restrict gt = _crossbar_gt + (q / {chains}) * {nm}L;
        const double* __restrict r = vr + q * {n};
        const double* __restrict hq = hp + q * {m};
        double* __restrict o = out + q * {m};
        for (int j = 0; j < {m}; j++) o[j] = 0.0;
        const int na = _crossbar_active_list(hq, act);
        int a = 0;
        for (; a + 8 <= na; a += 8) {{  // eight units at a time: eight vector sums, r read once
            const double* __restrict col[8];
            for (int k = 0; k < 8; k++) col[k] = gt + (long)act[a + k] * {n};
            _crossbar_v8 acc[8] = {{}};
            int i = 0;
            for (; i + 8 <= {n}; i += 8) {{
                _crossbar_v8 rv;
                memcpy(&rv, r + i, sizeof(rv));
                for (int k = 0; k < 8; k++) {{
                    _crossbar_v8 c;
                    memcpy(&c, col[k] + i, sizeof(c));
                    acc[k] += c * rv;
                }}
            }}
            for (int k = 0; k < 8; k++) {{
                double sum = 0.0;
                for (int l = 0; l < 8; l++) sum += acc[k][l];
                for (int ii = i; ii < {n}; ii++) sum += col[k][ii] * r[ii];
                o[act[a + k]] = sum;
            }}
        }}
        for (; a < na; a++) {{
            const double* __restrict col = gt + (long)act[a] * {n};
            double acc = 0.0;
            for (int i = 0; i < {n}; i++) acc += col[i] * r[i];
            o[act[a]] = acc;
        }}
    }}
    return 0.0;
}}
"""


def ensemble_kernel_cpp(names: dict, n: int, m: int, chips: int, chains: int,
                        v_u: float, dynamic_weights: bool = True) -> str:
    """The ensemble kernel's C++ (:func:`circuit_sim.circuit.crossbar._add_ensemble_kernel`):
    the same two functions and order check as :func:`dense_kernel_cpp`, for ``chips`` blocks
    of conductances each read by ``chains`` copies, through a transposed copy of each chip's
    ``G`` (skipping inactive units in both products; rebuilt every step if
    ``dynamic_weights``). Plain loops: no OpenMP, no BLAS, which is what a brian2cuda port
    would rewrite as one batched product per step."""
    return _ENSEMBLE_TEMPLATE.format(n=n, m=m, nm=n * m, total=chips * n * m, chips=chips,
                                     chains=chains, copies=chips * chains, v_u=repr(float(v_u)),
                                     dynamic="true" if dynamic_weights else "false",
                                     order_check=_order_check(names, n, m, chips, chains),
                                     active_list=_active_list(m), **names)


_HEBB_TEMPLATE = """
// circuit-sim: the batch-averaged Hebbian term of {chips} chip(s) x {chains} chains, N = {n},
// M = {m}: hebb[c, i, j] = (1 / (V_u K_c)) sum_k vr[q, i] s[q, j] over the chains q = c K_c + k
// of chip c (one rank-K_c update per chip, skipping each chain's inactive units), in the
// synapses' row-major order.
{order_check}
{active_list}
static double crossbar_hebb(double)
{{
    _crossbar_check_order();
    const double* __restrict s = brian::{s};
    const double* __restrict vr = brian::{vr};
    double* __restrict h = &brian::{hebb}[0];
    int act[{m} + 8];
    for (long c = 0; c < {chips}L; c++) {{
        double* __restrict hc = h + c * {nm}L;
        for (long k = 0; k < {nm}L; k++) hc[k] = 0.0;
        for (long k = 0; k < {chains}L; k++) {{
            const long q = c * {chains}L + k;
            const double* __restrict sq = s + q * {m};
            const double* __restrict r = vr + q * {n};
            const int na = _crossbar_active_list(sq, act);
            for (int i = 0; i < {n}; i++) {{
                const double ri = {scale} * r[i];
                double* __restrict row = hc + (long)i * {m};
                for (int a = 0; a < na; a++) row[act[a]] += ri * sq[act[a]];
            }}
        }}
    }}
    return 0.0;
}}
"""


def hebb_kernel_cpp(names: dict, n: int, m: int, chips: int, chains: int, scale: float) -> str:
    """C++ of ``crossbar_hebb(t)`` (:func:`circuit_sim.circuit.crossbar.add_hebb_kernel`):
    ``names`` as :func:`dense_kernel_cpp`'s plus ``hebb`` (the synaptic variable), ``scale =
    1 / (V_u K_c)``."""
    return _HEBB_TEMPLATE.format(n=n, m=m, nm=n * m, chips=chips, chains=chains,
                                 scale=repr(float(scale)),
                                 order_check=_order_check(names, n, m, chips, chains),
                                 active_list=_active_list(m), **names)
