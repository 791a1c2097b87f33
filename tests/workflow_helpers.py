"""Helpers for tests that run the real Snakemake workflow."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from lmtflow.workflow import run_snakemake, snakemake_command

FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")


def write_config(path: Path, **sections) -> Path:
    """A config file with the given top-level sections."""
    path.write_text(yaml.safe_dump(sections))
    return path


def copy_run(src: Path, dst: Path) -> Path:
    """Copy the run directory ``src`` (work tree, config files, .snakemake/) into ``dst``, every
    mtime kept, so Snakemake finds the copied products up to date and runs only what a new
    config or target adds. Snakemake's records (keyed by absolute path) do not carry over:
    in a copy, an edited parameter is seen through its parameter file's mtime but the
    step_params jobs that rewrite those files are not triggered, so a test of parameter
    re-runs works in the original directory (tests/test_rerun.py).

    The SDFITS files (most of the bytes) are hard links: lmtflow writes every product to a
    temporary file renamed into place (lmtflow/io/atomic.py), and Snakemake removes an output
    before its job runs again, so a re-run in either tree never changes the other's."""
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True, copy_function=_link_or_copy)
    return dst


def _link_or_copy(src: str, dst: str) -> None:
    if src.endswith(".sdfits"):
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


class StartedRun:
    """A workflow run started in the background by :func:`start`, in run directory ``dir``;
    :meth:`result` waits for it and returns what :func:`run` returns."""

    def __init__(self, cmd: list[str], run_dir: Path, env: dict[str, str] | None = None):
        self.dir = run_dir
        # its output in unnamed files, not in the run directory (tests copy and compare it)
        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by result()
        self.err = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, text=True,
                                     stdin=subprocess.DEVNULL, env=env)  # fmt: skip

    def result(self, check: bool = True, timeout: float | None = None
               ) -> tuple[subprocess.CompletedProcess, Counter]:  # fmt: skip
        """Wait (a run past ``timeout`` seconds is stopped, and TimeoutExpired raised); with
        ``check``, a failed run raises RuntimeError with the end of its log."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        texts = []
        for f in (self.out, self.err):
            f.seek(0)
            texts.append(f.read())
            f.close()
        proc = subprocess.CompletedProcess(self.proc.args, rc, *texts)
        if check and rc != 0:
            raise RuntimeError(f"snakemake failed ({rc}):\n{proc.stderr[-4000:]}")
        ran = Counter(FINISHED.findall(proc.stderr))
        ran.pop("all", None)
        return proc, ran

    def stop(self) -> None:
        """Interrupt a run still going (Snakemake then stops its jobs, and cancels its cluster
        jobs on SLURM); killed if it has not ended a minute later."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()


def start(data_lmt, work_dir: Path, obsnums, configfile: Path | None = None,
          extra_args: Sequence[str] = (), targets: Sequence[str] = (),
          env: dict[str, str] | None = None) -> StartedRun:  # fmt: skip
    """Start the run :func:`run` makes, without waiting (conftest starts the session's
    independent reductions together); ``extra_args`` (a profile), ``targets`` and ``env`` (a
    SLURM cluster's) as for the SLURM tests."""
    cmd = snakemake_command(data_lmt, work_dir / "work", obsnums, cores=2, directory=work_dir,
                            configfile=configfile, targets=targets,
                            extra_args=extra_args)  # fmt: skip
    return StartedRun(cmd, work_dir, env)


def run(data_lmt, work_dir: Path, obsnums, configfile: Path | None = None, check=True):
    """Run the workflow in ``work_dir``; return (process, Counter of rules that ran)."""
    return start(data_lmt, work_dir, obsnums, configfile).result(check)


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


def job_warnings(tree: Path) -> tuple[list[Path], list[str]]:
    """The job logs under ``tree`` (``.../logs/*.log``) and every line of them that reports a
    Python warning (jobs log their warnings: ``lmtflow.pipeline.runner.setup_logging``)."""
    logs = sorted(tree.rglob("logs/*.log"))
    return logs, [f"{p.name}: {line}" for p in logs for line in p.read_text().splitlines()
                  if "Warning" in line]  # fmt: skip
