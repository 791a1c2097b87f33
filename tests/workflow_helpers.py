"""Helpers for tests that run the real Snakemake workflow."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml

from lmtflow.workflow import run_snakemake

FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")


def write_config(path: Path, **sections) -> Path:
    """A config file with the given top-level sections."""
    path.write_text(yaml.safe_dump(sections))
    return path


def run(data_lmt, work_dir: Path, obsnums, configfile: Path | None = None, check=True):
    """Run the workflow in ``work_dir``; return (process, Counter of rules that ran)."""
    proc = run_snakemake(
        data_lmt, work_dir / "work", obsnums, cores=2, directory=work_dir,
        configfile=configfile, check=check,
    )  # fmt: skip
    ran = Counter(FINISHED.findall(proc.stderr))
    ran.pop("all", None)
    return proc, ran


def rsr_config(path: Path, lines: list[dict], combo: list[int], source: str = "I10565") -> Path:
    """A config reducing the rsr preset's Bs ObsNums 33551, 33553 and the combination
    ``combo`` (in the order given), each true line kept out of the baselines (xlines +/- 0.4)."""
    xlines = [v for ln in lines for v in (ln["freq_ghz"], 0.4)]
    return write_config(
        path,
        defaults={"rsr": {"xlines": ",".join(f"{v:g}" for v in xlines)}},
        sources={source: {"obsnums": [33551, 33553], "combinations": [{"obsnums": combo}]}},
    )


DRY_RULE = re.compile(r"^\s*(?:local)?rule (\w+):$")
DRY_WILDCARDS = re.compile(r"^\s*wildcards: (.*)$")


def dry_jobs(data_lmt, run_dir: Path, obsnums, configfile: Path) -> tuple[list, str]:
    """(rule, ObsNum or combination) of every job a run would execute (a real ``snakemake
    -n`` in ``run_dir``, nothing is run), sorted, and Snakemake's output. Jobs of a group
    (one ObsNum's chain) are listed indented: every ``rule`` line starts a job."""
    proc = run_snakemake(data_lmt, run_dir / "work", obsnums, directory=run_dir,
                         configfile=configfile, extra_args=["-n"])  # fmt: skip
    jobs: list[list] = []
    for line in proc.stdout.splitlines():
        if m := DRY_RULE.match(line):
            jobs.append([m[1], None])
        elif (m := DRY_WILDCARDS.match(line)) and jobs:
            w = dict(kv.split("=", 1) for kv in m[1].split(", ") if "=" in kv)
            jobs[-1][1] = w.get("combo") or w.get("obsnum")
    return sorted((rule, label) for rule, label in jobs), proc.stdout
