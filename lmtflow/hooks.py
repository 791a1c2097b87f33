"""Workflow end hooks (the Snakefile's ``onsuccess``/``onerror``)."""

from __future__ import annotations

import threading


def release_scheduler_timers() -> int:
    """Cancel the re-scheduling timers Snakemake's scheduler leaves behind; return how many.

    Snakemake's command line limits job starts (``--max-jobs-per-timespan``, 100/1s by
    default), and with a limit every pass of its scheduler starts a non-daemon
    ``threading.Timer`` of one timespan. Python waits for such threads before it exits, so
    every run ends ~1 s after its last job. Once the scheduler has returned these timers
    have nothing left to wake, so cancelling them only saves that second. (A shorter
    timespan is no way out: ``100/100ms`` parses as 100 minutes, and ``0s`` spins.) Only
    timers whose function Snakemake defined are touched: a Python session that runs the
    workflow in process (:func:`lmtflow.workflow.run_in_process`) keeps its own.
    """
    timers = [
        t
        for t in threading.enumerate()
        if isinstance(t, threading.Timer)
        and (getattr(getattr(t, "function", None), "__module__", None) or "").startswith(
            "snakemake."
        )
    ]
    for timer in timers:
        timer.cancel()
    return len(timers)
