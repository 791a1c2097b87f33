"""The workflow run inside a Python session (Snakemake's API, ``run_in_process``): the same
products as the command line, nothing left behind in the session, failures and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.sim import simulate
from lmtflow.workflow import run_in_process

from .conftest import make_tiny_config
from .raw_damage import clone_tree, rewrite_nc, roach_file

MAP = 1003  # the tiny session's map (Cal 1001)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return simulate(make_tiny_config(), tmp_path_factory.mktemp("tiny") / "data_lmt", seed=7)


def test_same_products_as_the_command_line_and_the_session_is_left_alone(
    small_sim, reduced, tmp_path
):
    obsnum, cwd = reduced["obsnum"], Path.cwd()
    sigterm, threads = signal.getsignal(signal.SIGTERM), set(threading.enumerate())
    cube = reduced["cube"].relative_to(reduced["dir"].parent.parent)  # <pid>/<obsnum>/srdp/..
    work = tmp_path / "work"
    ran = run_in_process(small_sim.data_lmt, work, [obsnum], directory=tmp_path,
                         targets=[work / cube])  # fmt: skip
    assert {"ingest", "tsys", "calibrate", "baseline", "grid", "srdp"} <= set(ran)
    with fits.open(work / cube) as mine, fits.open(reduced["cube"]) as cli:
        np.testing.assert_array_equal(mine[0].data, cli[0].data)
    assert run_in_process(small_sim.data_lmt, work, [obsnum], directory=tmp_path,
                          targets=[work / cube]) == {}  # fmt: skip
    # the caller's working directory, SIGTERM handler and threads are as before
    assert Path.cwd() == cwd
    assert signal.getsignal(signal.SIGTERM) is sigterm
    left = [t for t in set(threading.enumerate()) - threads if not t.daemon]
    assert left == []


def test_a_failed_job_raises_with_snakemakes_report(tiny, tmp_path):
    raw = clone_tree(tiny.data_lmt, tmp_path / "data_lmt")
    path = roach_file(raw, MAP, 3)  # a roach file of another time: the ingest job fails
    rewrite_nc(path, values={"Data.Integrate.time": lambda t: t + 3600.0})
    with pytest.raises(RuntimeError, match="snakemake failed") as err:
        run_in_process(raw, tmp_path / "work", [MAP], directory=tmp_path)
    assert "Error in rule ingest" in str(err.value)
    assert not list((tmp_path / "work").rglob(f"{MAP}__0.raw.sdfits"))


def test_a_bad_obsnum_stops_before_any_job(tiny, tmp_path, capfd):
    with pytest.raises(RuntimeError, match="SystemExit"):
        run_in_process(tiny.data_lmt, tmp_path / "work", [4242], directory=tmp_path)
    assert "lmtflow: ObsNum 4242: no ifproc file" in capfd.readouterr().err
    assert not (tmp_path / "work").exists() or not list((tmp_path / "work").rglob("*.sdfits"))


def test_ctrl_c_lets_the_running_job_finish_and_starts_no_other(small_sim, reduced, tmp_path):
    obsnum, work = reduced["obsnum"], tmp_path / "work"
    script = textwrap.dedent(f"""
        from lmtflow.workflow import run_in_process
        run_in_process({str(small_sim.data_lmt)!r}, {str(work)!r}, [{obsnum}], cores=1,
                       directory={str(tmp_path)!r})
    """)
    with open(tmp_path / "session.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=log, stderr=log)
    try:
        start = time.monotonic()
        while not (work.exists() and list(work.rglob(f".{obsnum}__0.raw.sdfits.*.part"))):
            assert proc.poll() is None, (tmp_path / "session.log").read_text()[-3000:]
            assert time.monotonic() - start < 120, "the map's ingest job never started"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C in the session, not in its jobs
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in (tmp_path / "session.log").read_text()
    assert not list(work.rglob("*.part"))
    (raw,) = work.rglob(f"{obsnum}__0.raw.sdfits")  # the running job finished its file
    with SDFITSReader(raw) as r:
        assert r.nrows > 0 and r.data(r.nrows - 1, r.nrows).shape == (1, r.nchan)
    assert not list(work.rglob(f"{obsnum}__0.cal.sdfits")), "a job started after Ctrl-C"
