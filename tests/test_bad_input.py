"""Bad raw data and bad configs give early, clear errors that name the ObsNum or file.

Config errors (misspelt key, wrong type, out-of-range value) are covered for the step keys by
tests/test_config.py and before any job by tests/test_rerun.py; here only the new `ingest`
section is checked.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.config import validate_config
from lmtflow.errors import ConfigError, LmtflowError, ObsNumError, RawDataError
from lmtflow.io.roach import RoachFile
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.pipeline.calibrate import calibrate
from lmtflow.pipeline.ingest import ingest
from lmtflow.pipeline.tsys import make_tsys
from lmtflow.scan import scan_obsnum
from lmtflow.sim import simulate
from lmtflow.workflow import run_snakemake

from .conftest import make_tiny_config
from .raw_damage import clone_tree, ifproc_file, replace_bytes, rewrite_nc, roach_file, truncate

CAL, MAP = 1001, 1003


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny Sequoia session (Cal 1001, Ps 1002, Map 1003); never written to."""
    return simulate(make_tiny_config(), tmp_path_factory.mktemp("tiny") / "data_lmt", seed=7)


@pytest.fixture
def raw(tiny, tmp_path):
    """A hard-linked clone of the tiny tree that a test may damage."""
    return clone_tree(tiny.data_lmt, tmp_path / "data_lmt")


