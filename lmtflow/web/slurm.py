"""Web jobs on a SLURM cluster: the executor options of ``web.yaml``'s profile and the clean-up
of a job's cluster jobs.

Every cluster job of web job N is named ``lmtweb-<server>-N_<run id>`` (Snakemake's SLURM
executor puts ``--slurm-jobname-prefix`` before its run id), so ``squeue`` shows whose job it is
and a cancel can find what is left. ``<server>`` is a short hash of the service's database path:
two web services under one SLURM account (a test and a production server, say) number their jobs
from 1 each, and one must never cancel the other's. Snakemake cancels its own cluster jobs when
interrupted; the runner and the dispatcher cancel by name as well, for a Snakemake that was
killed before it could (a SIGKILLed runner, an escalated cancel).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from functools import cache

import yaml

PREFIX = "lmtweb"


def server_tag(database: str | os.PathLike) -> str:
    """Six hex digits naming a web service by its database (the resolved path)."""
    return hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:6]


def job_prefix(job_id: int, database: str | os.PathLike) -> str:
    """The SLURM job-name prefix of web job ``job_id`` of the service whose database is
    ``database`` (``^[A-Za-z0-9_-]{1,50}$``)."""
    return f"{PREFIX}-{server_tag(database)}-{int(job_id)}"


@cache
def _executor(profile: str) -> str:
    """The profile's ``executor`` ("" if it has none or cannot be read: the runner then
    fails the job with the profile's error, the dispatcher must not stop on it)."""
    from ..commands.run import profile_path
    from ..errors import LmtflowError

    try:
        raw = yaml.safe_load((profile_path(profile) / "config.yaml").read_text())
    except (LmtflowError, OSError, yaml.YAMLError):
        return ""
    return str(raw.get("executor", "")) if isinstance(raw, dict) else ""


def uses_slurm(runner: dict) -> bool:
    """Whether ``web.yaml``'s runner profile runs jobs through the SLURM executor."""
    return bool(runner.get("profile")) and _executor(str(runner["profile"])) == "slurm"


def profile_args(runner: dict, job_id: int, database: str | os.PathLike) -> list[str]:
    """Snakemake options of the executor named in web.yaml (none: the local executor)."""
    if not runner.get("profile"):
        return []
    from ..commands.run import profile_path

    args = ["--profile", str(profile_path(str(runner["profile"])))]
    if uses_slurm(runner):
        args += ["--slurm-jobname-prefix", job_prefix(job_id, database)]
    return args


def cancel_cluster_jobs(job_id: int, database: str | os.PathLike,
                        timeout: float = 30.0) -> list[str]:  # fmt: skip
    """``scancel`` this user's SLURM jobs named after web job ``job_id`` of the service of
    ``database``; their ids."""
    user = pwd.getpwuid(os.getuid()).pw_name
    start = job_prefix(job_id, database) + "_"
    try:
        listed = subprocess.run(["squeue", "-h", "-u", user, "-o", "%i %j"], capture_output=True,
                                text=True, timeout=timeout, env=os.environ)  # fmt: skip
        ids = [i for i, _, name in (line.partition(" ") for line in listed.stdout.splitlines())
               if name.strip().startswith(start)]  # fmt: skip
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ids

