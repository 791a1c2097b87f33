"""Reading Snakemake's log for ``lmtflow run``: progress, running rules, failures.

The lines follow Snakemake 9's log formatter (``snakemake/logging.py``: job info, indented for
the jobs of a group, progress, job errors); the real command is tested in test_cli_run.py.
"""

from __future__ import annotations

import io

from lmtflow.commands.progress import ProgressBar, RunLog

LOG = """\
Job stats:
job          count
---------  -------
ingest           2
calibrate        1
total            3

[Wed Dec  2 02:46:15 2026]
localrule ingest:
    output: /w/79449__0.raw.sdfits
    jobid: 8
    wildcards: obsnum=79449
[Wed Dec  2 02:46:15 2026]
    rule ingest:
        output: /w/79447__0.raw.sdfits
        jobid: 4
[Wed Dec  2 02:46:20 2026]
Finished jobid: 4 (Rule: ingest)
1 of 3 steps (33%) done
Traceback (most recent call last):
lmtflow.errors.RawDataError: /d/ifproc_079449.nc: truncated
[Wed Dec  2 02:46:21 2026]
Error in rule ingest:
    message: None
    jobid: 8
    log: /w/logs/ingest__0.log (check log file(s) for error details)
Complete log(s): /w/.snakemake/log/x.snakemake.log
"""


def test_run_log_follows_progress_and_failures():
    log = RunLog()
    seen = []
    for line in LOG.splitlines(keepends=True):
        if log.feed(line):
            seen.append((log.done, log.total, log.running_rules()))
    assert seen[0] == (0, 3, "")
    assert (0, 3, "ingest x2") in seen  # a plain and a group job's (indented) rule
    assert (1, 3, "ingest") in seen
    assert log.finished == {"ingest": 1} and log.running == {}
    [failure] = log.failures
    assert failure.rule == "ingest" and failure.logs == ["/w/logs/ingest__0.log"]
    error = "lmtflow.errors.RawDataError: /d/ifproc_079449.nc: truncated"
    assert failure.output == ["Traceback (most recent call last):", error]
    assert log.log_file == "/w/.snakemake/log/x.snakemake.log" and not log.nothing_to_do
    quiet = RunLog()
    quiet.feed("Nothing to be done (all requested files are present and up to date).\n")
    assert quiet.nothing_to_do


def test_progress_bar_without_a_terminal_prints_a_line_per_step():
    out = io.StringIO()
    bar, log = ProgressBar(out, width=10), RunLog()
    for line in LOG.splitlines(keepends=True):
        if log.feed(line):
            bar.update(log)
    lines = out.getvalue().splitlines()
    assert lines == ["[----------] 0/3 steps", "[###-------] 1/3 steps  running: ingest"]
