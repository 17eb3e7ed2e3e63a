"""Why the dense crossbar's plasticity has its own loop template (issue 16): the loop Brian2's
template generates for a synaptic equation, against the loop of the crossbar's template
(``circuit_sim/circuit/templates/stateupdate.cpp``) and the same rank-1 update shaped as BLAS
``dger`` does it, in plain C++ compiled with Brian2's own flags.

Usage::

    python benchmarks/plasticity_loop.py [N M]      # default (256, 512), then (1024, 2048)

Five loops over the N x M conductances ``g`` (row-major, as the crossbar stores them), each
doing ``g_ij += c r_i s_j``:

* ``brian2``: the shape of Brian2's ``crossbar_stateupdater`` (its generated code, trimmed):
  one flat loop over synapses reading the int32 pre- and post-synaptic index of each and
  gathering ``s`` and ``r`` through them (GCC keeps it scalar: the ``__restrict`` of locals
  does not let it prove the gathers independent of the store);
* ``brian2 ivdep``: the same with ``#pragma GCC ivdep`` (vectorised with gather instructions);
* ``hebb``: what a kernel-written synaptic ``hebb = r s^T`` would give (the outer product
  written, then a flat streaming update ``g += c hebb``, no indices);
* ``template``: the crossbar's own template: loops over rows ``i`` and columns ``j``, the
  indices computed (``post = i``, ``pre = j``), Brian2's statements unchanged (vectorised);
* ``dger``: row by row, ``r_i`` held, the row read and written once (the reference).

Prints microseconds per update (median of 5 rounds) and the ratios to ``dger``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

SOURCE = r"""
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
double *G, *H, *S, *R; int32_t *PRE, *POST; int NN;

// the loop of Brian2's generated code (local __restrict pointers, indices read per synapse)
#define BRIAN2_LOOP(PRAGMA)                                                              \
  double* __restrict g = G; double* __restrict s = S; double* __restrict r = R;          \
  int32_t* __restrict pre = PRE; int32_t* __restrict post = POST; const int n = NN;      \
  PRAGMA                                                                                 \
  for (int k = 0; k < n; k++) {                                                          \
    const int32_t b = post[k]; const int32_t a = pre[k];                                 \
    const double gk = g[k]; g[k] = c * (s[a] * r[b]) + gk;                               \
  }
__attribute__((noinline)) void brian2(double c) { BRIAN2_LOOP() }
__attribute__((noinline)) void brian2_ivdep(double c) { BRIAN2_LOOP(_Pragma("GCC ivdep")) }
__attribute__((noinline)) void hebb(int n, int m, double c) {
  for (int i = 0; i < n; i++) {
    const double a = R[i]; double* __restrict row = H + (size_t)i * m;
    const double* __restrict s = S;
    for (int j = 0; j < m; j++) row[j] = a * s[j];
  }
  double* __restrict g = G; const double* __restrict h = H; const int nn = NN;
  for (int k = 0; k < nn; k++) g[k] = c * h[k] + g[k];
}
__attribute__((noinline)) void tmpl(int n, int m, double c) {
  double* __restrict g = G; double* __restrict s = S; double* __restrict r = R;
  for (int i = 0; i < n; i++) {
    const int32_t b = i; const int row = i * m;
    for (int j = 0; j < m; j++) {
      const int k = row + j; const int32_t a = j;
      const double gk = g[k]; g[k] = c * (s[a] * r[b]) + gk;
    }
  }
}
__attribute__((noinline)) void dger(int n, int m, double c) {
  for (int i = 0; i < n; i++) {
    const double a = c * R[i]; double* __restrict row = G + (size_t)i * m;
    const double* __restrict s = S;
    for (int j = 0; j < m; j++) row[j] += a * s[j];
  }
}
template <class F> double median_us(F f, int reps) {
  std::vector<double> t;
  for (int round = 0; round < 5; round++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < reps; k++) f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                / reps * 1e6);
  }
  std::sort(t.begin(), t.end());
  return t[2];
}
int main(int argc, char** argv) {
  const int n = atoi(argv[1]), m = atoi(argv[2]); NN = n * m;
  std::vector<double> g(NN, 0.1), h(NN, 0.0), s(m, 0.3), r(n, 0.2);
  std::vector<int32_t> pre(NN), post(NN);
  for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) { pre[i*m+j] = j; post[i*m+j] = i; }
  G = g.data(); H = h.data(); S = s.data(); R = r.data(); PRE = pre.data(); POST = post.data();
  const int reps = std::max(3, 100000000 / NN);
  const double c = 1e-9;
  double tb = median_us([&] { brian2(c); }, reps);
  double tv = median_us([&] { brian2_ivdep(c); }, reps);
  double th = median_us([&] { hebb(n, m, c); }, reps);
  double tt = median_us([&] { tmpl(n, m, c); }, reps);
  double td = median_us([&] { dger(n, m, c); }, reps);
  printf("(%d, %d): brian2 %.1f us (%.2fx dger), brian2 ivdep %.1f us (%.2fx), "
         "hebb %.1f us (%.2fx), template %.1f us (%.2fx), dger %.1f us\n", n, m, tb, tb / td,
         tv, tv / td, th, th / td, tt, tt / td, td);
  return 0;
}
"""

#: Brian2 2.9's default flags for generated C++ (prefs codegen.cpp.extra_compile_args_gcc)
FLAGS = ["-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", "-std=c++11"]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sizes = [tuple(map(int, argv[:2]))] if len(argv) >= 2 else [(256, 512), (1024, 2048)]
    with tempfile.TemporaryDirectory(prefix="plasticity_loop_") as tmp:
        src, exe = os.path.join(tmp, "loop.cpp"), os.path.join(tmp, "loop")
        with open(src, "w") as f:
            f.write(SOURCE)
        subprocess.run(["g++", *FLAGS, src, "-o", exe], check=True)
        for n, m in sizes:
            print(subprocess.run([exe, str(n), str(m)], check=True, capture_output=True,
                                 text=True).stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
