"""Editing the flag file re-runs exactly the steps its rules touch (real Snakemake dry runs
against a finished reduction: the jobs Snakemake would run are counted, none is run)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from lmtflow.workflow import run_snakemake

from .workflow_helpers import write_config

JOB_ROW = re.compile(r"^(\w+)\s+(\d+)$", re.M)


def dry_run(reduced: dict, data_lmt, tmp: Path, name: str, rules_yaml: str) -> Counter:
    """Jobs a run with this flag file would execute (``snakemake -n``)."""
    flags = tmp / f"{name}.flags.yaml"
    flags.write_text(rules_yaml)
    config = write_config(tmp / f"{name}.yaml", flags=str(flags))
    run_dir = reduced["dir"].parents[2]  # <run dir>/work/<pid>/<ObsNum>
    proc = run_snakemake(data_lmt, run_dir / "work", [reduced["obsnum"]], directory=run_dir,
                         configfile=config, extra_args=["-n"])  # fmt: skip
    table = proc.stdout.split("Job stats:")[-1] if "Job stats:" in proc.stdout else ""
    jobs = Counter({k: int(v) for k, v in JOB_ROW.findall(table) if k != "total"})
    jobs.pop("all", None)
    return jobs


def test_flag_edits_rerun_only_the_steps_they_touch(reduced, small_sim, tmp_path):
    n = reduced["obsnum"]
    data = small_sim.data_lmt
    other = n + 1000  # an ObsNum outside the run

    nothing = dry_run(
        reduced,
        data,
        tmp_path,
        "other",
        f"# a project file\nrules:\n  - {{reason: x, obsnum: {other}, beam: 3}}\n",
    )
    assert nothing == Counter(), dict(nothing)

    beam = dry_run(
        reduced,
        data,
        tmp_path,
        "beam",
        f"rules:\n  - {{reason: dead, obsnum: {n}, beam: 3}}\n"
        f"  - {{reason: x, obsnum: {other}, beam: 3}}\n",
    )
    assert beam["grid"] == 1 and beam["step_params"] == 2, dict(beam)  # grid + select files
    assert not {"ingest", "calibrate", "baseline"} & set(beam), dict(beam)

    # a comment and a reordering of the unrelated rule: the same jobs as the beam rule alone
    moved = dry_run(
        reduced,
        data,
        tmp_path,
        "moved",
        f"rules:\n  - {{reason: x, obsnum: {other}, beam: 3}}  # moved\n"
        f"  # the dead beam\n  - {{reason: dead, obsnum: {n}, beam: [3]}}\n",
    )
    assert moved == beam, (dict(moved), dict(beam))

    chan = dry_run(
        reduced,
        data,
        tmp_path,
        "chan",
        f"rules:\n  - {{reason: birdie, obsnum: {n}, chan: [[1000, 1002]]}}\n",
    )
    assert chan["baseline"] == 1 and chan["grid"] == 1, dict(chan)
    assert not {"ingest", "calibrate"} & set(chan), dict(chan)

    time = dry_run(
        reduced,
        data,
        tmp_path,
        "time",
        f"rules:\n  - {{reason: rfi, obsnum: {n}, beam: [5, 6], time_s: [10, 20]}}\n",
    )
    assert time["calibrate"] == 1 and time["baseline"] == 1 and time["grid"] == 1, dict(time)
    assert "ingest" not in time and "tsys" not in time, dict(time)
