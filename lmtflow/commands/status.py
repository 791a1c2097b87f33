"""``lmtflow status [CONFIG ...] [OBSNUM ...]``: what is complete, out of date (and why) or
missing, per ObsNum, combination and attempt.

The answer is Snakemake's own: ``snakemake --detailed-summary`` on the same Snakefile, config
and directory as ``lmtflow run`` gives, for every output file of the DAG, its status (``ok``,
``missing``, ``updated input files``, ``params changed``, ``set of input files changed``,
``rule implementation changed``) and plan (``update pending``). This module only groups those
lines by the work-tree directory they sit in and words the reasons; it decides nothing itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .run import add_config_arguments
from .summary import format_table

_BANK = re.compile(r"__(\d)(?:\.|$)")
PARAM_RULES = ("step_params", "combo_params", "srdp_params")


@dataclass
class SummaryLine:
    """One output file of Snakemake's detailed summary."""

    path: str
    rule: str
    status: str
    pending: bool
    inputs: list[str]


@dataclass
class Group:
    """The files of one ObsNum or combination directory in one attempt."""

    label: str
    attempt: str
    files: list[SummaryLine] = field(default_factory=list)

    @property
    def state(self) -> str:
        if any(f.status == "missing" for f in self.files):
            return "missing"
        if any(f.pending or f.status != "ok" for f in self.files):
            return "out of date"
        return "complete"

    def reasons(self) -> list[str]:
        """Why the group is out of date or missing, as Snakemake says it, per rule."""
        out: list[str] = []
        missing = [f for f in self.files if f.status == "missing"]
        if missing:
            rules = sorted({f.rule for f in missing})
            out.append(f"{len(missing)} file(s) missing ({', '.join(rules)})")
        for f in self.files:
            if f.status in ("ok", "missing"):
                continue
            name = os.path.basename(f.path)
            if f.status == "params changed" and f.rule in PARAM_RULES:
                why = f"parameter changed: {name}"
            elif f.status == "updated input files":
                newer = _newer_inputs(f)
                why = f"input newer than {name}: {', '.join(newer) or '(an input)'}"
            else:
                why = f"{f.status}: {name} (rule {f.rule})"
            if why not in out:
                out.append(why)
        if not out and self.state == "out of date":
            rules = sorted({f.rule for f in self.files if f.pending})
            out.append(f"follows a change upstream (will re-run: {', '.join(rules)})")
        return out


def _newer_inputs(line: SummaryLine) -> list[str]:
    """The inputs of an output that are newer than it (what Snakemake's status refers to)."""
    try:
        mtime = os.stat(line.path).st_mtime
    except OSError:
        return []
    newer = []
    for path in line.inputs:
        try:
            if os.stat(path).st_mtime > mtime:
                newer.append(os.path.basename(path))
        except OSError:
            continue
    return newer


def parse_summary(text: str) -> list[SummaryLine]:
    """The lines of ``snakemake --detailed-summary`` (a tab-separated table)."""
    rows = [line.split("\t") for line in text.splitlines() if "\t" in line]
    if not rows or rows[0][0] != "output_file":
        return []
    head = rows[0]
    col = {name: head.index(name) for name in ("output_file", "rule", "status", "plan")}
    inputs = head.index("input-file(s)") if "input-file(s)" in head else None
    out = []
    for row in rows[1:]:
        if len(row) < len(head):
            continue
        ins = row[inputs].split(",") if inputs is not None and row[inputs] != "-" else []
        out.append(SummaryLine(row[col["output_file"]], row[col["rule"]], row[col["status"]],
                               row[col["plan"]] == "update pending", ins))  # fmt: skip
    return out


def group_lines(lines: Iterable[SummaryLine], work: Path) -> list[Group]:
    """Group summary lines by ``<ProjectId>/<ObsNum or combination>[/attempts/<name>]``."""
    groups: dict[tuple[str, str], Group] = {}
    for line in lines:
        try:
            parts = Path(line.path).resolve().relative_to(work.resolve()).parts
        except ValueError:
            continue
        if len(parts) < 3:  # the project index and other project-level files
            key = (f"{parts[0]} (project)", "")
        else:
            attempt = parts[3] if parts[2] == "attempts" and len(parts) > 3 else ""
            key = (parts[1], attempt)
        groups.setdefault(key, Group(*key)).files.append(line)
    return sorted(groups.values(), key=lambda g: (g.label, g.attempt))


def _cmd(args: argparse.Namespace) -> int:
    from ..runconfig import build_run_config, nothing_to_do, split_arguments
    from ..targets import scan_config
    from ..workflow import snakemake_command

    configs, obsnums = split_arguments(args.inputs)
    run = build_run_config(configs, obsnums, args.set, None, args.data_lmt, args.work_lmt)
    if not run.obsnums():
        print(nothing_to_do(run.config))
        return 0
    scan_config(run.config)  # header errors before Snakemake starts
    workdir = Path(args.workdir).resolve() if args.workdir else run.work_lmt
    configfile = run.write(run.work_lmt / ".lmtflow" / "status.yaml")
    cmd = snakemake_command(run.data_lmt, run.work_lmt, run.config["obsnums"], cores=1,
                            directory=workdir, configfile=configfile, targets=[args.target],
                            extra_args=["--detailed-summary"])  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = parse_summary(proc.stdout)
    if proc.returncode != 0 or not lines:
        print(f"lmtflow status: snakemake --detailed-summary failed:\n{proc.stderr[-3000:]}",
              file=sys.stderr)  # fmt: skip
        return 1
    groups = group_lines(lines, run.work_lmt)
    if args.json:
        doc = [{"label": g.label, "attempt": g.attempt or "base", "state": g.state,
                "reasons": g.reasons(), "files": len(g.files)} for g in groups]  # fmt: skip
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    rows = [(g.label, g.attempt or "base", g.state, str(len(g.files)), "; ".join(g.reasons()))
            for g in groups]  # fmt: skip
    print(format_table(rows, ("ObsNum/combination", "attempt", "state", "files", "why")))
    counts = {s: sum(g.state == s for g in groups) for s in ("complete", "out of date", "missing")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" (from Snakemake's DAG, "
          f"directory {workdir})")  # fmt: skip
    return 0


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="what is complete, out of date (and why) or missing, per ObsNum and attempt",
        description="Ask Snakemake (--detailed-summary, same Snakefile, config and directory as "
        "lmtflow run) about every file of the reduction and group the answer per ObsNum, "
        "combination and attempt: complete; out of date, and why (a parameter changed, an "
        "input is newer, the code changed); missing.",
    )
    add_config_arguments(p, "a config value, as for lmtflow run: what would it re-run?")
    p.add_argument("--json", action="store_true", help="JSON instead of the table")
    p.set_defaults(func=_cmd)
