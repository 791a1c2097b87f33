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
            ("snakemake.", __name__)
        )
    ]
    for timer in timers:
        timer.cancel()
    return len(timers)


def one_reevaluation_timer() -> bool:
    """Let Snakemake's scheduler keep at most one re-evaluation timer pending; True if done.

    Every pass of the scheduler starts a timer whose firing causes another pass, which starts
    another timer: each finished job adds one more such chain, so passes (each a walk over the
    ready jobs) grow with the square of the jobs run; on a 64-ObsNum project (834 jobs) the
    controller spent ~0.5 s of CPU per job, 41% of all CPU (benchmarks/bench_scale.py). One
    pending timer still wakes the scheduler within the rate limit's timespan, which is all the
    timers are for. A Snakemake without this method is left as it is.
    """
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError:
        return False
    if getattr(JobScheduler._schedule_reevalutation, "_lmtflow", False):
        return True
    if not hasattr(JobScheduler, "_schedule_reevalutation"):
        return False

    def schedule_once(self, delay: float) -> None:
        pending = getattr(self, "_lmtflow_timer", None)
        if pending is not None and pending.is_alive():
            return
        self._lmtflow_timer = threading.Timer(delay, _release, (self,))
        self._lmtflow_timer.start()

    schedule_once._lmtflow = True
    JobScheduler._schedule_reevalutation = schedule_once
    return True


def _release(scheduler) -> None:
    scheduler._open_jobs.release()
