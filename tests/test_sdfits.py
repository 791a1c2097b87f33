"""SDFITS I/O: round trip, block writing, atomicity, broken files, axis helpers, dysh."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.constants import LMT_SITE_ELEV_M, LMT_SITE_LAT_DEG, LMT_SITE_LONG_DEG
from lmtflow.errors import ProductError
from lmtflow.io.sdfits import (
    SDFITSError,
    SDFITSReader,
    SDFITSWriter,
    channel_frequencies,
    iso_dateobs,
    obsmode,
    read_sdfits,
    spectral_axis_columns,
    write_sdfits,
)
from lmtflow.spectral import SpectralAxis

NDUMP, NBEAM, NCHAN = 20, 4, 256
OBSNUM = 110555
CRVAL1, CRPIX1, CDELT1 = 115.2e9, 128.5, -390625.0
PARAMS = {
    "baseline": {"order": 1, "windows": [[-100.0, -20.0], [30.0, 110.0]]},
    "note": "quotes ' and \" and a long text " + "x" * 300,
    "obsnums": list(range(110000, 110040)),
}


def constants() -> dict:
    return {
        "OBJECT": "NGC 5194",
        "DURATION": 0.1,
        "CRVAL1": CRVAL1,
        "CRPIX1": CRPIX1,
        "CDELT1": CDELT1,
        "CRVAL4": -5,
        "SCAN": OBSNUM,
        "OBSMODE": obsmode("Map", "cal"),
        "FRONTEND": "Sequoia",
        "VFRAME": 12345.0,
        "RVSYS": 0.0,
        "OBSFREQ": CRVAL1,
        "RESTFREQ": 115.2712018e9,
        "VELOCITY": 463000.0,
        "SIDEBAND": "U",
        "IFNUM": 0,
        "PLNUM": 0,
    }


def make_rows(ndump: int = NDUMP, nbeam: int = NBEAM, nchan: int = NCHAN):
    """Per-row columns and Ta* data of an (ndump, nbeam) map; every value distinct."""
    n = ndump * nbeam
    dump = np.repeat(np.arange(ndump, dtype=np.int32), nbeam)
    beam = np.tile(np.arange(nbeam, dtype=np.int16), ndump)
    t = 1.7e9 + 0.1 * dump + 0.003
    cols = {
        "EXPOSURE": 0.09 + 0.001 * beam,
        "TSYS": 150.0 + 10.0 * beam + 0.5 * dump,
        "CRVAL2": 202.47 + 1e-4 * np.arange(n),
        "CRVAL3": 47.19 - 1e-4 * np.arange(n),
        "LST": 3600.0 + 0.1 * dump,
        "AZIMUTH": 140.0 + 0.01 * dump,
        "ELEVATIO": 55.0 + 0.01 * dump,
        "FDNUM": beam,
        "INTNUM": dump,
        "BUFPOS": np.full(n, 100, dtype=np.int16) + (dump % 3).astype(np.int16),
        "LMTXOFF": np.linspace(-300.0, 300.0, n),
        "LMTYOFF": np.linspace(60.0, -60.0, n),
        "UTCTIME": t,
    }
    ch = np.arange(nchan)
    data = (beam[:, None] + 0.01 * dump[:, None] + np.sin(ch / 7.0)[None, :]).astype(np.float32)
    return cols, data


def write_kwargs() -> dict:
    return {
        "projid": "2024-S1-MX-3",
        "instrume": "Sequoia",
        "datadims": (NDUMP, NBEAM, 1, 1, NCHAN),
        "constants": constants(),
    }


@pytest.fixture()
def sdfits_file(tmp_path: Path) -> Path:
    cols, data = make_rows()
    path = tmp_path / "cal.sdfits"
    write_sdfits(
        path,
        cols,
        data,
        header={"OBSNUM": OBSNUM, "MAPCOORD": ("RADEC", "map frame"), "DUMPTIME": 0.1},
        params=PARAMS,
        history=["step: calibrate " + "y" * 100, "second line"],
        **write_kwargs(),
    )
    return path


# -- round trip --------------------------------------------------------------------------------


def test_round_trip_columns_data_and_keywords(sdfits_file: Path) -> None:
    cols, data = make_rows()
    with SDFITSReader(sdfits_file) as r:
        assert (r.nrows, r.nchan, r.datadims) == (NDUMP * NBEAM, NCHAN, (NDUMP, NBEAM, 1, 1, NCHAN))
        got = r.columns()
        out = r.data()
        assert out.dtype == np.float32 and out.dtype.isnative
        np.testing.assert_array_equal(out, data)
        for name, val in cols.items():
            assert got[name].dtype.isnative, name
            np.testing.assert_array_equal(got[name], val, err_msg=name)
        assert got["FDNUM"].dtype == np.int16 and got["INTNUM"].dtype == np.int32
        assert got["RMS"].dtype == np.float32 and np.all(got["RMS"] == 0)
        # constants, defaults and derived columns
        assert np.all(got["OBJECT"] == "NGC 5194") and np.all(got["SCAN"] == OBSNUM)
        assert np.all(got["OBSMODE"] == "OTF:MAP:NONE") and np.all(got["CTYPE1"] == "FREQ-OBS")
        assert np.all(got["CAL"] == "F") and np.all(got["TSCALE"] == "Ta*")
        assert np.all(got["TUNIT7"] == "K") and np.all(got["VELDEF"] == "RADI-LSR")
        np.testing.assert_array_equal(got["FEED"], cols["FDNUM"] + 1)
        np.testing.assert_array_equal(got["DATE-OBS"], iso_dateobs(cols["UTCTIME"]).astype(str))
        assert got["DATE-OBS"][4] == "2023-11-14T22:13:20.10"
        assert np.all(got["BANDWID"] == abs(CDELT1) * NCHAN)
        assert np.all(got["FREQRES"] == abs(CDELT1))
        h = r.header
        assert h["EXTNAME"] == "SINGLE DISH" and h["TELESCOP"] == "LMT"
        assert h["TTYPE7"] == "DATA" and h["TFORM7"] == f"{NCHAN}E" and h["TUNIT7"] == "K"
        assert (h["SITELONG"], h["SITELAT"], h["SITEELEV"]) == (
            LMT_SITE_LONG_DEG,
            LMT_SITE_LAT_DEG,
            LMT_SITE_ELEV_M,
        )
        assert h["PROJID"] == "2024-S1-MX-3" and h["CTYPE4"] == "STOKES"
        assert h["BACKEND"] == "WARES" and h["INSTRUME"] == "Sequoia"
        assert h["OBSNUM"] == OBSNUM and h["MAPCOORD"] == "RADEC" and h["DUMPTIME"] == 0.1
        assert r.params == json.loads(json.dumps(PARAMS))
        assert "step: calibrate" in str(h["HISTORY"])
        p = r.primary_header
        assert p["ORIGIN"] == "lmtflow" and p["TELESCOP"] == "LMT" and "SDFITVER" in p
    assert sdfits_file.stat().st_size % 2880 == 0


def test_astropy_reads_the_same(sdfits_file: Path) -> None:
    """An independent reader (astropy, with full verification) sees the same table."""
    cols, data = make_rows()
    with fits.open(sdfits_file) as hdul:
        hdul.verify("exception")
        tab = hdul["SINGLE DISH"].data
        np.testing.assert_array_equal(tab["DATA"], data)
        np.testing.assert_array_equal(tab["TSYS"], cols["TSYS"])
        np.testing.assert_array_equal(tab["FDNUM"], cols["FDNUM"])
        assert tab["OBJECT"][0] == "NGC 5194"


def test_blockwise_writing_equals_one_shot(tmp_path: Path, sdfits_file: Path) -> None:
    cols, data = make_rows()
    path = tmp_path / "blocks.sdfits"
    kw = write_kwargs()
    kw["constants"] = {k: v for k, v in kw["constants"].items() if k != "OBJECT"}
    hdr = {"OBSNUM": OBSNUM, "MAPCOORD": ("RADEC", "map frame"), "DUMPTIME": 0.1}
    hist = ["step: calibrate " + "y" * 100, "second line"]
    # structured-array blocks of uneven sizes, OBJECT given per row, a tiny internal chunk
    rec = np.zeros(len(data), dtype=[(k, np.asarray(v).dtype) for k, v in cols.items()])
    for k, v in cols.items():
        rec[k] = v
    with SDFITSWriter(
        path, len(data), NCHAN, header=hdr, params=PARAMS, history=hist, chunk_bytes=3000, **kw
    ) as w:
        for a, b in [(0, 1), (1, 8), (8, 8), (8, 45), (45, len(data))]:
            blk = {k: rec[k][a:b] for k in rec.dtype.names}
            blk["OBJECT"] = np.array(["NGC 5194"] * (b - a))
            w.append(blk, data[a:b])
    one, many = sdfits_file.read_bytes(), path.read_bytes()
    assert len(one) == len(many)
    assert one[2880:] == many[2880:]  # primary header differs only by its DATE


def test_dump_blocks(sdfits_file: Path) -> None:
    cols, data = make_rows()
    cube = data.reshape(NDUMP, NBEAM, 1, 1, NCHAN)
    with SDFITSReader(sdfits_file) as r:
        blocks = list(r.iter_dumps(dumps_per_block=6, columns=("INTNUM", "FDNUM")))
        assert [b.dumps for b in blocks] == [
            slice(0, 6),
            slice(6, 12),
            slice(12, 18),
            slice(18, 20),
        ]
        for b in blocks:
            np.testing.assert_array_equal(b.data, cube[b.dumps])
            np.testing.assert_array_equal(b.columns["INTNUM"], cols["INTNUM"][b.rows])
        reused = [b.data.copy() for b in r.iter_dumps(dumps_per_block=7, reuse_buffer=True)]
        np.testing.assert_array_equal(np.concatenate(reused), cube)
        np.testing.assert_array_equal(r.data(10, 14), data[10:14])
        out = np.full((4, 35), np.nan, np.float32)
        got = r.data(10, 14, out=out, chans=slice(5, 40))
        assert got is out
        np.testing.assert_array_equal(out, data[10:14, 5:40])
        np.testing.assert_array_equal(r.data(chans=slice(200, None)), data[:, 200:])
        np.testing.assert_array_equal(r.column("LMTXOFF", 3, 9), cols["LMTXOFF"][3:9])
        with pytest.raises(IndexError):
            r.data(0, NDUMP * NBEAM + 1)


def test_raw_counts_file(tmp_path: Path) -> None:
    cols, data = make_rows(ndump=3)
    kw = write_kwargs() | {"datadims": None, "tscale": "Raw"}
    kw["constants"] = kw["constants"] | {"OBSMODE": obsmode("Map", "raw")}
    write_sdfits(tmp_path / "raw.sdfits", cols, data * 1e6, **kw)
    with SDFITSReader(tmp_path / "raw.sdfits") as r:
        assert r.datadims == (len(data), 1, 1, 1, NCHAN)
        assert "TUNIT7" not in r.header  # blank unit: dysh reads counts
        c = r.columns(["TSCALE", "TUNIT7", "OBSMODE"])
        assert c["TSCALE"][0] == "Raw" and c["TUNIT7"][0] == "counts"
        assert c["OBSMODE"][0] == "RAW:MAP:NONE"


# -- atomicity ---------------------------------------------------------------------------------


def test_exception_in_context_leaves_nothing(tmp_path: Path) -> None:
    cols, data = make_rows()
    path = tmp_path / "x.sdfits"
    with (
        pytest.raises(RuntimeError, match="boom"),
        SDFITSWriter(path, len(data), NCHAN, **write_kwargs()) as w,
    ):
        w.append({k: v[:8] for k, v in cols.items()}, data[:8])
        assert len(list(tmp_path.iterdir())) == 1  # the temporary file, not x.sdfits
        assert not path.exists()
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_background_write_leaves_nothing(tmp_path: Path) -> None:
    """A write that fails in the writer's helper thread (disk full) stops the file."""
    cols, data = make_rows()
    path = tmp_path / "x.sdfits"
    calls = []

    def full_disk(view):
        calls.append(len(view))
        raise OSError(28, "No space left on device")

    with (
        pytest.raises(OSError, match="No space left"),
        SDFITSWriter(path, len(data), NCHAN, chunk_bytes=3000, **write_kwargs()) as w,
    ):
        w._file.write = full_disk  # every row write from here on fails
        for a in range(0, len(data), 8):
            w.append({k: v[a : a + 8] for k, v in cols.items()}, data[a : a + 8])
    assert calls  # the failing write did run
    assert list(tmp_path.iterdir()) == []


