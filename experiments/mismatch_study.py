"""Mismatch tolerance: posterior error and learned-dictionary quality against mismatch sigma.

* ``sweeps/mismatch_posterior.toml``: the 8-latent posterior of ``configs/slab_8.toml``
  sampled by chips with one mismatch figure ``s`` (G_m, C and synapse gains: relative sigma
  s; threshold offsets s x V_u; synapse offsets s / 10), three chips per ``s``; posterior
  error = largest marginal TV distance of a code against MALA on the intended posterior.
* ``sweeps/mismatch_bars.toml``: learning the bars (``configs/bars.toml``, 20000 patches) on
  such chips; dictionary quality = the mean and minimum cosine between each true bar and its
  best learned atom (``recovery_mean``, ``recovery_min``).

    python mismatch_study.py [--workers 2] [--skip-learning]

Writes ``results/mismatch_{posterior,bars}/`` and ``results/mismatch.png``.
"""

from __future__ import annotations

import argparse

from _common import by_key, run_study, save_figure


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--skip-learning", action="store_true")
    args = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    post = run_study("mismatch_posterior", args.workers)
    key = "mismatch.gm_sigma"
    s, mean, lo, hi = by_key(post, key, "posterior_error")
    axes[0].errorbar(s, mean, yerr=[mean - lo, hi - mean], fmt="o-", capsize=3)
    axes[0].set_xlabel("mismatch sigma s")
    axes[0].set_ylabel("posterior error (max TV of a code vs MALA)")
    axes[0].set_title("8-latent posterior, 3 chips per s")
    print("posterior error: " + ", ".join(f"s = {a:g}: {m:.3f} [{l:.3f}, {h:.3f}]"
                                          for a, m, l, h in zip(s, mean, lo, hi)))
    print(post.summary())
    if not args.skip_learning:
        bars = run_study("mismatch_bars", args.workers)
        for metric, style in (("recovery_mean", "o-"), ("recovery_min", "s--")):
            s, mean, lo, hi = by_key(bars, key, metric)
            axes[1].errorbar(s, mean, yerr=[mean - lo, hi - mean], fmt=style, capsize=3, label=metric)
            print(f"bars {metric}: " + ", ".join(f"s = {a:g}: {m:.3f}" for a, m in zip(s, mean)))
        axes[1].set_xlabel("mismatch sigma s")
        axes[1].set_ylabel("cosine to the true bars")
        axes[1].set_title("bars learned on a mismatched chip")
        axes[1].legend(fontsize=8)
        print(bars.summary())
    save_figure(fig, "mismatch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
