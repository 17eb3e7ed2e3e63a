"""C++ source of the dense crossbar kernel (standalone): a pure function of the array
names Brian2 gives the synaptic state and of the sizes. See :mod:`.crossbar`. Its errors go
to the program's standard output (Brian2 keeps it in ``results/stdout.txt``) as lines starting
``circuit-sim``, which the run reports (:func:`circuit_sim.circuit.backends.program_errors`)."""

from __future__ import annotations

#: The one-time check of the synapse order both kernels assume: one row-major N x M block per
#: chip, connecting the chip's first chain (a single circuit: one block).
_ORDER_CHECK = """
static bool _crossbar_order_checked = false;

static void _crossbar_check_order()
{{
    if (_crossbar_order_checked) return;
    const std::vector<int32_t>& pre = brian::{pre};
    const std::vector<int32_t>& post = brian::{post};
    if ((long)pre.size() != {total}L) {{
        fprintf(stdout, "circuit-sim dense crossbar: expected {total} synapses, found %ld\\n",
                (long)pre.size());
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
                               pre=names["pre"], post=names["post"])


#: The branch-free list of a copy's active units, shared by the ensemble kernel and the
#: batch-averaged Hebbian term (each in its own code object, so each source has its copy).
_ACTIVE_LIST = """
// The indices j of x[j] != 0 into act, without branches (which units are active changes
// every step, and a branch per unit mispredicts about as often); returns how many.
static inline int _crossbar_active_list(const double* __restrict x, int* __restrict act)
{{
    int na = 0;
    for (int j = 0; j < {m}; j++) {{
        act[na] = j;
        na += (x[j] != 0.0);
    }}
    return na;
}}
"""


_TEMPLATE = """
static int _crossbar_active[{m}];
{order_check}
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
// I_s[q, :] = V_u sum_j s[q, j] G[c, :, j] over the active units of copy q, one AXPY each
// into the output
static double crossbar_forward(double)
{{
    _crossbar_check_order();
    _crossbar_transpose();
    const double* __restrict s = brian::{s};
    double* __restrict out = brian::{i_s};
    int act[{m}];
    for (long q = 0; q < {copies}L; q++) {{
        const double* __restrict gt = _crossbar_gt + (q / {chains}) * {nm}L;
        const double* __restrict sq = s + q * {m};
        const int na = _crossbar_active_list(sq, act);
        double* __restrict o = out + q * {n};
        for (int i = 0; i < {n}; i++) o[i] = 0.0;
        for (int a = 0; a < na; a++) {{
            const double sj = {v_u} * sq[act[a]];
            const double* __restrict col = gt + (long)act[a] * {n};
            for (int i = 0; i < {n}; i++) o[i] += sj * col[i];
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
    int act[{m}];
    for (long q = 0; q < {copies}L; q++) {{
        const double* __restrict gt = _crossbar_gt + (q / {chains}) * {nm}L;
        const double* __restrict r = vr + q * {n};
        const double* __restrict hq = hp + q * {m};
        double* __restrict o = out + q * {m};
        for (int j = 0; j < {m}; j++) o[j] = 0.0;
        const int na = _crossbar_active_list(hq, act);
        for (int a = 0; a < na; a++) {{
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
                                     active_list=_ACTIVE_LIST.format(m=m), **names)


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
    int act[{m}];
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
                                 active_list=_ACTIVE_LIST.format(m=m), **names)


_NOISE_TEMPLATE = """
// circuit-sim white noise of an ensemble's {n} latent nodes, drawn in one pass per step:
// xoshiro256** (Blackman & Vigna) seeded through splitmix64 from the run-time seed, and the
// ziggurat method for normal deviates (Marsaglia & Tsang 2000: 128 layers of equal area
// V = 9.91256303526217e-3, tail beyond R = 3.442619855899 by Marsaglia's 1964 method).
static uint64_t _cn_s[4];
static bool _cn_ready = false;
static double _cn_x[129], _cn_ratio[128], _cn_f[129];
static const double _CN_R = 3.442619855899, _CN_V = 9.91256303526217e-3;

static inline uint64_t _cn_rotl(const uint64_t v, const int k) {{ return (v << k) | (v >> (64 - k)); }}

static inline uint64_t _cn_next()
{{
    const uint64_t out = _cn_rotl(_cn_s[1] * 5, 7) * 9;
    const uint64_t t = _cn_s[1] << 17;
    _cn_s[2] ^= _cn_s[0]; _cn_s[3] ^= _cn_s[1]; _cn_s[1] ^= _cn_s[2]; _cn_s[0] ^= _cn_s[3];
    _cn_s[2] ^= t;
    _cn_s[3] = _cn_rotl(_cn_s[3], 45);
    return out;
}}

static inline double _cn_uniform() {{ return (double)(_cn_next() >> 11) * 1.1102230246251565e-16; }}  // [0, 1)

static void _cn_init(const double seed)
{{
    uint64_t z = (uint64_t)seed;
    for (int k = 0; k < 4; k++) {{  // splitmix64
        z += 0x9e3779b97f4a7c15ULL;
        uint64_t y = z;
        y = (y ^ (y >> 30)) * 0xbf58476d1ce4e5b9ULL;
        y = (y ^ (y >> 27)) * 0x94d049bb133111ebULL;
        _cn_s[k] = y ^ (y >> 31);
    }}
    // layer i spans heights f(x[i]) .. f(x[i+1]) and has half-width x[i]; x[0] = V / f(R) is
    // the base strip (it holds the tail), x[128] = 0 the top
    _cn_x[0] = _CN_V / exp(-0.5 * _CN_R * _CN_R);
    _cn_x[1] = _CN_R;
    for (int i = 1; i < 128; i++) {{
        const double y = exp(-0.5 * _cn_x[i] * _cn_x[i]) + _CN_V / _cn_x[i];
        _cn_x[i + 1] = y < 1.0 ? sqrt(-2.0 * log(y)) : 0.0;
    }}
    _cn_x[128] = 0.0;
    for (int i = 0; i < 128; i++) _cn_ratio[i] = _cn_x[i + 1] / _cn_x[i];
    for (int i = 0; i <= 128; i++) _cn_f[i] = exp(-0.5 * _cn_x[i] * _cn_x[i]);
    _cn_ready = true;
}}

static inline double _cn_normal()
{{
    for (;;) {{
        const uint64_t b = _cn_next();
        const int i = (int)(b & 127);
        const double u = 2.0 * ((double)(b >> 11) * 1.1102230246251565e-16) - 1.0;  // [-1, 1)
        if (fabs(u) < _cn_ratio[i]) return u * _cn_x[i];  // under the curve: most draws
        if (i == 0) {{  // the tail beyond R
            double a, e;
            do {{
                a = -log(1.0 - _cn_uniform()) / _CN_R;
                e = -log(1.0 - _cn_uniform());
            }} while (2.0 * e < a * a);
            return u < 0.0 ? -(_CN_R + a) : _CN_R + a;
        }}
        const double x = u * _cn_x[i];  // the wedge between the layer and the curve
        if (_cn_f[i] + _cn_uniform() * (_cn_f[i + 1] - _cn_f[i]) < exp(-0.5 * x * x)) return x;
    }}
}}

// eta = N(0, 1) / sqrt(dt) (Euler-Maruyama) or (R_prev + R) / (2 sqrt(dt)) (Leimkuhler-Matthews)
static double _cn_seed = -1.0;
static double circuit_white_noise(double, double dt, double seed)
{{
    if (!_cn_ready || seed != _cn_seed) {{ _cn_init(seed); _cn_seed = seed; }}  // a new seed: a new stream
    double* __restrict eta = brian::{eta};
{body}
    return 0.0;
}}
"""

_NOISE_EULER = """    const double scale = 1.0 / sqrt(dt);
    for (int k = 0; k < {n}; k++) eta[k] = scale * _cn_normal();"""
_NOISE_LM = """    double* __restrict rprev = brian::{rprev};
    const double scale = 0.5 / sqrt(dt);
    for (int k = 0; k < {n}; k++) {{
        const double r = _cn_normal();
        eta[k] = scale * (rprev[k] + r);
        rprev[k] = r;
    }}"""


def noise_kernel_cpp(names: dict, n: int, integrator: str) -> str:
    """C++ of ``circuit_white_noise(t, dt, seed)``: every latent node's white-noise variable
    ``eta_0`` (and, Leimkuhler-Matthews, ``rprev_0``) for this step in one loop (``names``:
    Brian2's array names of ``eta`` and ``rprev``; ``n`` nodes)."""
    body = (_NOISE_LM if integrator == "leimkuhler_matthews" else _NOISE_EULER).format(n=n, **names)
    return _NOISE_TEMPLATE.format(n=n, body=body, **names)