def test_too_few_rows_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    cols, data = make_rows()
    with (
        pytest.raises(SDFITSError, match="only 8 of 80 declared rows"),
        SDFITSWriter(tmp_path / "x.sdfits", len(data), NCHAN, **write_kwargs()) as w,
    ):
        w.append({k: v[:8] for k, v in cols.items()}, data[:8])
    assert list(tmp_path.iterdir()) == []


def test_bad_blocks_abort_the_file(tmp_path: Path) -> None:
    cols, data = make_rows()
    path = tmp_path / "x.sdfits"
    path.write_bytes(b"previous complete product")
    bad = [
        ({k: v for k, v in cols.items() if k != "TSYS"}, data, "TSYS"),  # missing column
        (cols | {"TSYSX": cols["TSYS"]}, data, "TSYSX"),  # unknown column
        (cols | {"FDNUM": cols["FDNUM"] + 0.5}, data, "integer column FDNUM"),
        (cols | {"OBJECT": "x" * 40}, data, "longer than 32"),
        (cols, data[:, :10], "does not end in 256"),
        (cols, np.concatenate([data, data]), "declared"),  # too many rows
    ]
    for block, dat, msg in bad:
        w = SDFITSWriter(path, len(data), NCHAN, **write_kwargs())
        with pytest.raises((ValueError, TypeError, SDFITSError), match=msg):
            w.append(block, dat)
        with pytest.raises(SDFITSError):
            w.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["x.sdfits"]
        assert path.read_bytes() == b"previous complete product"


