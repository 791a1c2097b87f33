"""Map variants: galactic coordinates and dual-bank SEQUOIA, checked against the truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import lmtflow
from lmtflow.sim import simulate

from .workflow_helpers import run


def _offset_source(cfg, dx=12.0, dy=-8.0):
    cfg["sessions"][0]["sky"]["sources"][0].update(dx_arcsec=dx, dy_arcsec=dy, peak_k=6.0)
    cfg["sessions"][0]["observations"][2]["params"].update(xlength_arcsec=60, ylength_arcsec=40)
    return cfg


def _peak_world(path, vlsr, width):
    data = fits.getdata(path)
    h = fits.getheader(path)
    v = (h["CRVAL3"] + (np.arange(data.shape[0]) + 1 - h["CRPIX3"]) * h["CDELT3"]) / 1e3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m0 = np.nansum(data[np.abs(v - vlsr) < width], axis=0)
    j, i = np.unravel_index(np.argmax(m0), m0.shape)
    return WCS(h).celestial.pixel_to_world_values(i, j), abs(h["CDELT1"]) * 3600, h


def test_galactic_map_lands_at_true_l_b(tmp_path, tiny_config):
    cfg = _offset_source(tiny_config())
    sky = cfg["sessions"][0]["sky"]
    del sky["ra_deg"], sky["dec_deg"]
    sky.update(coord_sys="galactic", l_deg=111.5, b_deg=-0.8)
    cfg["sessions"][0]["observations"][2]["params"]["coord"] = "L"
    sim = simulate(cfg, tmp_path / "data_lmt", seed=3)
    src = sim.session("map")["sky"]["sources"][0]
    cube = lmtflow.load(sim.labels["map"], data_lmt=sim.data_lmt, work=tmp_path / "w")
    cube = cube.calibrate().baseline().grid()
    (lon, lat), cell, h = _peak_world(cube.path, src["vlsr_kms"], src["fwhm_kms"])
    assert h["CTYPE1"] == "GLON-SFL" and h["CTYPE2"] == "GLAT-SFL"
    dlon = (lon - src["lon_deg"]) * np.cos(np.radians(src["lat_deg"])) * 3600
    dlat = (lat - src["lat_deg"]) * 3600
    assert np.hypot(dlon, dlat) < 0.75 * cell  # brightest cell is the source's cell


def test_dual_bank_map_reduces_both_banks(tmp_path, tiny_config):
    lines = [115.271204, 110.201354]
    cfg = _offset_source(tiny_config(line_freq_ghz=lines))
    cfg["sessions"][0]["observations"].pop(1)  # no Ps needed here
    sim = simulate(cfg, tmp_path / "data_lmt", seed=4)
    obsnum = sim.labels["map"]
    run(sim.data_lmt, tmp_path, [obsnum])
    cubes = sorted((tmp_path / "work").glob(f"*/{obsnum}/srdp/*__[01].fits"))
    assert [c.name.rsplit("__", 1)[1] for c in cubes] == ["0.fits", "1.fits"]
    src = sim.session("map")["sky"]["sources"][0]
    for bank, cube in enumerate(cubes):
        (ra, dec), cell, h = _peak_world(cube, src["vlsr_kms"], src["fwhm_kms"])
        assert h["RESTFRQ"] == pytest.approx(lines[bank] * 1e9)
        if bank == 0:  # the source line is CO(1-0); bank 1 only sees noise at 13CO
            d = np.hypot((ra - src["lon_deg"]) * np.cos(np.radians(dec)), dec - src["lat_deg"])
            assert d * 3600 < 0.75 * cell
