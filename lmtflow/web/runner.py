"""``python -m lmtflow.web.runner JOB_ID``: run one web job (started by the dispatcher of
:mod:`lmtflow.web.jobs`; the database comes from ``$LMTFLOW_WEB_DB``).

The runner writes the job's own config file, takes its project's lock (``flock``, held until
it exits), then runs the same workflow as :func:`lmtflow.workflow.run_attempt` (same config,
same targets: the attempt's pages and zips) as ``python -m snakemake`` with ``--cores`` from
``web.yaml`` or its SLURM profile (job names prefixed ``lmtweb-<server>-<id>``). Progress and
failures are read from Snakemake's log by :class:`lmtflow.commands.progress.RunLog`, the parser of
``lmtflow run``; the whole log goes to ``log.txt``. SIGINT or SIGTERM (a cancel) reach
Snakemake too (one process group); Snakemake stops its jobs and removes their incomplete
outputs, and the job ends ``cancelled``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..commands.progress import RunLog
from ..recorded import attempts_on_disk
from .db import connect
from .jobs import ENV_DB, ENV_RUNNER, finish, get_job, job_dir, lock_path, snakemake_dir
from .slurm import cancel_cluster_jobs, profile_args, uses_slurm

if TYPE_CHECKING:
    from ..targets import Product

PROGRESS_EVERY_S = 0.3
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


def reproduce_command(job_id: int, attempt: str, work_lmt: Path, pid: str, runner: dict
                      ) -> list[str]:  # fmt: skip
    """The ``lmtflow run`` command that redoes a job by hand from its saved config."""
    cmd = ["lmtflow", "run", str(job_dir(work_lmt, job_id) / "config.yaml"),
           "--attempt", attempt, "--cores", str(runner.get("cores", 2)),
           "--workdir", str(snakemake_dir(work_lmt, pid))]  # fmt: skip
    if runner.get("profile"):
        cmd += ["--profile", str(runner["profile"])]
    return cmd


def compare_pages(work: Path, pid: str, products: Iterable[Product]) -> list[str]:
    """The attempts pages (every attempt side by side) of the job's ObsNums and combinations,
    remade so that they show the new attempt's column."""
    from .. import layout
    from .catalog import fields, patterns

    labels = {p.label for p in products}
    return sorted(str(layout.path(work, patterns(label)["compare"], **fields(pid, label)))
                  for label in labels)  # fmt: skip


def describe_failure(log: RunLog, lines: list[str]) -> str:
    """Which rule (and ObsNum or combination) failed, with the job's own last words."""
    if not log.failures:
        tail = "\n".join(lines[-15:])
        return f"Snakemake failed; the end of its log:\n{tail}"
    parts = []
    for f in log.failures:
        where = _wildcards_after(lines, f.rule)
        parts.append(f"rule {f.rule} failed" + (f" for {where}" if where else ""))
        if f.output:
            parts.append("\n".join(f.output[-12:]))
        for name in f.logs:
            with contextlib.suppress(OSError):
                parts.append("\n".join(Path(name).read_text(errors="replace").splitlines()[-12:]))
    return "\n".join(parts)


def _wildcards_after(lines: list[str], rule: str) -> str:
    """``obsnum=79448, bank=0`` of the failed job of ``rule``: its jobid from the error
    record, its wildcards from the record of its start (the error record has none)."""
    jobid = None
    for i, line in enumerate(lines):
        if line.strip() == f"Error in rule {rule}:":
            record = [ln.strip() for ln in lines[i + 1:i + 6]]
            jobid = next((ln for ln in record if ln.startswith("jobid:")), None)
    if jobid is None:
        return ""
    for i, line in enumerate(lines):
        if line.strip() == jobid:  # the job's start record: its fields follow, indented
            for field_line in lines[i + 1:i + 8]:
                if not field_line.startswith(" "):
                    break
                if m := _WILDCARDS.match(field_line):
                    pairs = [p.strip() for p in m.group(1).split(",")]
                    keep = ("obsnum", "combo", "bank")
                    return ", ".join(p for p in pairs if p.split("=")[0] in keep)
    return ""


