"""``lmtflow run [CONFIG ...] [OBSNUM ...]``: reduce with the workflow, show progress, list the
products.

Everything is checked before Snakemake starts: the merged config against the schema and every
ObsNum against its raw headers (the Snakefile does the same checks again). Snakemake runs as
``python -m snakemake`` on the package's Snakefile with ``--directory`` set to the work tree
(or ``--workdir``), so its state (``.snakemake/``) never lands in the package directory or the
current one; ``--profile local|slurm`` are the profiles of ``profiles/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from .progress import ProgressBar, RunLog

LOG_TAIL = 25
TARGETS = {"all": "all", "science": "science"}
"""Named targets: ``all`` (rule all: SRDP, QA plots, pages) and ``science`` (rule science:
the science-ready products only, no QA)."""


def profile_path(name: str) -> Path:
    """``local``/``slurm`` -> ``profiles/<name>``; anything else is a directory path."""
    from ..workflow import REPO

    path = REPO / "profiles" / name if name in ("local", "slurm") else Path(name)
    if not (path / "config.yaml").is_file():
        from ..errors import LmtflowError

        raise LmtflowError(f"profile {name!r}: no {path / 'config.yaml'}")
    return path.resolve()


def tail(path: Path, n: int = LOG_TAIL) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"    (cannot read {path}: {exc.strerror})"
    return "\n".join("    " + line for line in lines[-n:]) or "    (empty)"


def snakemake_args(args: argparse.Namespace) -> list[str]:
    """Options passed through to Snakemake."""
    extra = []
    if args.profile:
        extra += ["--profile", str(profile_path(args.profile))]
    if args.dry_run:
        extra += ["--dry-run"]
    if args.keep_going:
        extra += ["--keep-going"]
    return extra


def follow(
    cmd: list[str], log_path: Path, verbose: bool, quiet: bool = False
) -> tuple[int, RunLog]:
    """Run ``cmd``, draw progress from its log (or echo it; ``quiet``: neither, as for a dry
    run), keep the whole log in a file."""
    log, bar = RunLog(), ProgressBar()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as keep:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)  # fmt: skip
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                keep.write(line)
                changed = log.feed(line)
                if verbose:
                    sys.stderr.write(line)
                elif changed and not quiet:
                    bar.update(log)
        except KeyboardInterrupt:  # Snakemake got the same SIGINT: let it stop its jobs
            sys.stderr.write("\nlmtflow run: interrupted; waiting for Snakemake to stop\n")
            rest, _ = proc.communicate()
            keep.write(rest or "")
            raise
        finally:
            bar.close()
        return proc.wait(), log


def report_failure(log: RunLog, log_path: Path) -> None:
    for failure in log.failures or []:
        print(f"lmtflow run: rule {failure.rule} failed", file=sys.stderr)
        if failure.output:  # the job's own words (a script's traceback goes to Snakemake)
            shown = "\n".join("    " + t for t in failure.output[-LOG_TAIL:])
            print(f"  its output (last {LOG_TAIL} lines):\n{shown}", file=sys.stderr)
        for name in failure.logs:
            print(f"  log {name} (last {LOG_TAIL} lines):\n{tail(Path(name))}", file=sys.stderr)
    if not log.failures:
        print(f"lmtflow run: Snakemake failed; the end of its log:\n{tail(log_path)}",
              file=sys.stderr)  # fmt: skip
    print(f"lmtflow run: the whole log: {log_path}", file=sys.stderr)


def _cmd(args: argparse.Namespace) -> int:
    from ..attempts import AttemptPlan
    from ..runconfig import build_run_config, nothing_to_do, split_arguments
    from ..targets import WorkTree, scan_config
    from ..workflow import saved_config_path, snakemake_command
    from .summary import PRODUCT_HEADER, format_table, pages, product_rows

    configs, obsnums = split_arguments(args.inputs)
    run = build_run_config(configs, obsnums, args.set, args.attempt, args.data_lmt,
                           args.work_lmt)  # fmt: skip
    if not run.obsnums():
        print(nothing_to_do(run.config))
        return 0
    infos, combos = scan_config(run.config)  # header errors here, before any job
    for info in infos.values():
        for warning in info.warnings:
            print(f"lmtflow run: warning: {warning}", file=sys.stderr)
    tree = WorkTree(run.work_lmt, infos, combos, AttemptPlan(run.config, infos))
    attempts = [args.attempt] if args.attempt else ["", *sorted(run.config["attempts"])]
    products = [(a, p) for a in attempts for p in tree.products(a)]
    if args.attempt:  # that attempt's files (shared steps come from the base)
        wanted = [f for _, p in products for f in
                  (p.files if args.target == "science" else (p.page, p.archive))]  # fmt: skip
        targets = sorted({str(f) for f in wanted})
    else:
        targets = [TARGETS[args.target]]
    workdir = Path(args.workdir).resolve() if args.workdir else run.work_lmt
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    configfile = run.write(saved_config_path(run.work_lmt, "run", run.raw))
    cores = args.cores or os.cpu_count() or 1
    cmd = snakemake_command(run.data_lmt, run.work_lmt, run.config["obsnums"], cores=cores,
                            directory=workdir, configfile=configfile, targets=targets,
                            extra_args=snakemake_args(args))  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = run.work_lmt / ".lmtflow" / "logs" / f"run-{stamp}.log"
    rc, log = follow(cmd, log_path, args.verbose, quiet=args.dry_run)
    if rc != 0:
        report_failure(log, log_path)
        return 1
    if args.dry_run:
        print(f"dry run: {log.total or 0} job(s) would run" if not log.nothing_to_do else
              "dry run: nothing to do, every product is up to date")  # fmt: skip
        for rule, n in sorted(_planned(log_path).items()):
            print(f"  {rule:24s} {n}")
        return 0
    print("nothing to do: every product is up to date" if log.nothing_to_do else
          f"done: {sum(log.finished.values())} job(s) ran")  # fmt: skip
    print(format_table(product_rows(products, run.work_lmt), PRODUCT_HEADER))
    for index in pages(products, run.work_lmt):
        print(f"pages: {index}")
    print(f"log: {log_path}")
    if args.report is not None:
        return make_report(cmd, Path(args.report or run.work_lmt / "report.zip").resolve())
    return 0


def _planned(log_path: Path) -> dict[str, int]:
    """The job table of a dry run (``Job stats:`` in Snakemake's log): rule -> count."""
    out, inside = {}, False
    for line in log_path.read_text().splitlines():
        if line.startswith("Job stats:"):
            inside, out = True, {}
        elif inside:
            parts = line.split()
            if not parts:
                inside = False
            elif len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "all"):
                out[parts[0]] = int(parts[1])
    return out


