"""Fuzz the raw and SDFITS readers with damaged headers, arrays and truncations.

Whatever the damage, a reader either reads the file or raises one of our documented errors
(an LmtflowError subclass naming the file); never another exception, a hang or a crash.
Hangs are caught by hypothesis' deadline per example and by a faulthandler watchdog that
ends the process with a traceback (a crash ends it anyway, failing the run).
"""

from __future__ import annotations

import faulthandler
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmtflow.errors import LmtflowError
from lmtflow.io.ifproc import read_header, read_series
from lmtflow.io.roach import RoachFile
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.io.sdfits_writer import SDFITSWriter
from lmtflow.sim import simulate

from .conftest import make_tiny_config
from .raw_damage import ifproc_file, rewrite_nc, roach_file
from .test_sdfits import NCHAN, make_rows, write_kwargs

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast")

FUZZ = settings(
    max_examples=60,
    deadline=2000,
    derandomize=True,  # the same examples on every CI run; raise max_examples to explore
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module", autouse=True)
def watchdog():
    """End the process with a traceback if one reader call hangs for a minute."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    """Small valid files: the tiny map's ifproc, one roach file cut to 12 dumps, an SDFITS."""
    root = tmp_path_factory.mktemp("fuzz")
    sim = simulate(make_tiny_config(), root / "data_lmt", seed=11)
    obsnum = sim.labels["map"]
    roach = roach_file(sim.data_lmt, obsnum, 0)
    small_roach = rewrite_nc(roach, root / roach.name, rows=slice(0, 48))
    cols, data = make_rows()
    sdfits = root / "x.sdfits"
    with SDFITSWriter(sdfits, len(data), NCHAN, header={"OBSNUM": 1}, **write_kwargs()) as w:
        w.append(cols, data)
    return {"ifproc": ifproc_file(sim.data_lmt, obsnum), "roach": small_roach, "sdfits": sdfits}


def _read_ifproc(path: Path) -> None:
    read_series(path, read_header(path))


def _read_roach(path: Path) -> None:
    f = RoachFile.open(path)
    f.read_dumps(np.arange(f.ndump), [0, 1, 2, 3])


def _read_sdfits(path: Path) -> None:
    with SDFITSReader(path) as r:
        r.data()
        r.columns()
        _ = r.params
        for _block in r.iter_dumps(dumps_per_block=7, columns=("FDNUM",)):
            pass


READERS = {"ifproc": _read_ifproc, "roach": _read_roach, "sdfits": _read_sdfits}


def _must_fail_cleanly(kind: str, path: Path) -> None:
    try:
        READERS[kind](path)
    except LmtflowError as exc:
        assert str(path) in str(exc), f"error does not name the file: {exc}"
    # any other exception propagates and fails the example


@st.composite
def byte_damage(draw, size: int):
    """Overwrites (mostly in the first 4 KB, where the headers are) and an optional cut."""
    where = st.one_of(st.integers(0, min(size, 4096) - 1), st.integers(0, size - 1))
    edits = draw(st.lists(st.tuples(where, st.binary(min_size=1, max_size=8)), max_size=6))
    cut = draw(st.one_of(st.none(), st.integers(0, size)))
    return edits, cut


@pytest.mark.parametrize("kind", ["ifproc", "roach", "sdfits"])
def test_damaged_bytes(originals, tmp_path_factory, kind):
    src = originals[kind]
    data = src.read_bytes()
    work = tmp_path_factory.mktemp(f"bytes_{kind}") / src.name

    @FUZZ
    @given(byte_damage(len(data)))
    def check(damage):
        edits, cut = damage
        buf = bytearray(data)
        for offset, chunk in edits:
            buf[offset : offset + len(chunk)] = chunk
        work.write_bytes(bytes(buf[:cut] if cut is not None else buf))
        _must_fail_cleanly(kind, work)

    check()


VALUES = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e300, -(2.0**40), 7.0])


@st.composite
def nc_damage(draw, names: list[str]):
    """Drop variables, fill others with odd values, or keep only some records."""
    drop = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    filled = draw(st.dictionaries(st.sampled_from(names), VALUES, max_size=3))
    rows = draw(st.one_of(st.none(), st.integers(0, 60).map(lambda n: slice(0, n))))
    return tuple(drop), filled, rows


@pytest.mark.parametrize("kind", ["ifproc", "roach"])
def test_damaged_variables(originals, tmp_path_factory, kind):
    src = originals[kind]
    with netCDF4.Dataset(src) as ds:
        names = [n for n, v in ds.variables.items() if v.dtype != np.dtype("S1")]
    work_dir = tmp_path_factory.mktemp(f"vars_{kind}")
    work = work_dir / src.name

    @FUZZ
    @given(nc_damage(names))
    def check(damage):
        drop, filled, rows = damage
        values = {n: (lambda a, v=v: np.full_like(a, v)) for n, v in filled.items()}
        shutil.copyfile(src, work)
        try:
            rewrite_nc(work, values=values, drop=drop, rows=rows)
        except (OverflowError, ValueError):  # the value does not fit the variable's type
            return
        _must_fail_cleanly(kind, work)

    check()
