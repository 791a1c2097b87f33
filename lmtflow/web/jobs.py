"""The job queue of re-reductions launched from the browser.

A launch is a ``jobs`` row (``queued``). The server's dispatcher (:class:`Dispatcher`, one
thread) starts a runner process per job (``python -m lmtflow.web.runner ID``: the argv holds
the job id only, no shell) in its own session, so the runner, Snakemake and its jobs form
one process group that a cancel signals as a whole.

Fairness: at most one runner per project (attempts share the base's steps, and Snakemake's
lock is no mutex: a run that ends deletes ``.snakemake/locks``, the other runs' too), FIFO
within a project, at most ``max_runners`` at once and ``max_queued_per_user`` jobs per user.
Every queue change happens inside ``BEGIN IMMEDIATE``; the runner also holds ``flock`` on its
project's lock file for its whole life, so even a second server on the same database cannot
run two jobs of one project at once. Several server processes (uvicorn workers) may share one
database: each runs a dispatcher, and a job starts once because its claim (queued -> running,
with the runner's pid) is made inside ``BEGIN IMMEDIATE``; a dispatcher that did not start a
runner tracks it by its pid (:func:`runner_alive`).

Each job's files live in ``<work_lmt>/.lmtflow/web/jobs/<id>/`` (``config.yaml``, ``log.txt``)
and Snakemake's state of a project in ``<work_lmt>/.lmtflow/web/snakemake/<ProjectId>/``:
outside the project directories, so the file route never serves them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .db import connect
from .settings import Settings
from .slurm import cancel_cluster_jobs, uses_slurm

ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")
CANCEL_TERM_S = 10.0  # after SIGINT, SIGTERM; after twice this, SIGKILL
RUNNER_MODULE = "lmtflow.web.runner"
ENV_DB = "LMTFLOW_WEB_DB"
ENV_RUNNER = "LMTFLOW_WEB_RUNNER"


class LaunchRefused(Exception):
    """A launch the queue will not take: ``status`` (HTTP) and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def web_dir(work_lmt: Path) -> Path:
    return Path(work_lmt) / ".lmtflow" / "web"


def job_dir(work_lmt: Path, job_id: int) -> Path:
    return web_dir(work_lmt) / "jobs" / str(int(job_id))


def snakemake_dir(work_lmt: Path, pid: str) -> Path:
    """Snakemake's ``--directory`` for a project's web jobs (its ``.snakemake/``)."""
    return web_dir(work_lmt) / "snakemake" / pid


