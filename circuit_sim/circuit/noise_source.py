"""C++ source of the ensemble's white-noise kernel (standalone): every latent node's normal
deviate for one step in one call, a pure function of Brian2's array names and the sizes. See
:func:`circuit_sim.circuit.crossbar.add_noise_kernel`.

The generator is xoshiro256** (Blackman & Vigna) seeded through splitmix64 from the run-time
seed, with the ziggurat method for normal deviates (Marsaglia & Tsang 2000: 256 layers of
equal area ``V``, the tail beyond ``R`` by Marsaglia's 1964 method). Where the compiler targets
AVX-512 (``-march=native`` on such a machine) eight xoshiro streams run side by side in one
vector register and the ziggurat's fast path (a candidate under its layer's rectangle, 98.5%
of draws) is taken for eight draws at once; the rest of those candidates (the wedges and
the tail) then go through the scalar algorithm, with the scalar stream's uniforms, as they
would one at a time. Either way every draw is an exact standard normal deviate; the two
paths draw different numbers from the same seed. ``VECTOR = False`` generates the scalar
path only (the tests compare both)."""

from __future__ import annotations

#: Generate the eight-lane path (used where the compiler targets AVX-512); False: scalar only
VECTOR = True

_TEMPLATE = """
// circuit-sim white noise of an ensemble's {n} latent nodes, drawn in one pass per step:
// xoshiro256** seeded through splitmix64 from the run-time seed, ziggurat normal deviates
// (256 layers of equal area V = 4.92867323399e-3, tail beyond R = 3.6541528853610088).
#if defined(__AVX512F__) && {vector}
#define _CN_VECTOR 1
#else
#define _CN_VECTOR 0
#endif
static uint64_t _cn_s[4];
static bool _cn_ready = false;
static double _cn_x[257], _cn_ratio[256], _cn_f[257];
static const double _CN_R = 3.6541528853610088, _CN_V = 4.92867323399e-3;

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

static inline uint64_t _cn_splitmix(uint64_t& z)
{{
    z += 0x9e3779b97f4a7c15ULL;
    uint64_t y = z;
    y = (y ^ (y >> 30)) * 0xbf58476d1ce4e5b9ULL;
    y = (y ^ (y >> 27)) * 0x94d049bb133111ebULL;
    return y ^ (y >> 31);
}}

#if _CN_VECTOR
typedef uint64_t _cn_u64v __attribute__((vector_size(64)));
typedef int64_t _cn_i64v __attribute__((vector_size(64)));
typedef double _cn_f64v __attribute__((vector_size(64)));
static uint64_t _cn_lane[4][8];  // eight more streams, one per lane (after the scalar one)
typedef int8_t _cn_i8v __attribute__((vector_size(8)));
static _cn_i8v _cn_off[{blocks}];   // each block's lanes off the fast path (-1)
static _cn_u64v _cn_bits[{blocks}]; // and its eight random words
static double _cn_z[{padded}];
#endif

static void _cn_init(const double seed)
{{
    uint64_t z = (uint64_t)seed;
    for (int k = 0; k < 4; k++) _cn_s[k] = _cn_splitmix(z);
#if _CN_VECTOR
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 8; l++) _cn_lane[k][l] = _cn_splitmix(z);
#endif
    // layer i spans heights f(x[i]) .. f(x[i+1]) and has half-width x[i]; x[0] = V / f(R) is
    // the base strip (it holds the tail), x[256] = 0 the top
    _cn_x[0] = _CN_V / exp(-0.5 * _CN_R * _CN_R);
    _cn_x[1] = _CN_R;
    for (int i = 1; i < 256; i++) {{
        const double y = exp(-0.5 * _cn_x[i] * _cn_x[i]) + _CN_V / _cn_x[i];
        _cn_x[i + 1] = y < 1.0 ? sqrt(-2.0 * log(y)) : 0.0;
    }}
    _cn_x[256] = 0.0;
    for (int i = 0; i < 256; i++) _cn_ratio[i] = _cn_x[i + 1] / _cn_x[i];
    for (int i = 0; i <= 256; i++) _cn_f[i] = exp(-0.5 * _cn_x[i] * _cn_x[i]);
    _cn_ready = true;
}}

// the candidate u x[i] of layer i (u in [-1, 1)) that is not under the layer's rectangle:
// the tail beyond R (layer 0) or the wedge test, and a fresh draw where that rejects it
static double _cn_normal();
static double _cn_rest(const double u, const int i)
{{
    if (i == 0) {{
        double a, e;
        do {{
            a = -log(1.0 - _cn_uniform()) / _CN_R;
            e = -log(1.0 - _cn_uniform());
        }} while (2.0 * e < a * a);
        return u < 0.0 ? -(_CN_R + a) : _CN_R + a;
    }}
    const double x = u * _cn_x[i];
    if (_cn_f[i] + _cn_uniform() * (_cn_f[i + 1] - _cn_f[i]) < exp(-0.5 * x * x)) return x;
    return _cn_normal();
}}

static double _cn_normal()
{{
    const uint64_t b = _cn_next();
    const int i = (int)(b & 255);
    const double u = 2.0 * ((double)(b >> 11) * 1.1102230246251565e-16) - 1.0;  // [-1, 1)
    if (fabs(u) < _cn_ratio[i]) return u * _cn_x[i];  // under the curve: most draws
    return _cn_rest(u, i);
}}

#if _CN_VECTOR
static inline _cn_u64v _cn_rotlv(const _cn_u64v v, const int k) {{ return (v << k) | (v >> (64 - k)); }}

// the layer (low 8 bits) and u in [-1, 1) (from the top 52 bits, through a double in [1, 2))
// of eight random words
static inline _cn_f64v _cn_uv(const _cn_u64v b)
{{
    const _cn_u64v one_two = (b >> 12) | 0x3ff0000000000000ULL;
    _cn_f64v u;
    memcpy(&u, &one_two, sizeof(u));
    return 2.0 * u - 3.0;
}}

// {padded} deviates into _cn_z, eight at a time; the candidates off the fast path after
static void _cn_normals()
{{
    _cn_u64v s0, s1, s2, s3;
    memcpy(&s0, _cn_lane[0], 64); memcpy(&s1, _cn_lane[1], 64);
    memcpy(&s2, _cn_lane[2], 64); memcpy(&s3, _cn_lane[3], 64);
    for (int blk = 0; blk < {blocks}; blk++) {{
        const _cn_u64v m5 = (s1 << 2) + s1, r7 = _cn_rotlv(m5, 7);
        const _cn_u64v b = (r7 << 3) + r7, t = s1 << 17;  // xoshiro256**: rotl(s1 * 5, 7) * 9
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t; s3 = _cn_rotlv(s3, 45);
        const _cn_i64v i = (_cn_i64v)(b & 255);
        const _cn_f64v u = _cn_uv(b);
        _cn_f64v x, ratio;
        for (int l = 0; l < 8; l++) {{ x[l] = _cn_x[i[l]]; ratio[l] = _cn_ratio[i[l]]; }}
        const _cn_f64v z = u * x;
        memcpy(_cn_z + blk * 8, &z, 64);
        const _cn_i64v off = (u < 0 ? -u : u) >= ratio;  // -1 in the lanes off the fast path
        _cn_off[blk] = __builtin_convertvector(off, _cn_i8v);
        _cn_bits[blk] = b;
    }}
    memcpy(_cn_lane[0], &s0, 64); memcpy(_cn_lane[1], &s1, 64);
    memcpy(_cn_lane[2], &s2, 64); memcpy(_cn_lane[3], &s3, 64);
    for (int blk = 0; blk < {blocks}; blk++) {{
        uint64_t any;
        memcpy(&any, &_cn_off[blk], 8);
        if (!any) continue;
        const _cn_u64v b = _cn_bits[blk];
        const _cn_f64v u = _cn_uv(b);
        for (int l = 0; l < 8; l++)
            if (_cn_off[blk][l]) _cn_z[blk * 8 + l] = _cn_rest(u[l], (int)(b[l] & 255));
    }}
}}
#endif

// eta = N(0, 1) / sqrt(dt) (Euler-Maruyama) or (R_prev + R) / (2 sqrt(dt)) (Leimkuhler-Matthews)
static double _cn_seed = -1.0;
static double circuit_white_noise(double, double dt, double seed)
{{
    if (!_cn_ready || seed != _cn_seed) {{ _cn_init(seed); _cn_seed = seed; }}  // a new seed: a new stream
    double* __restrict eta = brian::{eta};
#if _CN_VECTOR
    _cn_normals();
#define _CN_DRAW(k) _cn_z[k]
#else
#define _CN_DRAW(k) _cn_normal()
#endif
{body}
#undef _CN_DRAW
    return 0.0;
}}
"""

