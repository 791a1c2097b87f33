"""The job queue without Snakemake: identical launches, caps, the disk check, FIFO dispatch
with one runner per project (runners replaced by a harmless child), and the per-config file
of run_attempt."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lmtflow.web import jobs
from lmtflow.web.db import connect, migrate
from lmtflow.web.settings import Settings, check_web_config
from lmtflow.workflow import saved_config_path


def _settings(tmp_path, **runner) -> Settings:
    defaults = check_web_config({"work_lmt": str(tmp_path)})["runner"]
    return Settings(work_lmt=tmp_path, data_lmt=None, database=tmp_path / "db.sqlite",
                    secret="s" * 40, runner={**defaults, **runner})  # fmt: skip


@pytest.fixture
def db(tmp_path):
    migrate(tmp_path / "db.sqlite")
    conn = connect(tmp_path / "db.sqlite")
    yield conn
    conn.close()


def _launch(db, settings, pid="P1", attempt="a", overlay='{"grid":{"resolution":16}}',
            user="u"):  # fmt: skip
    return jobs.launch(db, settings, pid, "", attempt, overlay, {"obsnums": [1]}, user, "ip")


def test_identical_launch_returns_the_active_job_and_caps_hold(tmp_path, db):
    s = _settings(tmp_path, max_queued_per_user=2)
    first, reused = _launch(db, s)
    assert not reused
    assert _launch(db, s) == (first, True)
    with pytest.raises(jobs.LaunchRefused) as exc:
        _launch(db, s, overlay='{"grid":{"resolution":12}}')
    assert exc.value.status == 409 and "already queued" in str(exc.value)
    _launch(db, s, attempt="b")
    with pytest.raises(jobs.LaunchRefused) as exc:
        _launch(db, s, attempt="c")
    assert exc.value.status == 429
    _launch(db, s, attempt="c", user="other")  # the cap is per user
    jobs.request_cancel(db, first)
    assert jobs.get_job(db, first)["state"] == "cancelled"
    again, reused = _launch(db, s)  # a finished job is not reused: a new one
    assert again != first and not reused


def test_too_little_disk_refuses_the_launch(tmp_path, db):
    with pytest.raises(jobs.LaunchRefused) as exc:
        _launch(db, _settings(tmp_path, min_free_gb=1e9))
    assert exc.value.status == 507 and "GB free" in str(exc.value)
    assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0


class _Sleeper(jobs.Dispatcher):
    """A dispatcher whose runners are ``sleep`` children (the queue logic is under test)."""

    def _spawn(self, job_id):
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                                start_new_session=True)  # fmt: skip


def test_dispatch_is_fifo_per_project_within_the_global_cap(tmp_path, db):
    s = _settings(tmp_path, max_runners=2, max_queued_per_user=10)
    ids = {}
    for pid, attempt in (("P1", "a"), ("P1", "b"), ("P2", "a"), ("P3", "a")):
        ids[pid, attempt] = _launch(db, s, pid=pid, attempt=attempt)[0]
    d = _Sleeper(s)
    try:
        assert d.dispatch(db) == [ids["P1", "a"], ids["P2", "a"]]  # oldest first, one per project
        assert d.dispatch(db) == []  # the cap
        assert jobs.queue_position(db, jobs.get_job(db, ids["P1", "b"])) == 1
        d.children[ids["P1", "a"]].kill()
        d.children[ids["P1", "a"]].wait()
        d.reconcile(db)
        dead = jobs.get_job(db, ids["P1", "a"])
        assert dead["state"] == "failed" and "SIGKILL" in dead["error"]
        assert d.dispatch(db) == [ids["P1", "b"]]  # P1's next, before P3 (FIFO by project head)
    finally:
        for child in d.children.values():
            child.kill()
            child.wait()


def test_the_next_job_waits_for_the_last_runner_to_exit(tmp_path, db):
    """A runner records its result, then exits (closing its log, releasing the project's
    lock): the project's next job starts only once that process is gone."""
    s = _settings(tmp_path, max_runners=2, max_queued_per_user=10)
    first, second = (_launch(db, s, attempt=a)[0] for a in ("a", "b"))
    d = _Sleeper(s)
    try:
        assert d.dispatch(db) == [first]
        jobs.finish(db, first, "succeeded")  # the runner's last word; it is still alive
        d.reconcile(db)
        assert d.dispatch(db) == []
        d.children[first].kill()
        d.children[first].wait()
        assert d.dispatch(db) == [second]
    finally:
        for child in d.children.values():
            child.kill()
            child.wait()


def test_two_dispatchers_on_one_database_start_each_job_once(tmp_path, db):
    """Several server processes (uvicorn workers) each run a dispatcher on the same database:
    the claim queued -> running happens inside BEGIN IMMEDIATE, so no job starts twice."""
    import threading

    s = _settings(tmp_path, max_runners=8, max_queued_per_user=20)
    ids = [_launch(db, s, pid=f"P{i}", attempt="a")[0] for i in range(6)]
    dispatchers = [_Sleeper(s), _Sleeper(s)]
    started: list[list[int]] = [[], []]
    go = threading.Barrier(2)

    def run(k: int) -> None:
        conn = connect(tmp_path / "db.sqlite")
        go.wait()
        for _ in range(5):
            started[k] += dispatchers[k].dispatch(conn)
        conn.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(started[0] + started[1]) == ids  # every job once, none twice
        pids = {r["pid_os"] for r in db.execute("SELECT pid_os FROM jobs")}
        children = {c.pid for d in dispatchers for c in d.children.values()}
        assert pids == children and len(children) == len(ids)
    finally:
        for d in dispatchers:
            for child in d.children.values():
                child.kill()
                child.wait()