def make_report(cmd: list[str], path: Path) -> int:
    """Snakemake's own report of the run just made (QA plots and products, per ObsNum)."""
    cut = cmd.index("--config")
    report_cmd = [*cmd[:cut], "--report", str(path), *cmd[cut:]]
    proc = subprocess.run(report_cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"lmtflow run: the report failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return 1
    print(f"report: {path}")
    return 0


def add_config_arguments(p: argparse.ArgumentParser, set_help: str) -> None:
    """What ``lmtflow run`` and ``lmtflow status`` both take: configs, ObsNums, values,
    the target, the trees and Snakemake's directory."""
    p.add_argument("inputs", nargs="*", metavar="CONFIG|OBSNUM",
                   help="config files (YAML) and ObsNums")  # fmt: skip
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    p.add_argument("--target", choices=sorted(TARGETS), default="all",
                   help="all: products, QA plots and pages (default); science: the "
                   "science-ready products only")  # fmt: skip
    p.add_argument("--data-lmt", help="raw tree (overrides the config and $DATA_LMT)")
    p.add_argument("--work-lmt", help="work tree (overrides the config and $WORK_LMT)")
    p.add_argument("--workdir", help="Snakemake's directory (.snakemake/; default the work tree)")


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="reduce ObsNums or a project file with the workflow (progress, product table)",
        description="Merge the config files (later ones win), add the ObsNums and --set values, "
        "check them and the raw headers, then run the workflow (Snakemake) with a progress bar "
        "and list the products with their rms and rms/radiometer. Snakemake's state goes in "
        "the work tree (or --workdir).",
    )
    add_config_arguments(
        p,
        "a config value: grid.resolution=14 (a step default, or the "
        "attempt's with --attempt), 79448.baseline.b_order=1 (one ObsNum)",
    )
    p.add_argument(
        "--attempt",
        metavar="NAME",
        help="run this attempt only (from the config, or defined by --set)",
    )
    p.add_argument("--profile", metavar="local|slurm|PATH", help="a Snakemake profile")
    p.add_argument("--cores", type=int, help="cores for local jobs (default: all)")
    p.add_argument("-n", "--dry-run", action="store_true", help="show what would run")
    p.add_argument(
        "-k",
        "--keep-going",
        action="store_true",
        help="go on with independent jobs after a failure",
    )
    p.add_argument(
        "--report",
        nargs="?",
        const="",
        metavar="ZIP",
        help="then write Snakemake's report (default <work_lmt>/report.zip)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show Snakemake's log")
    p.set_defaults(func=_cmd)
