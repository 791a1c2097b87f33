"""Follow a running Snakemake from its log: steps done of total, rules running, failures.

``lmtflow run`` starts ``python -m snakemake`` (so profiles, SLURM, dry runs and reports
behave exactly as on the command line) and reads its log line by line. Snakemake writes one
record per event: the job table (``total N``), each job's start (``rule NAME:`` ...
``jobid: N``), its end (``Finished jobid: N (Rule: NAME)``), the progress (``N of M steps
(P%) done``) and errors (``Error in rule NAME:`` ... ``log: PATH``). :class:`RunLog` keeps
that state; :class:`ProgressBar` draws it.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TextIO

_TOTAL = re.compile(r"^total\s+(\d+)\s*$")
_START = re.compile(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):$")  # indented in group jobs
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"Finished jobid: (\d+) \(Rule: (\w+)\)")
_PROGRESS = re.compile(r"^(\d+) of (\d+) steps \(\S+\) done")
_ERROR = re.compile(r"^\s*Error in rule (\w+):$")
_LOG = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?$")
_JOB_FIELD = re.compile(
    r"^\s+(?:resources|wildcards|reason|jobid|benchmark|threads): |"
    r"^Finished jobid|^Execute \d+ jobs"
)
_STAMP = re.compile(r"^\s*\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]$")


@dataclass
class Failure:
    """A failed job: its rule and log files (as Snakemake names them)."""

    rule: str
    logs: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    """What the job printed before Snakemake reported the error (its traceback)."""


@dataclass
class RunLog:
    """The state of a Snakemake run as its log tells it."""

    total: int | None = None
    done: int = 0
    running: dict[int, str] = field(default_factory=dict)
    finished: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    nothing_to_do: bool = False
    log_file: str | None = None
    _rule: str | None = None
    _error: Failure | None = None
    _recent: deque = field(default_factory=lambda: deque(maxlen=80))

    def _job_output(self) -> list[str]:
        """The lines since the last job record: a failed job's own output (traceback)."""
        lines = list(self._recent)
        start = max((i + 1 for i, t in enumerate(lines) if _JOB_FIELD.match(t)), default=0)
        own = [t for t in lines[start:] if not (_STAMP.match(t) or _PROGRESS.match(t))]
        return [t for t in own if not t.startswith("Select jobs to execute")]

    def feed(self, line: str) -> bool:
        """Read one log line; True if the progress changed (worth redrawing)."""
        text = line.rstrip("\n")
        self._recent.append(text)
        if m := _TOTAL.match(text):
            if self.total is None:
                self.total = int(m.group(1))
            return True
        if m := _START.match(text):
            self._rule, self._error = m.group(1), None
            return False
        if m := _ERROR.match(text):
            self._error = Failure(m.group(1), output=self._job_output()[:-1])
            self.failures.append(self._error)
            self._rule = None
            return False
        if m := _JOBID.match(text):
            if self._error is not None:  # the failed job runs no more
                self.running.pop(int(m.group(1)), None)
                return True
            if self._rule is not None:
                self.running[int(m.group(1))] = self._rule
                self._rule = None
                return True
            return False
        if self._error is not None and (m := _LOG.match(text)):
            self._error.logs += [p.strip() for p in m.group(1).split(",") if p.strip()]
            return False
        if m := _FINISHED.search(text):
            self.running.pop(int(m.group(1)), None)
            self.finished[m.group(2)] += 1
            return True
        if m := _PROGRESS.match(text):
            self.done, self.total = int(m.group(1)), int(m.group(2))
            return True
        if text.startswith("Nothing to be done"):
            self.nothing_to_do = True
        elif text.startswith("Complete log"):
            self.log_file = text.partition(":")[2].strip()
        return False

    def running_rules(self) -> str:
        """``grid, qa_map x2`` for the jobs running now."""
        counts = Counter(self.running.values())
        return ", ".join(f"{r} x{n}" if n > 1 else r for r, n in sorted(counts.items()))


class ProgressBar:
    """Draws :class:`RunLog` progress: one line redrawn in place on a terminal, otherwise a
    plain line whenever the number of steps done changes (logs of batch jobs stay short)."""

    def __init__(self, out: TextIO = sys.stderr, width: int = 30):
        self.out, self.width = out, width
        self.tty = out.isatty()
        self._last: tuple[int, int | None] | None = None
        self._drawn = False

    def line(self, log: RunLog) -> str:
        total = log.total or 0
        filled = int(self.width * log.done / total) if total else 0
        bar = "#" * filled + "-" * (self.width - filled)
        running = log.running_rules()
        return f"[{bar}] {log.done}/{total or '?'} steps" + (f"  running: {running}" if running
                                                             else "")  # fmt: skip

    def update(self, log: RunLog) -> None:
        if self.tty:
            self.out.write("\r\x1b[K" + self.line(log)[:200])
            self._drawn = True
        elif (log.done, log.total) != self._last:
            self.out.write(self.line(log) + "\n")
        self._last = (log.done, log.total)
        self.out.flush()

    def close(self) -> None:
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