def test_run_attempt_config_file_is_per_config():
    one = {"work_lmt": "/w", "obsnums": [1], "attempts": {"smooth": {"grid": {"nppb": 3}}}}
    two = {**one, "obsnums": [2]}
    a, b = saved_config_path("/w", "smooth", one), saved_config_path("/w", "smooth", two)
    assert a != b and a.parent == b.parent and a.name.startswith("smooth-")
    assert saved_config_path("/w", "smooth", json.loads(json.dumps(one))) == a


def test_no_shell_in_the_web_package():
    from pathlib import Path

    import lmtflow.web

    for path in Path(lmtflow.web.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "shell=True" not in text and "os.system" not in text, path


def test_job_config_keeps_every_recorded_attempt_with_its_newest_values(tmp_path):
    """Attempts made from the command line (configs saved under .lmtflow/configs), in the
    project file, or by earlier web jobs keep their column, with the values of their newest
    record; a config of other ObsNums (another project's attempt of the same name) does not
    count."""
    import os

    import yaml

    from lmtflow.web.overlay import job_config
    from lmtflow.workflow import CONFIGS_DIR

    work = tmp_path / "work"
    for name in ("cli", "file", "web", "gone_elsewhere"):
        (work / "P1" / "100" / "attempts" / name).mkdir(parents=True)
    (work / "P1" / "project.yaml").write_text(yaml.safe_dump(
        {"obsnums": [100], "attempts": {"file": {"grid": {"nppb": 2}},
                                        "never_run": {"grid": {"nppb": 5}}}}))  # fmt: skip
    saved = work / CONFIGS_DIR
    saved.mkdir(parents=True)

    def record(name: str, obsnums: list[int], attempts: dict, when: float) -> None:
        path = saved / name
        path.write_text(yaml.safe_dump({"obsnums": obsnums, "attempts": attempts}))
        os.utime(path, (when, when))

    record("old.yaml", [100], {"cli": {"grid": {"nppb": 3}}}, 1000)
    record("new.yaml", [100], {"cli": {"grid": {"nppb": 4}}}, 2000)  # re-made: newest wins
    record("other.yaml", [999], {"gone_elsewhere": {"grid": {"nppb": 9}}}, 3000)
    (saved / "broken.yaml").write_text("attempts: [")  # a damaged record is skipped
    (saved / "odd.yaml").write_text(yaml.safe_dump(  # a malformed one too
        {"sources": {"X": ["100"]}, "attempts": {"odd": {"grid": {"nppb": 7}}}}))
    combo_only = {"sources": {"X": {"obsnums": [], "combinations": [{"obsnums": [100, 101]}]}},
                  "attempts": {"combo": {"grid": {"nppb": 8}}}}  # fmt: skip
    (saved / "combo.yaml").write_text(yaml.safe_dump(combo_only))  # 100 only in a combination
    known = {"web": (1500.0, {"baseline": {"dv": 80}})}
    cfg = job_config(work, None, "P1", "100", "new", {"grid": {"nppb": 6}}, known)
    assert cfg["attempts"] == {"cli": {"grid": {"nppb": 4}}, "file": {"grid": {"nppb": 2}},
                               "never_run": {"grid": {"nppb": 5}},
                               "web": {"baseline": {"dv": 80}},
                               "combo": {"grid": {"nppb": 8}},
                               "new": {"grid": {"nppb": 6}}}  # fmt: skip
    assert cfg["obsnums"] == [100] and cfg["work_lmt"] == str(work)


def test_the_slurm_prefix_follows_the_profile_executor(tmp_path):
    """A profile is SLURM by its ``executor``, whatever its directory is called."""
    from lmtflow.web.slurm import job_prefix, profile_args

    site = tmp_path / "cluster"
    site.mkdir()
    (site / "config.yaml").write_text("executor: slurm\njobs: 4\n")
    db = tmp_path / "web.sqlite"
    args = profile_args({"profile": str(site)}, 12, db)
    assert args[-2] == "--slurm-jobname-prefix" and args[-1] == job_prefix(12, db)
    assert "--slurm-jobname-prefix" not in profile_args({"profile": "local"}, 12, db)
    assert profile_args({"profile": None}, 12, db) == []


def test_slurm_job_names_tell_web_services_apart(tmp_path):
    """Two services under one SLURM account number jobs from 1 each: their names differ, and
    are the same for one database however its path is written."""
    from lmtflow.web.slurm import job_prefix

    a, b = tmp_path / "a" / "web.sqlite", tmp_path / "b" / "web.sqlite"
    assert job_prefix(1, a) != job_prefix(1, b)
    assert job_prefix(1, a) == job_prefix(1, tmp_path / "b" / ".." / "a" / "web.sqlite")
    assert job_prefix(1, a) != job_prefix(11, a) and job_prefix(1, a).startswith("lmtweb-")