def lock_path(work_lmt: Path, pid: str) -> Path:
    return web_dir(work_lmt) / "locks" / f"{pid}.lock"


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def get_job(conn: sqlite3.Connection, job_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


def launch(conn: sqlite3.Connection, settings: Settings, pid: str, scope: str, attempt: str,
           overlay_json: str, config: dict[str, Any], user: str, ip: str
           ) -> tuple[int, bool]:  # fmt: skip
    """Queue a job; return (job id, True if an identical active job was returned instead).

    Refused: too little free disk (507), the user's cap reached (429), the same attempt name
    queued or running with other values (409: both would write the same attempt directory).
    """
    free_gb = shutil.disk_usage(settings.work_lmt).free / 1e9
    if free_gb < settings.runner["min_free_gb"]:
        raise LaunchRefused(507, f"the work tree's disk has {free_gb:.2f} GB free, less than the "
                            f"{settings.runner['min_free_gb']} GB a job may need; ask the "
                            "operators to free space")  # fmt: skip
    conn.execute("BEGIN IMMEDIATE")
    try:
        same = conn.execute(
            "SELECT id, overlay_json, scope FROM jobs WHERE pid = ? AND attempt = ? AND state IN "
            "('queued', 'running') ORDER BY id", (pid, attempt)).fetchall()  # fmt: skip
        for row in same:
            if row["overlay_json"] == overlay_json and row["scope"] == scope:
                conn.execute("COMMIT")
                return row["id"], True
        if same:
            raise LaunchRefused(409, f"attempt {attempt!r} of {pid} is already queued or running "
                                f"(job {same[0]['id']}) with other values; wait for it, cancel "
                                "it or choose another attempt name")  # fmt: skip
        mine = conn.execute("SELECT COUNT(*) FROM jobs WHERE user = ? AND state IN "
                            "('queued', 'running')", (user,)).fetchone()[0]  # fmt: skip
        cap = settings.runner["max_queued_per_user"]
        if mine >= cap:
            raise LaunchRefused(429, f"you have {mine} jobs queued or running (at most {cap}); "
                                "wait for one to end")  # fmt: skip
        text = json.dumps(config, sort_keys=True)
        cur = conn.execute(
            "INSERT INTO jobs (pid, attempt, scope, overlay_json, config_json, user, ip, state, "
            "config_sha, version) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            (pid, attempt, scope, overlay_json, text, user, ip, _sha(text), __version__))
        conn.execute("COMMIT")
        return int(cur.lastrowid), False
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def known_attempts(conn: sqlite3.Connection, pid: str) -> dict[str, tuple[float, dict]]:
    """Attempt name -> (start time, overlay) of the project's succeeded web jobs (the latest
    per name), as :func:`lmtflow.recorded.newest` weighs records."""
    rows = conn.execute("SELECT attempt, overlay_json, started_utc FROM jobs WHERE pid = ? AND "
                        "state = 'succeeded' ORDER BY id", (pid,)).fetchall()  # fmt: skip
    return {r["attempt"]: (_epoch(r["started_utc"]), json.loads(r["overlay_json"]))
            for r in rows}  # fmt: skip


def queue_position(conn: sqlite3.Connection, job: sqlite3.Row) -> int:
    """How many jobs run or wait before ``job`` in its project (0: it runs or is next)."""
    if job["state"] != "queued":
        return 0
    return conn.execute(
        "SELECT COUNT(*) FROM jobs WHERE pid = ? AND id < ? AND state IN ('queued', 'running')",
        (job["pid"], job["id"])).fetchone()[0]  # fmt: skip


def runner_alive(pid_os: int | None, job_id: int) -> bool:
    """Whether ``pid_os`` is a live (not zombie) runner of ``job_id`` (a reused pid is not)."""
    if not pid_os:
        return False
    try:
        stat = Path(f"/proc/{pid_os}/stat").read_text()
        argv = Path(f"/proc/{pid_os}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
        return False
    return RUNNER_MODULE.encode() in argv and str(job_id).encode() in argv


def finish(conn: sqlite3.Connection, job_id: int, state: str, error: str | None = None) -> None:
    """Move a running job to a final state (no-op if it already has one)."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE jobs SET state = ?, error = COALESCE(?, error), ended_utc = ? "
                 "WHERE id = ? AND state IN ('queued', 'running')",
                 (state, error, now_utc(), job_id))  # fmt: skip
    conn.execute("COMMIT")


def request_cancel(conn: sqlite3.Connection, job_id: int) -> str:
    """Cancel a job: a queued one ends now, a running one gets SIGINT on its process group
    (the dispatcher escalates to SIGTERM, then SIGKILL). Returns the job's state."""
    conn.execute("BEGIN IMMEDIATE")
    job = get_job(conn, job_id)
    if job is None or job["state"] in TERMINAL:
        conn.execute("COMMIT")
        return job["state"] if job else "missing"
    if job["state"] == "queued":
        conn.execute("UPDATE jobs SET state = 'cancelled', ended_utc = ?, error = 'cancelled "
                     "before it started' WHERE id = ?", (now_utc(), job_id))  # fmt: skip
        conn.execute("COMMIT")
        return "cancelled"
    conn.execute("UPDATE jobs SET cancel_requested = COALESCE(cancel_requested, ?) WHERE id = ?",
                 (time.time(), job_id))  # fmt: skip
    conn.execute("COMMIT")
    _signal(job["pid_os"], job_id, signal.SIGINT)
    return "running"


def _signal(pid_os: int | None, job_id: int, sig: int) -> None:
    if runner_alive(pid_os, job_id):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid_os, sig)  # the runner leads its own session: the whole group


def _kill_leftovers(pgid: int | None) -> None:
    """Kill what is left of a dead runner's process group (Snakemake and its jobs go on
    after a SIGKILLed runner, with nobody to report to and without the project's lock).
    Products are written atomically and ``--rerun-incomplete`` redoes a killed job's outputs."""
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _exit_reason(rc: int) -> str:
    if rc < 0:
        name = signal.Signals(-rc).name
        return f"the runner was killed by {name}" + (" (killed from outside: out of memory, "
                                                     "or an operator)" if name == "SIGKILL" else "")
    return f"the runner exited with status {rc} before recording a result"


class Dispatcher:
    """The server's thread that starts queued jobs and keeps the running ones honest."""

    def __init__(self, settings: Settings, tick_s: float = 0.25) -> None:
        self.settings = settings
        self.tick_s = tick_s
        self.children: dict[int, subprocess.Popen] = {}
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lmtflow-web-dispatcher",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        conn = connect(self.settings.database)
        try:
            self.reconcile(conn, restarted=True)
        finally:
            conn.close()
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching; running jobs go on (a restarted server tracks them again)."""
        self._stop.set()
        self.wake.set()
        self._thread.join(10)

    def _loop(self) -> None:
        conn = connect(self.settings.database)
        try:
            while not self._stop.is_set():
                try:
                    self.reconcile(conn)
                    self.dispatch(conn)
                except sqlite3.OperationalError as exc:  # busy: next tick
                    print(f"lmtflow web: dispatcher: {exc}", file=sys.stderr)
                self.wake.wait(self.tick_s)
                self.wake.clear()
        finally:
            conn.close()

    def reconcile(self, conn: sqlite3.Connection, restarted: bool = False) -> None:
        """Running rows whose runner is gone become failed (or cancelled, if asked); a cancel
        not obeyed escalates; a job past the wall time is cancelled."""
        wall_s = 3600.0 * self.settings.runner["wall_hours"]
        for job in conn.execute("SELECT * FROM jobs WHERE state = 'running'").fetchall():
            jid = job["id"]
            child = self.children.get(jid)
            if child is not None:
                rc = child.poll()
                alive = rc is None
            else:
                rc, alive = None, runner_alive(job["pid_os"], jid)
            if not alive:
                self.children.pop(jid, None)
                _kill_leftovers(job["pid_os"])
                if get_job(conn, jid)["state"] != "running":
                    continue  # the runner recorded its result
                if uses_slurm(self.settings.runner):  # a killed runner's cluster jobs
                    cancel_cluster_jobs(jid, self.settings.database)
                if job["cancel_requested"]:
                    finish(conn, jid, "cancelled", "cancelled by the user")
                elif rc is not None:
                    finish(conn, jid, "failed", _exit_reason(rc))
                else:
                    finish(conn, jid, "failed", "server restarted: the runner is gone"
                           if restarted else "the runner process ended without a result "
                           "(killed)")  # fmt: skip
                continue
            asked = job["cancel_requested"]
            if asked:
                waited = time.time() - asked
                if waited > 2 * CANCEL_TERM_S:
                    _signal(job["pid_os"], jid, signal.SIGKILL)
                elif waited > CANCEL_TERM_S:
                    _signal(job["pid_os"], jid, signal.SIGTERM)
            elif job["started_utc"] and _age_s(job["started_utc"]) > wall_s:
                request_cancel(conn, jid)

    def dispatch(self, conn: sqlite3.Connection) -> list[int]:
        """Start the oldest queued job of every idle project, up to the global cap."""
        started = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            busy = self._busy_projects(conn)
            slots = self.settings.runner["max_runners"] - len(busy)
            heads = conn.execute(
                "SELECT MIN(id) AS id, pid FROM jobs WHERE state = 'queued' GROUP BY pid "
                "ORDER BY MIN(id)").fetchall()  # fmt: skip
            for head in heads:
                if slots <= 0:
                    break
                if head["pid"] in busy:
                    continue
                proc = self._spawn(head["id"])
                conn.execute("UPDATE jobs SET state = 'running', started_utc = ?, pid_os = ? "
                             "WHERE id = ?", (now_utc(), proc.pid, head["id"]))  # fmt: skip
                self.children[head["id"]] = proc
                busy.add(head["pid"])
                slots -= 1
                started.append(head["id"])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return started

    def _busy_projects(self, conn: sqlite3.Connection) -> set[str]:
        """Projects with a running job, or with a runner that recorded its result and is still
        exiting (it holds the project's lock until it is gone: the next one waits for that)."""
        busy = {r[0] for r in conn.execute("SELECT pid FROM jobs WHERE state = 'running'")}
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        for job in conn.execute(
                "SELECT id, pid, pid_os FROM jobs WHERE state IN ('succeeded', 'failed', "
                "'cancelled') AND pid_os IS NOT NULL AND ended_utc >= ?", (cutoff,)):  # fmt: skip
            child = self.children.get(job["id"])
            if child is not None:  # ours: ask it (and reap it once it has exited)
                if child.poll() is None:
                    busy.add(job["pid"])
                else:
                    del self.children[job["id"]]
            elif runner_alive(job["pid_os"], job["id"]):  # another server process's
                busy.add(job["pid"])
        return busy

    def _spawn(self, job_id: int) -> subprocess.Popen:
        work = self.settings.work_lmt
        out = job_dir(work, job_id)
        out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, ENV_DB: str(Path(self.settings.database).resolve()),
               ENV_RUNNER: json.dumps(self.settings.runner)}  # fmt: skip
        with open(out / "runner.txt", "ab") as own:  # the runner's own stderr (tracebacks)
            return subprocess.Popen([sys.executable, "-m", RUNNER_MODULE, str(int(job_id))],
                                    stdin=subprocess.DEVNULL, stdout=own, stderr=own, env=env,
                                    start_new_session=True, close_fds=True)  # fmt: skip


def _epoch(iso: str | None) -> float:
    import calendar

    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) if iso else 0.0


def _age_s(iso: str) -> float:
    return time.time() - _epoch(iso)
