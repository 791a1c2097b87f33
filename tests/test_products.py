"""The workflow's SDFITS products in the real dysh; the interactive session of the README."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from astropy.io import fits

import lmtflow
from lmtflow.io.sdfits_reader import SDFITSReader

matplotlib.use("Agg")


@pytest.mark.parametrize("stage", ["cal", "base"])
def test_dysh_reads_pipeline_sdfits(reduced, stage):
    import astropy.units as u
    from dysh.fits import GBTFITSLoad

    path = reduced[stage]
    with SDFITSReader(path) as r:
        cols = r.columns(["FDNUM", "TSYS"])
        data = r.data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdf = GBTFITSLoad(path)
        summary = sdf.get_summary()
        assert int(summary["SCAN"].iloc[0]) == reduced["obsnum"]
        for beam in (0, 10):
            scans = sdf.gettp(fdnum=beam, ifnum=0, plnum=0, scan=reduced["obsnum"])
            tp = scans[0]
            rows = cols["FDNUM"] == beam
            assert tp.tscale == "Ta*"
            np.testing.assert_array_equal(np.ma.getdata(tp.calibrated), data[rows])
            np.testing.assert_allclose(tp.tsys, cols["TSYS"][rows])
            assert scans.timeaverage().flux.unit == u.K


def test_cube_has_no_runaway_edge_cells(reduced):
    data = fits.getdata(reduced["cube"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noise = np.nanstd(data, axis=0)
    assert np.nanmax(noise) < 5 * np.nanmedian(noise)


def test_readme_interactive_session(small_sim, reduced, tmp_path):
    obsnum = small_sim.labels["map"]
    obs = lmtflow.load(obsnum, data_lmt=small_sim.data_lmt, work=tmp_path / "work")
    assert obs.data.ndim == 5 and obs.data.shape[1:4] == (16, 1, 1)
    cal = obs.calibrate()
    with SDFITSReader(reduced["cal"]) as r:  # the workflow's file: same code, same numbers
        np.testing.assert_array_equal(cal.data.reshape(r.nrows, r.nchan), r.data())
    base = cal.baseline(b_order=1)
    assert base.params["b_order"] == 1 and base.data.shape[-1] < cal.data.shape[-1]
    cube = base.grid(resolution=12)
    assert cube.params["resolution"] == 12 and cube.params["cell"] == 6
    assert cube.data.shape[0] == base.data.shape[-1]
    out = base.to_sdfits(tmp_path / f"{obsnum}.sdfits")
    with SDFITSReader(out) as r:
        assert r.params["b_order"] == 1
    ax = cube.plot()
    assert "peak" in ax.get_title()