@pytest.fixture(scope="module")
def tsys_file(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("tsys")
    ingest(tiny.data_lmt, CAL, 0, out / "cal.raw.sdfits")
    return make_tsys(out / "cal.raw.sdfits", out / "cal.tsys.fits")


# -- ObsNums ------------------------------------------------------------------------------------


def test_obsnum_not_in_data_lmt(raw):
    with pytest.raises(ObsNumError, match=r"ObsNum 4242: no ifproc file ifproc_\*_004242_"):
        scan_obsnum(raw, 4242)


def test_obsnum_that_is_a_cal(raw):
    with pytest.raises(ObsNumError, match="ObsNum 1001: is a calibration"):
        scan_obsnum(raw, CAL)


def test_cal_obsnum_file_missing(raw):
    ifproc_file(raw, CAL).unlink()
    with pytest.raises(ObsNumError, match="ObsNum 1003: its calibration ObsNum 1001 cannot be"):
        scan_obsnum(raw, MAP)


def test_cal_obsnum_not_set(raw):
    rewrite_nc(ifproc_file(raw, MAP), values={"Header.IfProc.CalObsNum": -1})
    with pytest.raises(ObsNumError, match="ObsNum 1003: Header.IfProc.CalObsNum is missing"):
        scan_obsnum(raw, MAP)


def test_ifproc_of_another_obsnum(raw):
    rewrite_nc(ifproc_file(raw, MAP), values={"Header.Dcs.ObsNum": 999})
    with pytest.raises(ObsNumError, match="ObsNum 1003: .* holds Header.Dcs.ObsNum 999"):
        scan_obsnum(raw, MAP)


# -- files of another instrument ----------------------------------------------------------------


def test_ifproc_of_another_receiver(raw):
    path = ifproc_file(raw, MAP)
    rewrite_nc(path, values={"Header.Dcs.Receiver": "RedshiftReceiver"})
    with pytest.raises(ObsNumError) as err:
        scan_obsnum(raw, MAP)
    assert str(path) in str(err.value)
    assert "receiver 'RedshiftReceiver' is not reduced by lmtflow" in str(err.value)


def test_rsr_obsnum(raw):
    chassis = raw / "RedshiftChassis0"
    chassis.mkdir()
    (chassis / "RedshiftChassis0_2019-03-01_005555_00_0001.nc").write_bytes(b"CDF\x01")
    with pytest.raises(ObsNumError, match="ObsNum 5555: is an RSR ObsNum") as err:
        scan_obsnum(raw, 5555)
    assert "RedshiftChassis0_2019-03-01_005555_00_0001.nc" in str(err.value)


# -- damaged files ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ifproc", "roach"])
def test_truncated_file_is_named(raw, kind):
    path = ifproc_file(raw, MAP) if kind == "ifproc" else roach_file(raw, MAP, 1)
    truncate(path, 0.7)
    with pytest.raises(LmtflowError, match="truncated: .* bytes on disk, its netCDF header") as e:
        if kind == "ifproc":  # ObsNumError naming ObsNum and file
            scan_obsnum(raw, MAP)
        else:
            RoachFile.open(path)
    assert str(path) in str(e.value)


def test_corrupt_header_is_named(raw):
    path = roach_file(raw, MAP, 2)
    data = bytearray(path.read_bytes())
    data[8:400] = b"\xff" * 392
    replace_bytes(path, bytes(data))
    with pytest.raises(RawDataError, match="corrupt netCDF header|not a readable netCDF") as e:
        ingest(raw, MAP, 0, raw.parent / "out.sdfits")
    assert e.value.path == path
    assert not (raw.parent / "out.sdfits").exists()


# -- missing roach files ------------------------------------------------------------------------


def test_missing_roach_warns_and_reduces_other_beams(raw, tmp_path):
    roach_file(raw, MAP, 2).unlink()
    info = scan_obsnum(raw, MAP, "warn")
    assert len(info.warnings) == 1
    assert "ObsNum 1003 bank 0: no file for roach[2]" in info.warnings[0]
    out = ingest(raw, MAP, 0, tmp_path / "map.raw.sdfits")
    with SDFITSReader(out) as r:
        beams = set(r.column("FDNUM").tolist())
    assert beams == set(range(16)) - {8, 9, 10, 11}


def test_missing_roach_fails_when_configured(raw):
    roach_file(raw, CAL, 3).unlink()
    with pytest.raises(ObsNumError, match=r"ObsNum 1001: bank 0: no file for roach\[3\].*Cal of"):
        scan_obsnum(raw, MAP, "fail")


def test_all_roach_files_missing(raw):
    for n in range(4):
        roach_file(raw, MAP, n).unlink()
    with pytest.raises(ObsNumError, match=r"ObsNum 1003: bank 0: no file for roach\[0, 1, 2, 3\]"):
        scan_obsnum(raw, MAP, "warn")


def test_workflow_reports_before_any_job(raw, tmp_path):
    """The workflow stops at the header scan with the message, and warns on a missing roach."""
    proc = run_snakemake(raw, tmp_path / "work", [4242], directory=tmp_path, check=False)
    assert proc.returncode != 0
    assert "lmtflow: ObsNum 4242: no ifproc file" in proc.stderr
    assert "Finished jobid" not in proc.stderr
    roach_file(raw, MAP, 2).unlink()
    dry = run_snakemake(raw, tmp_path / "work", [MAP], directory=tmp_path, extra_args=["-n"])
    assert "lmtflow: warning: ObsNum 1003 bank 0: no file for roach[2]" in dry.stderr


# -- dump clocks --------------------------------------------------------------------------------


def test_mismatched_dump_counts(raw, tmp_path):
    path = roach_file(raw, MAP, 1)
    nrow = RoachFile.open(path).rows.size
    rewrite_nc(path, rows=slice(0, int(nrow * 0.6) // 4 * 4))
    with pytest.raises(RawDataError, match="dumps in the ifproc time range but .* has") as e:
        ingest(raw, MAP, 0, tmp_path / "out.sdfits")
    assert e.value.path == path


def test_roach_file_of_another_time(raw, tmp_path):
    path = roach_file(raw, MAP, 3)
    rewrite_nc(path, values={"Data.Integrate.time": lambda t: t + 3600.0})
    with pytest.raises(RawDataError, match="a roach file of another ObsNum") as e:
        ingest(raw, MAP, 0, tmp_path / "out.sdfits")
    assert e.value.path == path


# -- NaN / Inf in the spectra -------------------------------------------------------------------


def _poison(raw, rows, value):
    path = roach_file(raw, MAP, 0)

    def edit(data):
        data = data.copy()
        data[rows, 100] = value
        return data

    rewrite_nc(path, values={"Data.Integrate.Data": edit})
    return path


def test_nonfinite_spectra_are_flagged_and_counted(raw, tmp_path, tsys_file, caplog):
    inputs = RoachFile.open(roach_file(raw, MAP, 0)).rows  # rows[dump, input]
    bad_rows = np.concatenate([inputs[:, 1], inputs[::7, 2]])  # all of input 1, some of 2
    _poison(raw, bad_rows, np.inf)
    with caplog.at_level(logging.WARNING):
        out = ingest(raw, MAP, 0, tmp_path / "map.raw.sdfits")
    with SDFITSReader(out) as r:
        data, beam = r.data(), r.column("FDNUM")
    flagged = ~np.isfinite(data).all(axis=1)
    assert np.isnan(data[flagged]).all()  # the whole spectrum, not just the bad channel
    assert set(beam[flagged].tolist()) == {1, 2}
    assert (beam[flagged] == 1).sum() == (beam == 1).sum()
    n_flagged = int(flagged.sum())
    assert f"{n_flagged} of {data.shape[0]} spectra hold NaN/Inf" in caplog.text
    assert "input 1:" in caplog.text and "input 2:" in caplog.text
    # REF means leave the flagged spectra out: every other calibrated spectrum is finite.
    cal = calibrate(out, tsys_file, tmp_path / "map.cal.sdfits", {"stype": 2})
    with SDFITSReader(cal) as r:
        ta, beam = r.data(), r.column("FDNUM")
    assert np.isnan(ta[beam == 1]).all()
    assert np.isfinite(ta[(beam != 1) & (beam != 2)]).all()
    assert np.isfinite(ta[beam == 2]).all(axis=1).sum() > 0


def test_all_spectra_nonfinite_is_an_error(raw, tmp_path):
    _poison(raw, slice(None), np.nan)
    for n in (1, 2, 3):
        rewrite_nc(roach_file(raw, MAP, n), values={"Data.Integrate.Data": lambda d: d * np.nan})
    with pytest.raises(ObsNumError, match="ObsNum 1003: bank 0: every spectrum holds NaN or Inf"):
        ingest(raw, MAP, 0, tmp_path / "out.sdfits")
    assert not list(tmp_path.glob("*out.sdfits*"))


# -- Tsys ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def map_raw(tiny, tmp_path_factory):
    return ingest(tiny.data_lmt, MAP, 0, tmp_path_factory.mktemp("map") / "map.raw.sdfits")


def _bad_tsys(tsys_file, out, beams, value=0.0):
    with fits.open(tsys_file) as hdul:
        table = hdul["BEAMS"].data
        for b in beams:
            table["TSYS"][table["BEAM"] == b] = value
        hdul.writeto(out)
    return out


@pytest.mark.parametrize("value", [0.0, -50.0, np.nan])
def test_bad_tsys_beams_are_dropped(map_raw, tsys_file, tmp_path, caplog, value):
    bad = _bad_tsys(tsys_file, tmp_path / "bad.fits", [3, 5], value)
    with caplog.at_level(logging.WARNING):
        out = calibrate(map_raw, bad, tmp_path / "cal.sdfits", {"stype": 2, "bad_tsys": "drop"})
    assert "Tsys of beams [3, 5]" in caplog.text and "dropped" in caplog.text
    with SDFITSReader(out) as r:
        assert set(r.column("FDNUM").tolist()) == set(range(16)) - {3, 5}
        assert r.datadims[1] == 14
        assert np.all(r.column("TSYS") > 0)


def test_bad_tsys_fails_when_configured(map_raw, tsys_file, tmp_path):
    bad = _bad_tsys(tsys_file, tmp_path / "bad.fits", [7], -1.0)
    with pytest.raises(ObsNumError, match=r"ObsNum 1003: Tsys of beams \[7\] in .*bad.fits"):
        calibrate(map_raw, bad, tmp_path / "cal.sdfits", {"stype": 2, "bad_tsys": "fail"})
    assert not (tmp_path / "cal.sdfits").exists()


def test_nothing_left_after_dropping_beams(map_raw, tsys_file, tmp_path):
    bad = _bad_tsys(tsys_file, tmp_path / "bad.fits", range(16), 0.0)
    with pytest.raises(ObsNumError, match="no beam is left"):
        calibrate(map_raw, bad, tmp_path / "cal.sdfits", {"stype": 2, "bad_tsys": "drop"})


# -- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"missing_roch": "warn"}, "'ingest.missing_roch'; did you mean 'missing_roach'?"),
        ({"missing_roach": "sometimes"}, "config key ingest.missing_roach"),
        ({"missing_roach": 1}, "config key ingest.missing_roach"),
    ],
)
def test_ingest_config_errors(section, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace(".", r"\.")):
        validate_config({"obsnums": [1], "ingest": section})
