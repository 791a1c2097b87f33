"""The ``lmtflow`` command: argparse subcommands dispatched by :func:`main`.

Add a subcommand by writing ``_add_<name>(subparsers)`` that registers a parser with
``set_defaults(func=...)`` and listing it in ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from lmtflow.commands import COMMANDS
from lmtflow.errors import LmtflowError


def _cmd_simulate(args: argparse.Namespace) -> int:
    from lmtflow.sim import load_config, simulate, simulate_preset

    if args.config:
        res = simulate(
            load_config(args.config),
            args.out,
            seed=args.seed,
            truth_dir=args.truth,
            dtype=args.dtype,
            name=str(args.config),
        )
    else:
        res = simulate_preset(
            args.preset, args.out, seed=args.seed, truth_dir=args.truth, dtype=args.dtype,
            tiles=args.tiles, dual_bank=args.dual_bank,
        )  # fmt: skip
    print(f"raw data ($DATA_LMT): {res.data_lmt}")
    print(f"truth:                {res.truth_path}")
    for role, nums in res.obsnums.items():
        if nums:
            print(f"  {role:4s} {' '.join(str(n) for n in nums)}")
    if (res.truth_dir / "project.yaml").exists():
        print(f"project config:       {res.truth_dir / 'project.yaml'}")
    mb = res.nbytes / 1e6
    print(f"{len(res.files)} files, {mb:.1f} MB in {res.seconds:.1f} s")
    return 0


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    from lmtflow.sim.presets import PRESETS

    p = sub.add_parser(
        "simulate",
        help="write simulated raw LMT (SEQUOIA/1MM) data and its truth",
        description="Write a $DATA_LMT tree (ifproc/, spectrometer/roachN/) from a sky model; "
        "the truth (truth.json, config.yaml) goes to <out>_truth/ beside it.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", default="small", choices=sorted(PRESETS), help="(default small)")
    src.add_argument("--config", help="simulator YAML config instead of a preset")
    p.add_argument("--out", required=True, help="output $DATA_LMT directory")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--truth", help="truth directory (default <out>_truth)")
    p.add_argument("--dtype", choices=["float32", "float64"], help="roach Data dtype")
    p.add_argument("--tiles", type=int, help="mosaic preset: number of OTF maps (default 4)")
    p.add_argument("--dual-bank", action="store_true", help="mosaic preset: CO and 13CO banks")
    p.set_defaults(func=_cmd_simulate)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.out, args.cores, args.seed)
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="simulate a demo data set and reduce it with the workflow",
        description="Simulate the 'demo' preset under OUT/data_lmt, reduce it with Snakemake "
        "into OUT/work_lmt and print where the science-ready products are.",
    )
    p.add_argument("--out", default="demo", help="directory for data and products (demo)")
    p.add_argument("--cores", type=int, default=None, help="cores for snakemake (all)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the simulation (1)")
    p.set_defaults(func=_cmd_demo)


def _add_web(sub: argparse._SubParsersAction) -> None:
    from .web.cli import add_web

    add_web(sub)


def _add_flags(sub: argparse._SubParsersAction) -> None:
    from .flags.tools import add_parser

    add_parser(sub)


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_simulate, _add_demo]
_SUBCOMMANDS += COMMANDS  # info, project, run, status (lmtflow/commands/)
_SUBCOMMANDS += [_add_flags, _add_web]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmtflow", description="LMT spectral-line reduction")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lmtflow COMMAND ...``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LmtflowError as exc:
        print(f"lmtflow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head, less ...: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
