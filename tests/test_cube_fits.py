"""Tests of the cube and plane FITS writers (spectral-cube / astropy WCS readability, atomicity)."""

from __future__ import annotations

import json
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from spectral_cube import SpectralCube

from lmtflow import __version__
from lmtflow.gridding import GridGeometry, grid_spectra
from lmtflow.io import cube as cube_io
from lmtflow.io.cube import SpectralWCS, effective_beam_fwhm, write_cube, write_plane

RA0, DEC0 = 146.98916, 13.27877  # IRC+10216
SPEC = SpectralWCS(crval_ms=329984.8, cdelt_ms=-1015.921, rest_freq_hz=115271204000.0)


@pytest.fixture
def gridded():
    rng = np.random.default_rng(11)
    n, nchan = 4000, 12
    x, y = rng.uniform(-50, 50, (2, n))
    x = np.minimum(x, 30.0)  # nothing east of +30": the easternmost columns are blank
    spectra = rng.standard_normal((n, nchan)).astype(np.float32)
    geom = GridGeometry.from_extent(44.0, 5.5, 22.0)  # non-square: 17 x 9
    return grid_spectra(x, y, spectra, np.ones(n), geom, 11.0, edge=0)


def write_example(path, gridded, **kw):
    args = dict(
        center_lon_deg=RA0,
        center_lat_deg=DEC0,
        spectral=SPEC,
        beam_fwhm_arcsec=effective_beam_fwhm(11.0, 1),
        instrument="Sequoia",
        object_name="IRC+10216",
        date_obs="2018-11-16T11:48:52",
        vlsr_kms=-20.0,
        vsource_kms=-20.0,
        nchan0=2048,
        chan0=679,
        obsnums=[79448, 79450],
        history=["process_otf_map2.py --obsnum 79448"],
        params=gridded.params,
    )
    args.update(kw)
    return write_cube(path, gridded.cube, gridded.geometry, **args)


def test_cube_opens_in_spectral_cube(tmp_path, gridded):
    path = write_example(tmp_path / "cube.fits", gridded)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing for wcslib to fix or complain about
        sc = SpectralCube.read(path)
    geom = gridded.geometry
    assert sc.shape == (12, geom.ny, geom.nx)
    assert sc.unit == u.K
    assert sc.wcs.wcs.ctype[2] == "VRAD" and sc.spectral_axis.unit == u.m / u.s
    assert sc.wcs.wcs.specsys == "LSRK"
    assert sc.wcs.wcs.restfrq == pytest.approx(115271204000.0)
    kms = sc.with_spectral_unit(u.km / u.s).spectral_axis
    assert kms[0].value == pytest.approx(329.9848) and kms[1].value == pytest.approx(328.968879)
    freq = sc.with_spectral_unit(u.GHz, velocity_convention="radio").spectral_axis
    assert freq[0].value == pytest.approx(115.271204 * (1 - 329.9848 / 299792.458))
    assert sc.beam.major.to(u.arcsec).value == pytest.approx(effective_beam_fwhm(11.0, 1))
    # blanks are NaN and masked
    blank = ~gridded.valid
    assert blank.any() and not sc.mask.include()[0][blank].any()
    # world coordinates of pixel (column 0, row crpix-1, channel 2): east of centre
    lon, lat, vel = sc.wcs.pixel_to_world_values(0, geom.crpix_y - 1, 2)
    assert lat == pytest.approx(DEC0, abs=1e-6)  # SFL rotated to DEC0: not exactly a parallel
    x_east = (lon - RA0) * np.cos(np.radians(lat)) * 3600
    assert x_east == pytest.approx((geom.crpix_x - 1) * geom.cell, rel=1e-4)
    assert vel == pytest.approx(329984.8 - 2 * 1015.921)
    np.testing.assert_array_equal(
        fits.getdata(path)[np.isfinite(gridded.cube)], gridded.cube[np.isfinite(gridded.cube)]
    )


