"""lmtflow.sim.measure: truth sources fitted in a cube, blended neighbours fitted jointly."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS

from lmtflow.kernels import Kernel, smoothed_beam
from lmtflow.sim.measure import fit_truth_sources

CELL, BEAM = 5.5, 12.9
PARAMS = {"cell": CELL, "resolution": 11.0, "rmax": 3, "otf_select": 1, "otf_a": 1.1,
          "otf_b": 4.75, "otf_c": 2}  # fmt: skip


def _cube(sources, lines, noise, seed=3):
    """A 40 x 40 cell, 1 km/s cube of the sources (as the gridder images a point) plus noise."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype, wcs.wcs.crpix = ["RA---TAN", "DEC--TAN"], [20.5, 20.5]
    wcs.wcs.crval, wcs.wcs.cdelt = [150.0, 10.0], [-CELL / 3600, CELL / 3600]
    v = np.arange(-60.0, 60.0)
    jj, ii = np.mgrid[0:40, 0:40]
    kernel = Kernel.from_otf_select(1, 1.1, 4.75, 2)
    data = np.random.default_rng(seed).normal(0, noise, (v.size, 40, 40))
    for s in sources:
        ln = lines[s["name"]]
        x, y = wcs.world_to_pixel_values(s["lon_deg"], s["lat_deg"])
        r = np.hypot(ii - x, jj - y) * CELL
        spatial = smoothed_beam(r.ravel(), BEAM, 11.0, kernel, 3, CELL).reshape(r.shape)
        line = np.exp(-4 * np.log(2) * ((v - ln["vlsr_kms"]) / ln["fwhm_kms"]) ** 2)
        data += ln["observed_peak_k"] * line[:, None, None] * spatial[None]
    return data, v, wcs


def _sky(offsets):
    sources, lines = [], {}
    for k, (dx, dy, peak, vel, width) in enumerate(offsets):
        name = f"s{k}"
        sources.append({"name": name, "lon_deg": 150.0 + dx / 3600 / np.cos(np.radians(10.0)),
                        "lat_deg": 10.0 + dy / 3600})  # fmt: skip
        lines[name] = {"observed_peak_k": peak, "observed_fwhm_arcsec": BEAM, "vlsr_kms": vel,
                       "fwhm_kms": width}  # fmt: skip
    return sources, lines


def test_blended_pair_fitted_jointly_within_single_map_tolerances():
    # one beam apart, 5 km/s apart: alone, each fit takes up part of the other's flux
    sources, lines = _sky([(-7.0, 0.0, 3.0, -2.5, 14.0), (7.0, 3.0, 4.0, 2.5, 18.0),
                           (60.0, 40.0, 2.0, 0.0, 12.0)])  # fmt: skip
    data, v, wcs = _cube(sources, lines, noise=0.03)
    joint = {f.name: f for f in fit_truth_sources(data, v, wcs, sources, lines, PARAMS)}
    assert joint["s0"].blended_with == ("s1",) and joint["s2"].blended_with == ()
    for f in joint.values():
        err = f.deviations(1.0)
        assert err["peak"] < 0.05 and err["position"] < 0.25, (f.name, err)
        assert err["velocity"] < 0.5 and err["width"] < 0.10, (f.name, err)
    alone = fit_truth_sources(data, v, wcs, sources, lines, PARAMS, blends=False)
    assert max(f.deviations(1.0)["peak"] for f in alone[:2]) > 0.05  # the blend is real
    assert alone[2].peak_k == pytest.approx(joint["s2"].peak_k)  # an isolated source: same fit


def test_wrong_flux_scale_fails_the_tolerance():
    sources, lines = _sky([(-7.0, 0.0, 3.0, -2.5, 14.0), (7.0, 3.0, 4.0, 2.5, 18.0)])
    data, v, wcs = _cube(sources, lines, noise=0.03)
    fits_ = fit_truth_sources(data * 1.08, v, wcs, sources, lines, PARAMS)
    assert all(f.deviations(1.0)["peak"] > 0.05 for f in fits_)


def test_source_off_the_cube_is_a_clear_error():
    sources, lines = _sky([(900.0, 0.0, 3.0, 0.0, 14.0)])
    data, v, wcs = _cube([], lines, noise=0.03)
    with pytest.raises(ValueError, match="s0: too few finite cells"):
        fit_truth_sources(data, v, wcs, sources, lines, PARAMS)
