"""A workflow killed with SIGKILL mid-job leaves no complete-looking product; the next run
finishes and its products equal those of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
from astropy.io import fits

from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.workflow import run_snakemake, snakemake_command

from .workflow_helpers import run

TIMEOUT_S = 120


def _wait_for_part(proc: subprocess.Popen, work, pattern: str) -> list:
    """Poll until a writer's temporary ``.part`` file matching ``pattern`` exists."""
    start = time.monotonic()
    while time.monotonic() - start < TIMEOUT_S:
        parts = list(work.rglob(pattern)) if work.exists() else []
        if parts:
            return parts
        assert proc.poll() is None, "the workflow ended before the job to kill started"
        time.sleep(0.02)
    raise AssertionError(f"no {pattern} appeared within {TIMEOUT_S} s")


def _same_fits(a, b) -> None:
    with fits.open(a) as ha, fits.open(b) as hb:
        assert len(ha) == len(hb)
        for x, y in zip(ha, hb, strict=True):
            np.testing.assert_array_equal(x.data, y.data)
            cards = [[c.image for c in h.header.cards if c.keyword != "DATE"] for h in (x, y)]
            assert cards[0] == cards[1]


def test_sigkill_then_rerun_matches_uninterrupted(small_sim, reduced, tmp_path):
    obsnum = reduced["obsnum"]
    work = tmp_path / "work"
    cmd = snakemake_command(small_sim.data_lmt, work, [obsnum], cores=2, directory=tmp_path)
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    try:
        parts = _wait_for_part(proc, work, f".{obsnum}__0.raw.sdfits.*.part")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    target = parts[0].parent / f"{obsnum}__0.raw.sdfits"
    assert not target.exists(), "a killed writer left a file at the final path"

    # The next run: clear Snakemake's stale lock (its message says so), then run again;
    # --rerun-incomplete (in the command lmtflow builds and in profiles/) redoes the killed job.
    run_snakemake(small_sim.data_lmt, work, [obsnum], directory=tmp_path, extra_args=["--unlock"])
    _, ran = run(small_sim.data_lmt, tmp_path, [obsnum])
    assert ran["ingest"] >= 1 and ran["grid"] == 1 and ran["srdp"] == 1
    assert not list(work.rglob("*.part")), "stale temporary files were not cleaned up"

    obsdir = target.parent
    for name in (f"{obsnum}__0.raw.sdfits", f"{obsnum}__0.cal.sdfits", f"{obsnum}__0.base.sdfits"):
        with SDFITSReader(obsdir / name) as new, SDFITSReader(reduced["dir"] / name) as old:
            assert new.datadims == old.datadims
            np.testing.assert_array_equal(new.data(), old.data())
    cube = next((obsdir / "srdp").glob("*__0.fits"))
    _same_fits(cube, reduced["cube"])
    weight = cube.name.replace(".fits", ".wt.fits")
    _same_fits(cube.with_name(weight), reduced["cube"].with_name(weight))