def test_cube_header_metadata(tmp_path, gridded):
    h = fits.getheader(write_example(tmp_path / "cube.fits", gridded))
    assert h["TELESCOP"] == "LMT" and h["INSTRUME"] == "Sequoia" and h["OBJECT"] == "IRC+10216"
    assert h["ORIGIN"] == f"lmtflow {__version__}"
    assert h["BUNIT"] == "K" and h["CDELT1"] < 0 and h["CDELT2"] > 0
    assert h["CTYPE1"] == "RA---SFL" and h["CTYPE2"] == "DEC--SFL"
    assert h["CRVAL1"] == RA0 and h["CRVAL2"] == DEC0  # full double precision
    assert (h["CRPIX1"], h["CRPIX2"]) == (9.0, 5.0)
    assert h["VELREF"] == 257 and h["SPECSYS"] == "LSRK" and h["SSYSOBS"] == "TOPOCENT"
    assert h["VLSR"] == -20.0 and h["ZSOURCE"] == pytest.approx(-20.0 / 299792.458)
    assert (h["NCHAN0"], h["CHAN0"]) == (2048, 679)
    assert h["DATE-OBS"] == "2018-11-16T11:48:52" and h["TIMESYS"] == "UTC"
    assert h["OBSNUMS"] == "79448,79450"
    assert "OBSNUM 79450" in [str(c) for c in h["COMMENT"]]
    history = "".join(str(c) for c in h["HISTORY"])
    assert "process_otf_map2.py --obsnum 79448" in history
    params = json.loads(history.split("(JSON): ", 1)[1])
    assert params["resolution"] == 11.0 and params["kernel"] == "jinc"
    assert "BMAJ=" not in history.upper()


def test_galactic_frame(tmp_path, gridded):
    path = write_example(tmp_path / "gal.fits", gridded, frame="GALACTIC")
    w = WCS(fits.getheader(path))
    assert w.wcs.ctype[0] == "GLON-SFL" and w.wcs.ctype[1] == "GLAT-SFL"
    assert w.celestial.world_axis_physical_types == ["pos.galactic.lon", "pos.galactic.lat"]


def test_weight_plane_has_celestial_wcs(tmp_path, gridded):
    geom = gridded.geometry
    path = write_plane(
        tmp_path / "cube.wt.fits",
        gridded.weight,
        geom,
        center_lon_deg=RA0,
        center_lat_deg=DEC0,
        bunit="K-2",
        object_name="IRC+10216",
    )
    with fits.open(path) as hdul:
        h = hdul[0].header
        data = hdul[0].data
    assert data.shape == geom.shape and data.dtype.kind == "f"
    np.testing.assert_allclose(data, gridded.weight, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = WCS(h)
    assert w.naxis == 2 and w.has_celestial
    sky = w.pixel_to_world(geom.crpix_x - 1, geom.crpix_y - 1)
    assert sky.ra.deg == pytest.approx(RA0) and sky.dec.deg == pytest.approx(DEC0)
    assert w.pixel_to_world(0, geom.crpix_y - 1).ra.deg > RA0  # column 0 is east
    assert u.Unit(h["BUNIT"], format="fits") == u.K**-2


def test_atomic_write_leaves_no_temporary(tmp_path, gridded, monkeypatch):
    target = tmp_path / "cube.fits"
    write_example(target, gridded)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.fits"]
    before = target.read_bytes()

    def killed(self, fileobj, *args, **kwargs):
        with open(fileobj, "wb") as fh:  # partial output, then the job dies
            fh.write(b"SIMPLE  =                    T")
        raise KeyboardInterrupt

    monkeypatch.setattr(cube_io.fits.PrimaryHDU, "writeto", killed)
    with pytest.raises(KeyboardInterrupt):
        write_example(target, gridded, object_name="other")
    with pytest.raises(KeyboardInterrupt):
        write_example(tmp_path / "new.fits", gridded)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.fits"]
    assert target.read_bytes() == before


def test_shape_mismatch_is_rejected(tmp_path, gridded):
    with pytest.raises(ValueError, match="does not match"):
        write_cube(
            tmp_path / "bad.fits",
            gridded.cube[:, :, :-1],
            gridded.geometry,
            center_lon_deg=RA0,
            center_lat_deg=DEC0,
            spectral=SPEC,
            beam_fwhm_arcsec=12.0,
        )
    assert list(tmp_path.iterdir()) == []