def test_bad_header_keywords_are_refused(tmp_path: Path) -> None:
    for hdr, msg in [({"TSYS": 1.0}, "is also a column"), ({"LONGNAME9": 1}, "longer than 8")]:
        with pytest.raises(ValueError, match=msg):
            SDFITSWriter(tmp_path / "x.sdfits", NDUMP * NBEAM, NCHAN, header=hdr, **write_kwargs())
    with pytest.raises(ValueError, match="datadims"):
        SDFITSWriter(tmp_path / "x.sdfits", 7, NCHAN, **write_kwargs())
    assert list(tmp_path.iterdir()) == []


def test_killed_writer_leaves_no_final_file(tmp_path: Path) -> None:
    final = tmp_path / "killed.sdfits"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from lmtflow.io.sdfits import SDFITSWriter
        from test_sdfits import make_rows, write_kwargs
        cols, data = make_rows()
        w = SDFITSWriter({str(final)!r}, len(data), data.shape[1], **write_kwargs())
        w.append({{k: v[:40] for k, v in cols.items()}}, data[:40])
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[1])
    assert proc.returncode == -signal.SIGKILL
    assert not final.exists()
    leftovers = list(tmp_path.iterdir())  # the hidden temporary file stays behind
    assert all(p.name.startswith(".killed.sdfits.") and p.suffix == ".part" for p in leftovers)


