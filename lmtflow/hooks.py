"""Workflow end hooks (the Snakefile's ``onsuccess``/``onerror``)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


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


PATCHED = "snakemake.scheduling.job_scheduler.JobScheduler._schedule_reevalutation"
# what the patch relies on, as (where, text that must be in its source)
_RELIES_ON = (
    ("_schedule_reevalutation", "threading.Timer("),  # one timer per call ...
    ("_schedule_reevalutation", "self._open_jobs.release()"),  # ... that wakes the scheduler
    ("__init__", "self._open_jobs = threading.Semaphore("),
    ("schedule", "self._schedule_reevalutation("),  # the scheduling loop calls it
)


def scheduler_patch_problem() -> str | None:
    """Why :func:`one_reevaluation_timer` cannot patch this Snakemake, or None if it can.

    The patch replaces a private method of Snakemake's scheduler: a Snakemake that renames
    or rewrites it must be noticed (by the test suite and by a warning at the start of a run),
    not silently left with the quadratic scheduler passes.
    """
    import inspect

    import snakemake

    version = getattr(snakemake, "__version__", "?")
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError as exc:
        return f"Snakemake {version}: cannot import its JobScheduler ({exc}); {PATCHED} is gone"
    for name, text in _RELIES_ON:
        func = getattr(JobScheduler, name, None)
        func = getattr(func, "_lmtflow_original", func)  # the method the patch replaced
        if func is None:
            return f"Snakemake {version}: JobScheduler.{name} is gone (lmtflow patches {PATCHED})"
        try:
            source = inspect.getsource(func)
        except (OSError, TypeError) as exc:
            return f"Snakemake {version}: no source of JobScheduler.{name} to check ({exc})"
        if text not in source:
            return (f"Snakemake {version}: JobScheduler.{name} no longer contains {text!r}; "
                    f"lmtflow.hooks.one_reevaluation_timer must be revised for it")  # fmt: skip
    return None


def one_reevaluation_timer() -> bool:
    """Let Snakemake's scheduler keep at most one re-evaluation timer pending; True if done.

    Every pass of the scheduler starts a timer whose firing causes another pass, which starts
    another timer: each finished job adds one more such chain, so passes (each a walk over the
    ready jobs) grow with the square of the jobs run; on a 64-ObsNum project (834 jobs) the
    controller spent ~0.5 s of CPU per job, 41% of all CPU (benchmarks/bench_scale.py). One
    pending timer still wakes the scheduler within the rate limit's timespan, which is all the
    timers are for. A Snakemake whose scheduler is not the one this was written for
    (:func:`scheduler_patch_problem`) is left as it is, with a warning.
    """
    problem = scheduler_patch_problem()
    if problem is not None:
        log.warning("%s: survey-size projects will spend much of their time scheduling", problem)
        return False
    from snakemake.scheduling.job_scheduler import JobScheduler

    original = JobScheduler._schedule_reevalutation
    if getattr(original, "_lmtflow", False):
        return True

    def schedule_once(self, delay: float) -> None:
        pending = getattr(self, "_lmtflow_timer", None)
        if pending is not None and pending.is_alive():
            return
        self._lmtflow_timer = threading.Timer(delay, _release, (self,))
        self._lmtflow_timer.start()

    schedule_once._lmtflow = True
    schedule_once._lmtflow_original = original
    JobScheduler._schedule_reevalutation = schedule_once
    return True


def _release(scheduler) -> None:
    scheduler._open_jobs.release()
