"""Workflow end hooks: Snakemake's idle scheduler timers do not hold the process open."""

from __future__ import annotations

import threading
from pathlib import Path

from lmtflow.hooks import release_scheduler_timers


def _snakemake_like(fired: list) -> object:
    """A function that says it was defined in Snakemake's scheduler, as its timers' are."""

    def release() -> None:
        fired.append("snakemake")

    release.__module__ = "snakemake.scheduling.job_scheduler"
    return release


def test_snakemake_timers_are_cancelled_and_end_others_are_kept() -> None:
    fired: list = []
    timers = [threading.Timer(60.0, _snakemake_like(fired)) for _ in range(3)]
    mine = threading.Timer(0.5, fired.append, args=("user",))  # a session's own timer
    for t in [*timers, mine]:
        t.start()
    assert release_scheduler_timers() == 3
    for t in timers:
        t.join(timeout=5.0)  # a cancelled timer's thread ends at once
        assert not t.is_alive()
    mine.join(timeout=5.0)
    assert fired == ["user"]  # Snakemake's cancelled, not run early; the user's ran
    assert release_scheduler_timers() == 0


def test_the_snakefile_calls_it_on_success_and_on_error() -> None:
    text = (Path(__file__).resolve().parent.parent / "Snakefile").read_text()
    for hook in ("onsuccess:", "onerror:"):
        body = text.split(hook, 1)[1].split("\n\n", 1)[0]
        assert "release_scheduler_timers()" in body, hook


def test_scheduler_keeps_one_reevaluation_timer() -> None:
    """Passes of Snakemake's scheduler no longer start a timer each (one chain per finished
    job): one timer is pending at a time, it wakes the scheduler, and it is cancelled at the end."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    from lmtflow.hooks import one_reevaluation_timer

    assert one_reevaluation_timer() and one_reevaluation_timer()  # idempotent
    scheduler = type("Scheduler", (), {})()
    scheduler._open_jobs = threading.Semaphore(0)
    for _ in range(5):  # five passes in a row
        JobScheduler._schedule_reevalutation(scheduler, 0.2)
    assert sum(t.is_alive() for t in threading.enumerate()
               if isinstance(t, threading.Timer) and t.args == (scheduler,)) == 1  # fmt: skip
    assert scheduler._open_jobs.acquire(timeout=5.0)  # the timer woke the scheduler once
    assert not scheduler._open_jobs.acquire(timeout=0.5)
    JobScheduler._schedule_reevalutation(scheduler, 60.0)  # a new one after it fired
    assert release_scheduler_timers() >= 1
    scheduler._lmtflow_timer.join(timeout=5.0)
    assert not scheduler._lmtflow_timer.is_alive()


def test_snakemake_still_has_what_the_scheduler_patch_relies_on() -> None:
    """A Snakemake upgrade that renames or rewrites the patched scheduler method fails here,
    naming the Snakemake version, instead of silently bringing back the quadratic passes."""
    from lmtflow.hooks import one_reevaluation_timer, scheduler_patch_problem

    problem = scheduler_patch_problem()
    assert problem is None, problem
    assert one_reevaluation_timer()
    assert scheduler_patch_problem() is None  # still checks the method it replaced


def test_a_changed_scheduler_is_reported_with_the_version(monkeypatch, caplog) -> None:
    import snakemake
    from snakemake.scheduling.job_scheduler import JobScheduler

    from lmtflow import hooks

    monkeypatch.delattr(JobScheduler, "_schedule_reevalutation")
    problem = hooks.scheduler_patch_problem()
    assert f"Snakemake {snakemake.__version__}" in problem
    assert "_schedule_reevalutation is gone" in problem
    with caplog.at_level("WARNING", logger="lmtflow.hooks"):
        assert hooks.one_reevaluation_timer() is False
    assert problem in caplog.text

    def rewritten(self, delay):  # same name, no timer that releases _open_jobs
        self.wake_up(delay)

    monkeypatch.setattr(JobScheduler, "_schedule_reevalutation", rewritten, raising=False)
    problem = hooks.scheduler_patch_problem()
    assert f"Snakemake {snakemake.__version__}" in problem and "threading.Timer(" in problem
