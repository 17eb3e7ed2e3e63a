"""Command line: ``circuit-sim infer | budget | demo | learn | report | sweep | export-spice``.

Bad input (a wrong unit, an impossible value, a missing file) prints one line naming the
field, what was expected and what was given, and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from .errors import ConfigError

EXIT_BAD_INPUT = 2


def _outputs(out: str | None, config_path: Path, suffix: str = ".h5") -> tuple[Path, Path]:
    h5 = Path(out) if out else Path("output") / (config_path.stem + suffix)
    return h5, h5.with_suffix(".png")


def load_with_sets(args):
    """The command's config with its ``--set key=value`` changes (dotted keys, the sweep
    grammar) and ``--seed`` / ``--backend`` applied, validated like a file."""
    from .config import load_config
    from .config.keys import parse_assignment

    cfg = load_config(args.config)
    changes = dict(parse_assignment(a) for a in (getattr(args, "set", None) or []))
    if changes:
        cfg = cfg.replace(**changes)
    return cfg.with_overrides(seed=getattr(args, "seed", None),
                              backend=getattr(args, "backend", None))


def cmd_infer(args) -> int:
    cfg = load_with_sets(args)
    h5, png = _outputs(args.out, Path(args.config))
    return _infer_and_write(cfg, h5, png)


def _infer_and_write(cfg, h5: Path, png: Path) -> int:
    from .run.inference import run_inference

    design = cfg.design
    ts = design.timestep
    print(design.noise.budget.table())
    if ts.auto:
        print(f"run.dt not given: chose dt = {ts.dt:.3g} s (h = dt/tau_u = "
              f"{ts.dt / design.tau_u:.3g}) from lambda_max and the integrator "
              f"({design.integrator})")
    print(f"running {ts.n_steps} steps on backend '{design.backend}' ...", flush=True)
    result = run_inference(design, progress=sys.stderr, out=h5)  # writes h5 as it finishes
    print(result.summary())
    result.plot(png)
    print(f"wrote {h5} and {png}")
    return 130 if result.interrupted else 0


def cmd_budget(args) -> int:
    cfg = load_with_sets(args)
    budget = cfg.design.noise.budget
    print(budget.table())
    png = Path(args.out) if args.out else Path("output") / (Path(args.config).stem + "_budget.png")
    png.parent.mkdir(parents=True, exist_ok=True)
    budget.plot(png)
    print(f"wrote {png}")
    return 0


def demo_config_text() -> str:
    """The built-in default design (a copy ships as experiments/configs/slab_2d.toml)."""
    return resources.files("circuit_sim").joinpath("data/slab_2d.toml").read_text()


def cmd_demo(args) -> int:
    from .config import loads_config

    from .config.keys import parse_assignment

    cfg = loads_config(demo_config_text())
    changes = dict(parse_assignment(a) for a in (getattr(args, "set", None) or []))
    if changes:
        cfg = cfg.replace(**changes)
    cfg = cfg.with_overrides(seed=args.seed, backend=args.backend)
    out = Path(args.out_dir)
    print("circuit-sim demo: a 2-latent spike-and-slab posterior sampled by a 10 fF / 1 uS "
          "node array\nwhose thermal noise is topped up by injected noise to T_eff = 1.\n")
    return _infer_and_write(cfg, out / "demo.h5", out / "demo.png")


def cmd_learn(args) -> int:
    from .config import load_config
    from .results.figures import plot_learning
    from .results.hdf5 import load_learning
    from .results.text import learning_summary
    from .run.learning import run_learning

    cfg = load_with_sets(args)
    if args.resume:
        out = Path(args.resume)
        if args.out and Path(args.out) != out:
            print("circuit-sim: error: --out and --resume name different files", file=sys.stderr)
            return EXIT_BAD_INPUT
    else:
        out = Path(args.out) if args.out else Path("output") / (Path(args.config).stem + "_learn.h5")
    design = cfg.design
    print(design.noise.budget.table())
    print(f"learning: {design.timestep.n_steps} steps of {design.dt:.3g} s on backend "
          f"'{design.backend}'" + (f", resuming {out}" if args.resume else "") + " ...",
          flush=True)
    run_learning(design, out, resume=bool(args.resume), progress=sys.stderr)
    data = load_learning(out)
    print(learning_summary(data))
    png = plot_learning(data, out.with_suffix(".png"))
    print(f"wrote {out} and {png}")
    return 130 if data["attrs"].get("interrupted") else 0


def cmd_report(args) -> int:
    from .results.figures import plot_learning
    from .results.hdf5 import load_learning
    from .results.text import learning_summary

    data = load_learning(args.file)
    print(learning_summary(data))
    png = plot_learning(data, Path(args.out) if args.out else Path(args.file).with_suffix(".png"))
    print(f"wrote {png}")
    return 0


def _cmd_export_spice(args) -> int:
    from .spice import cmd_export_spice

    return cmd_export_spice(args)


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="change one config field (repeatable), e.g. --set "
                             "run.duration=\"20 us\" --set noise.1.fill_to=1.5")


def _add_run_overrides(parser: argparse.ArgumentParser) -> None:
    """The ``--seed``, ``--backend`` and ``--set`` options of the commands that run the circuit."""
    _add_set(parser)
    parser.add_argument("--seed", type=int, help="override run.seed")
    from .config.sections import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, help="override run.backend")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="circuit-sim",
        description="Simulate an analog chip that samples sparse-coding posteriors with its own "
                    "physical noise (Brian2, physical units).")
    sub = p.add_subparsers(dest="command", required=True)

    pi = sub.add_parser("infer", help="run the inference circuit of a TOML config",
                        description="Run the inference circuit described by CONFIG: print the "
                                    "noise budget and a summary, write an HDF5 file and a PNG.")
    pi.add_argument("config", help="TOML configuration file")
    pi.add_argument("--out", help="HDF5 output file (default output/<config>.h5); the PNG goes next to it")
    _add_run_overrides(pi)
    pi.set_defaults(func=cmd_infer)

    pb = sub.add_parser("budget", help="print the noise budget of a config and plot the PSDs",
                        description="Print the noise budget table of CONFIG (each source's PSD, "
                                    "its share of T_eff, the total) and write the PSD figure.")
    pb.add_argument("config", help="TOML configuration file")
    pb.add_argument("--out", help="PNG file (default output/<config>_budget.png)")
    _add_set(pb)
    pb.set_defaults(func=cmd_budget)

    pl = sub.add_parser("learn", help="learn a dictionary (and thresholds) from a stream of inputs",
                        description="Run inference and plasticity together on the input stream of "
                                    "CONFIG ([input] kind = bars | file | images, [learning]); "
                                    "snapshots go to an HDF5 file as the run goes.")
    pl.add_argument("config", help="TOML configuration file with a [learning] section")
    pl.add_argument("--out", help="HDF5 output file (default output/<config>_learn.h5)")
    pl.add_argument("--resume", metavar="FILE.h5", help="continue an interrupted run from its last snapshot")
    _add_run_overrides(pl)
    pl.set_defaults(func=cmd_learn)

    pr = sub.add_parser("report", help="summarise and plot a learning run",
                        description="Print a summary of a learning HDF5 file and draw the learned "
                                    "dictionary and the learning curves.")
    pr.add_argument("file", help="HDF5 file written by circuit-sim learn")
    pr.add_argument("--out", help="PNG file (default: next to FILE)")
    pr.set_defaults(func=cmd_report)

    ps = sub.add_parser("sweep", help="run many design points of a config on Dask",
                        description="Run every point of SWEEP.toml (a base config and a grid or "
                                    "list of config fields) in parallel on Dask; one HDF5 file "
                                    "per point and an index (CSV and HDF5) in --out; rerunning "
                                    "into the same directory skips finished points.")
    from .sweep.cli import add_sweep_arguments
    add_sweep_arguments(ps)

    px = sub.add_parser("export-spice", help="write an ngspice netlist of a small circuit",
                        description="Write an ngspice netlist of CONFIG's circuit (capacitor "
                                    "nodes, behavioural drive currents) and a file of its noise "
                                    "currents (seeded samples with the budget's PSDs, played by "
                                    "an XSPICE filesource) for a cross-check; prints the "
                                    "expected ngspice CPU time.")
    px.add_argument("config", help="TOML configuration file (at most 8 latent units)")
    px.add_argument("-o", "--out", help="netlist file (default output/<config>.cir); the noise "
                    "samples go next to it (.noise)")
    px.add_argument("--duration", metavar="TIME",
                    help="simulated time, e.g. \"20 us\" (default: run.duration)")
    _add_set(px)
    px.add_argument("--step", metavar="TIME",
                    help="noise sample time NT, also ngspice's largest step (default "
                    "tau_u / (50 lambda_max))")
    px.set_defaults(func=_cmd_export_spice)

    pd = sub.add_parser("demo", help="run the built-in default design point",
                        description="Run the built-in 2-latent spike-and-slab design point and "
                                    "compare the circuit's samples with the exact posterior.")
    pd.add_argument("--out-dir", default="output", help="directory for demo.h5 and demo.png")
    _add_run_overrides(pd)
    pd.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"circuit-sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("circuit-sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
