"""Weight bits (2 to 10) against dictionary quality on bars, nearest versus stochastic rounding.

Sweep ``sweeps/weight_bits.toml``: the bars of ``configs/bars.toml`` (20000 patches) learned
with the conductances stored on ``2^bits - 1`` levels in [-1, 1] and re-quantised after every
plasticity step. Nearest rounding returns every update smaller than half an LSB to where it
was, so learning stalls once the per-step update ``K dt / tau_Phi * r s / sigma^2`` falls
below LSB / 2; stochastic rounding keeps the expected update.

    python weight_bits_study.py [--workers 2]

Writes ``results/weight_bits/`` and ``results/weight_bits.png``.
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import run_study, save_figure


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    idx = run_study("weight_bits", args.workers)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for rounding, color in (("nearest", "C0"), ("stochastic", "C1")):
        rows = sorted((r for r in idx if r.get("status") == "ok" and r["weights.rounding"] == rounding),
                      key=lambda r: r["weights.bits"])
        bits = np.array([r["weights.bits"] for r in rows], dtype=float)
        mean = np.array([r["recovery_mean"] for r in rows], dtype=float)
        worst = np.array([r["recovery_min"] for r in rows], dtype=float)
        ax.plot(bits, mean, "o-", color=color, label=f"{rounding}: mean cosine")
        ax.plot(bits, worst, "s--", color=color, label=f"{rounding}: worst bar")
        print(f"{rounding}: " + ", ".join(f"{int(b)} bits: mean {m:.3f} min {w:.3f}"
                                           for b, m, w in zip(bits, mean, worst)))
    ax.set_xlabel("weight bits")
    ax.set_ylabel("cosine to the true bars")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("bars learned with quantised weights (20000 patches)")
    print(idx.summary())
    save_figure(fig, "weight_bits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