_EULER = """    const double scale = 1.0 / sqrt(dt);
    for (int k = 0; k < {n}; k++) eta[k] = scale * _CN_DRAW(k);"""
_LM = """    double* __restrict rprev = brian::{rprev};
    const double scale = 0.5 / sqrt(dt);
    for (int k = 0; k < {n}; k++) {{
        const double r = _CN_DRAW(k);
        eta[k] = scale * (rprev[k] + r);
        rprev[k] = r;
    }}"""


def noise_kernel_cpp(names: dict, n: int, integrator: str) -> str:
    """C++ of ``circuit_white_noise(t, dt, seed)``: every latent node's white-noise variable
    ``eta_0`` (and, Leimkuhler-Matthews, ``rprev_0``) for this step in one loop.

    Parameters
    ----------
    names : dict
        Brian2's array names of ``eta`` and ``rprev``.
    n : int
        Latent nodes (all copies).
    integrator : str
        "euler_maruyama" or "leimkuhler_matthews".
    """
    blocks = (n + 7) // 8
    body = (_LM if integrator == "leimkuhler_matthews" else _EULER).format(n=n, **names)
    return _TEMPLATE.format(n=n, blocks=blocks, padded=8 * blocks, body=body,
                            vector=1 if VECTOR else 0, **names)
