"""QA products of the small map reduced by the real workflow (the ``reduced`` fixture)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.qa.maps import interior_mask
from lmtflow.qa.registry import plots_for

PLANES = {"mom0": "K km/s", "mom1": "km/s", "peak": "K", "rms": "K", "radiometer": "K"}


@pytest.fixture(scope="module")
def qa(reduced):
    obsnum = reduced["obsnum"]
    return json.loads((reduced["dir"] / "qa" / f"{obsnum}__0.qa.json").read_text())


def test_qa_numbers_match_the_simulation(qa, reduced, small_sim):
    obs = qa["observation"]
    assert (obs["obsnum"], obs["calobsnum"]) == (reduced["obsnum"], small_sim.labels["cal"])
    assert obs["mode"] == "Map" and obs["receiver"] == "Sequoia" and obs["source"]
    truth = {b["pixel"]: b["tsys_k"] for b in small_sim.truth["sessions"][0]["beams"]
             if b["bank"] == 0}  # fmt: skip
    for feed in qa["spectra"]["per_feed"]:
        assert feed["tsys_median_K"] == pytest.approx(truth[feed["beam"]], rel=0.05)
    # the simulated noise is radiometric: measured rms / radiometer-equation rms is about 1
    assert qa["cube"]["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.15)
    assert qa["cube"]["rms_center_mK"] == pytest.approx(qa["cube"]["radiometer_center_mK"],
                                                        rel=0.15)  # fmt: skip
    assert qa["bad_beams"] == [] and qa["birdies"] == []
    spectra = qa["spectra"]
    assert spectra["used"] + spectra["rejected"] == spectra["total"] > 0
    assert abs(qa["cube"]["qac_stats"]["cube"]["sratio"]) < 0.05  # baseline windows: noise only
    assert len(qa["cube"]["qac_lines"]) == 3
    assert set(qa["params"]) == {"calibrate", "baseline", "grid"}


def test_moment_maps_are_fits_with_the_cube_wcs(qa, reduced):
    cube = fits.getheader(reduced["cube"])
    srdp = reduced["cube"].parent
    stem = reduced["cube"].name.removesuffix(".fits")
    for plane, unit in PLANES.items():
        with fits.open(srdp / f"{stem}.{plane}.fits") as hdul:
            h, data = hdul[0].header, hdul[0].data
        assert h["BUNIT"] == unit
        assert data.shape == (cube["NAXIS2"], cube["NAXIS1"])
        for key in ("CTYPE1", "CRVAL1", "CDELT1", "CRPIX1", "CTYPE2", "CRVAL2", "CRPIX2"):
            assert h[key] == cube[key], (plane, key)
    peak = fits.getdata(srdp / f"{stem}.peak.fits")
    # peak_K is the well-weighted interior's; the thin edge's is reported apart (issue 20)
    interior, edge = interior_mask(fits.getdata(srdp / f"{stem}.wt.fits"))
    assert np.nanmax(peak[interior]) == pytest.approx(qa["cube"]["peak_K"])
    assert np.nanmax(peak[edge]) == pytest.approx(qa["cube"]["peak_edge_K"])
    data = fits.getdata(reduced["cube"])
    v = (cube["CRVAL3"] + (np.arange(data.shape[0]) + 1 - cube["CRPIX3"]) * cube["CDELT3"]) / 1e3
    window = np.zeros(v.size, bool)
    for lo, hi in qa["params"]["baseline"]["b_regions"]:
        window |= (v >= min(lo, hi)) & (v <= max(lo, hi))
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        expected = np.nanmax(data[~window], axis=0)  # blank (edge) cells are all-NaN
    np.testing.assert_allclose(peak, expected, rtol=1e-6)


def test_every_registered_plot_is_a_png(reduced):
    from PIL import Image

    for plot in plots_for("map"):
        path = reduced["dir"] / "qa" / f"{reduced['obsnum']}__0.{plot.name}.png"
        with Image.open(path) as im:
            assert im.format == "PNG" and min(im.size) >= 300, plot.name
            assert np.unique(np.asarray(im.convert("L"))).size > 20, f"{plot.name} looks empty"
