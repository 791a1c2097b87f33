"""Workflow end hooks: Snakemake's idle scheduler timers do not hold the process open."""

from __future__ import annotations

import threading
from pathlib import Path

from lmtflow.hooks import release_scheduler_timers


def test_pending_timers_are_cancelled_and_end() -> None:
    fired = []
    timers = [threading.Timer(60.0, fired.append, args=(k,)) for k in range(3)]
    for t in timers:
        t.start()
    assert release_scheduler_timers() >= 3
    for t in timers:
        t.join(timeout=5.0)  # a cancelled timer's thread ends at once
        assert not t.is_alive()
    assert fired == []  # cancelled, not run early
    assert release_scheduler_timers() == 0


def test_the_snakefile_calls_it_on_success_and_on_error() -> None:
    text = (Path(__file__).resolve().parent.parent / "Snakefile").read_text()
    for hook in ("onsuccess:", "onerror:"):
        body = text.split(hook, 1)[1].split("\n\n", 1)[0]
        assert "release_scheduler_timers()" in body, hook