# -- broken input ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SDFITSError, match="no such SDFITS file") as exc:
        SDFITSReader(tmp_path / "nope.sdfits")
    assert isinstance(exc.value, ProductError) and exc.value.path == tmp_path / "nope.sdfits"


def test_truncated_file(sdfits_file: Path) -> None:
    full = sdfits_file.read_bytes()
    with SDFITSReader(sdfits_file) as r:
        offset, rowsize = r.data_offset, r.dtype.itemsize
    sdfits_file.write_bytes(full[: offset + 30 * rowsize + 17])
    with pytest.raises(SDFITSError, match="truncated.*only 30 complete rows") as exc:
        SDFITSReader(sdfits_file)
    assert str(sdfits_file) in str(exc.value)
    sdfits_file.write_bytes(full[:4000])  # inside the table header
    with pytest.raises(SDFITSError, match="cal.sdfits"):
        SDFITSReader(sdfits_file)


def test_missing_extname_and_columns(tmp_path: Path) -> None:
    cols = [fits.Column("DATA", "4E", array=np.zeros((2, 4))), fits.Column("TSYS", "D")]
    other = tmp_path / "other.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="OTHER")]).writeto(
        other
    )
    with pytest.raises(SDFITSError, match="EXTNAME='SINGLE DISH'"):
        SDFITSReader(other)
    short = tmp_path / "short.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SINGLE DISH")]
    ).writeto(short)
    with pytest.raises(SDFITSError, match=r"short.fits: missing required columns \['DATE-OBS'"):
        SDFITSReader(short)
    with SDFITSReader(short, required=("DATA", "TSYS")) as r:  # readable when asked for less
        assert r.nchan == 4 and r.data().shape == (2, 4)


