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