def run_job(job_id: int) -> int:
    conn = connect(os.environ[ENV_DB])
    runner = json.loads(os.environ.get(ENV_RUNNER, "{}"))
    # A write transaction waits for the dispatcher's, which spawned us before its commit.
    conn.execute("BEGIN IMMEDIATE")
    job = get_job(conn, job_id)
    conn.execute("COMMIT")
    if job is None or job["state"] != "running":
        print(f"lmtflow web runner: job {job_id} is not running", file=sys.stderr)
        return 0
    stopping: list[int] = []

    def on_signal(signum, _frame) -> None:  # Snakemake in our group got it too
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    config = json.loads(job["config_json"])
    work = Path(config["work_lmt"])
    out = job_dir(work, job_id)
    out.mkdir(parents=True, exist_ok=True)
    configfile = out / "config.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    lock = lock_path(work, job["pid"])
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # for the runner's whole life
        return _run_locked(conn, job, runner, config, configfile, out, stopping)


def _run_locked(conn, job, runner, config, configfile, out, stopping) -> int:
    from ..workflow import plan_attempt, snakemake_command

    job_id, db = job["id"], os.environ[ENV_DB]
    work = Path(config["work_lmt"])
    smk = snakemake_dir(work, job["pid"])
    smk.mkdir(parents=True, exist_ok=True)
    # We hold the project's lock, so no Snakemake runs in this directory: a lock left by a
    # killed run is stale, and a relaunch must not need --unlock.
    shutil.rmtree(smk / ".snakemake" / "locks", ignore_errors=True)
    log_path = out / "log.txt"
    with open(log_path, "w") as keep:
        keep.write("$ " + shlex.join(reproduce_command(job_id, job["attempt"], work, job["pid"],
                                                       runner)) + "\n")  # fmt: skip
        try:
            cfg, infos, products, targets = plan_attempt(config, job["attempt"])
            targets += compare_pages(work, job["pid"], products)
            unexplained = attempts_on_disk(work / job["pid"], {p.label for p in products})
            unexplained -= set(cfg["attempts"])
            if unexplained:
                keep.write("lmtflow: warning: no saved config records the values of the "
                           f"attempts {', '.join(sorted(unexplained))}; their columns are "
                           "left out of the attempts pages\n")  # fmt: skip
            cmd = snakemake_command(cfg["data_lmt"], cfg["work_lmt"], sorted(infos),
                                    cores=runner.get("cores", 2), directory=smk,
                                    configfile=configfile, targets=targets,
                                    extra_args=profile_args(runner, job_id, db))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a bad config or header: the job's error
            keep.write(f"lmtflow: {exc}\n")
            finish(conn, job_id, "failed", f"lmtflow: {exc}")
            return 1
        log, lines, last = RunLog(), [], 0.0
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, bufsize=1)  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            keep.write(line)
            keep.flush()
            lines.append(line.rstrip("\n"))
            del lines[:-2000]
            if log.feed(line) and time.monotonic() - last > PROGRESS_EVERY_S:
                _progress(conn, job_id, log)
                last = time.monotonic()
        rc = proc.wait()
        _progress(conn, job_id, log)
        keep.write(f"lmtflow: snakemake exited with status {rc}\n")
        if rc != 0 and uses_slurm(runner):  # what an interrupted Snakemake left on the cluster
            left = cancel_cluster_jobs(job_id, db)
            if left:
                keep.write(f"lmtflow: cancelled SLURM jobs left behind: {' '.join(left)}\n")
    cancelled = stopping or conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?",
                                         (job_id,)).fetchone()[0]  # fmt: skip
    if rc == 0:
        finish(conn, job_id, "succeeded")
    elif cancelled:
        finish(conn, job_id, "cancelled", "cancelled by the user")
    else:
        finish(conn, job_id, "failed", describe_failure(log, lines))
    return 0 if rc == 0 else 1


def _progress(conn, job_id: int, log: RunLog) -> None:
    conn.execute("UPDATE jobs SET done = ?, total = ? WHERE id = ?",
                 (log.done, log.total, job_id))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m lmtflow.web.runner JOB_ID", file=sys.stderr)
        return 2
    return run_job(int(args[0]))


if __name__ == "__main__":
    sys.exit(main())