# -- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sideband", [1, 2])
def test_spectral_axis_columns(sideband: int) -> None:
    axis = SpectralAxis(
        nchan=2048,
        bandwidth_hz=800e6,
        rest_freq_hz=115.2712018e9,
        sky_freq_hz=115.1e9,
        sideband=sideband,
        vsource_kms=10.0,
    )
    full = spectral_axis_columns(axis)
    f = channel_frequencies(full["CRVAL1"], full["CDELT1"], full["CRPIX1"], 2048)
    np.testing.assert_allclose(f, axis.sky_frequency(), rtol=0, atol=1e-3)
    assert full["CDELT1"] == axis.dfdc and full["BANDWID"] == 800e6
    sl = spectral_axis_columns(axis, chan0=700, nchan=300)
    f = channel_frequencies(sl["CRVAL1"], sl["CDELT1"], sl["CRPIX1"], 300)
    np.testing.assert_allclose(f, axis.sky_frequency(np.arange(700, 1000)), rtol=0, atol=1e-3)
    assert sl["CRPIX1"] == axis.ch0 - 700 + 1 and sl["BANDWID"] == 300 * axis.channel_width_hz
    np.testing.assert_allclose(sl["OBSFREQ"], f[149:151].mean(), rtol=0, atol=1e-3)
    plain = spectral_axis_columns(
        sky_freq_hz=np.array([115.1e9, 115.2e9]),
        dfdc_hz=axis.dfdc,
        ch0=axis.ch0,
        chan0=700,
        nchan=300,
    )
    assert plain["CRPIX1"] == sl["CRPIX1"] and plain["CRVAL1"].shape == (2,)
    with pytest.raises(ValueError, match="outside"):
        spectral_axis_columns(axis, chan0=2000, nchan=100)


def test_obsmode_and_dateobs() -> None:
    assert obsmode("Ps", "cal") == "OnOff:PSWITCHON:NONE"
    assert obsmode("Bs", "base") == "Nod:BSWITCH:NONE"
    assert obsmode("Ps", "raw") == "RAW:PSWITCHON:NONE"
    with pytest.raises(ValueError):
        obsmode("Lissajous", "cal")
    t = np.array([0.0, 59.996, 1.7e9 + 0.125])
    assert iso_dateobs(t).tolist() == [
        b"1970-01-01T00:00:00.00",
        b"1970-01-01T00:01:00.00",
        b"2023-11-14T22:13:20.12",
    ]
    # numpy's own datetime formatting agrees: any time, day ends, rounding, before 1970
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(-1e9, 2e9, 5000), 86400.0 * 19675 + np.arange(-9, 9) * 0.003])
    centis = np.round(t * 100.0).astype("int64").astype("datetime64[10ms]")
    want = np.datetime_as_string(centis, unit="ms").astype("S22")  # drops the last ms digit
    np.testing.assert_array_equal(iso_dateobs(t), want)
    assert iso_dateobs(t.reshape(2, -1)).shape == (2, t.size // 2)


def test_read_sdfits_small(sdfits_file: Path) -> None:
    cols, data = read_sdfits(sdfits_file)
    assert "DATA" not in cols and data.shape == (NDUMP * NBEAM, NCHAN)


# -- dysh --------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore")
def test_dysh_reads_calibrated_file(sdfits_file: Path) -> None:
    import astropy.units as u
    from dysh.fits import GBTFITSLoad

    cols, data = make_rows()
    sdf = GBTFITSLoad(sdfits_file)
    summary = sdf.get_summary()
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row["SCAN"], row["OBJECT"], row["PROC"]) == (OBSNUM, "NGC 5194", "OTF")
    assert (row["# INT"], row["# FEED"], row["# IF"], row["# POL"]) == (NDUMP, NBEAM, 1, 1)
    sdf.summary()

    freq = channel_frequencies(CRVAL1, CDELT1, CRPIX1, NCHAN)
    for beam in (0, 3):
        rows = cols["FDNUM"] == beam
        scans = sdf.gettp(fdnum=beam, ifnum=0, plnum=0, scan=OBSNUM)
        assert len(scans) == 1
        tp = scans[0]
        assert tp.tscale == "Ta*" and tp.nint == NDUMP
        np.testing.assert_array_equal(np.ma.getdata(tp.calibrated), data[rows])
        np.testing.assert_allclose(tp.tsys, cols["TSYS"][rows])
        # time average with dysh's weights EXPOSURE * |CDELT1| / TSYS^2
        avg = scans.timeaverage()
        w = cols["EXPOSURE"][rows] * abs(CDELT1) / cols["TSYS"][rows] ** 2
        expect = (data[rows] * w[:, None]).sum(0) / w.sum()
        assert avg.flux.unit == u.K
        np.testing.assert_allclose(avg.flux.value, expect, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(avg.spectral_axis.to_value(u.Hz), freq, rtol=1e-12)

    spec = tp.getspec(5)  # beam 3, dump 5
    assert spec.flux.unit == u.K and spec.meta["TSCALE"] == "Ta*"
    np.testing.assert_array_equal(spec.flux.value, data[5 * NBEAM + 3])
    np.testing.assert_allclose(spec.spectral_axis.to_value(u.Hz), freq, rtol=1e-12)
    one = sdf.getspec(5 * NBEAM + 3)
    np.testing.assert_array_equal(one.flux.to_value(u.K), data[5 * NBEAM + 3])
