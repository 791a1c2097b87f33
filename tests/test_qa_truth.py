"""QA numbers of maps against the truth: interior/edge, noise S/N, masked moments, no warnings.

Two maps: the small simulated map reduced by the real workflow (the ``reduced`` fixture: its
QA numbers against the simulator's truth), and an in-memory cube shaped like the bench map's
problem (a 2.44 K line in the middle, a thinly covered, noisy edge whose noise reaches far
above the line), where every number has an exact truth.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.gridding import GridGeometry
from lmtflow.kernels import Kernel, smoothed_beam
from lmtflow.qa.maps import (
    INTERIOR_WEIGHT_FRACTION,
    MOMENT_PEAK_SNR,
    MOMENT_RUN_SNR,
    MOMENT_SMOOTH,
    CubeData,
    interior_mask,
    moment_planes,
    noise_snr,
)
from lmtflow.qa.numbers import cube_numbers
from lmtflow.qa.registry import plots_for

SIGMA_PER_FWHM = 1 / np.sqrt(8 * np.log(2))


def _truncated_sigma(peak_snr: float, run_snr: float) -> float:
    """Dispersion, in units of the line's sigma, of a Gaussian cut where it falls to run_snr."""
    x = np.sqrt(2 * np.log(peak_snr / run_snr))
    u = np.linspace(-x, x, 2001)
    w = np.exp(-0.5 * u**2)
    return float(np.sqrt((w * u**2).sum() / w.sum()))


# -- the bench-like cube -----------------------------------------------------------------------

LINE_K, V0, FWHM_KMS, SIGMA0 = 2.44, -26.5, 28.0, 0.10


@pytest.fixture(scope="module")
def bench_like():
    """41 x 41 cells of 6", 400 channels of 1 km/s; weight 1 inside, falling to 0.004 at the
    edge (noise SIGMA0 / sqrt(weight): up to 1.6 K), a blank corner; a Gaussian source of
    LINE_K peak and 20" FWHM at the centre."""
    rng = np.random.default_rng(79448)
    geo = GridGeometry.from_extent(120.0, 6.0)
    ny, nx, nchan = geo.ny, geo.nx, 400
    y, x = np.mgrid[0:ny, 0:nx]
    r = np.hypot(x - nx // 2, y - ny // 2) * geo.cell
    weight = np.clip(1.0 - np.clip(r - 90.0, 0, None) / 40.0, 0.004, 1.0).astype(np.float32)
    weight[:3, :3] = 0.0  # no data
    v = -230.0 + np.arange(nchan) * 1.0
    spatial = np.exp(-4 * np.log(2) * (r / 20.0) ** 2)
    spectral = np.exp(-4 * np.log(2) * ((v - V0) / FWHM_KMS) ** 2)
    expected = np.where(weight > 0, SIGMA0 / np.sqrt(np.maximum(weight, 1e-9)), np.nan)
    cube = LINE_K * spectral[:, None, None] * spatial[None] + expected * rng.standard_normal(
        (nchan, ny, nx)
    )
    cube[:, weight == 0] = np.nan
    cube[:, 3:5, :2] = 0.0  # a dead feed's cells: constant zero
    header = fits.Header({"CRVAL3": v[0] * 1e3, "CDELT3": 1e3, "CRPIX3": 1.0, "CDELT2": 6 / 3600,
                          "NSPEC": 1000})  # fmt: skip
    data = CubeData(cube.astype(np.float32), weight, header, v, geo)
    regions = [[-230.0, -120.0], [70.0, 170.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        planes = moment_planes(data, regions)
    planes["radiometer"] = expected.astype(np.float32)
    return data, planes, regions, spatial, expected


def test_bench_like_peak_and_rms_come_from_the_interior(bench_like):
    data, planes, regions, spatial, expected = bench_like
    interior, edge = interior_mask(data.weight)
    median = np.median(data.weight[data.weight > 0])
    assert np.array_equal(interior, data.weight >= INTERIOR_WEIGHT_FRACTION * median)
    assert edge.sum() > 100 and not (interior & edge).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        n = cube_numbers(data, planes, regions, "bench-like")
    # the noisy edge reaches far above the line: it is reported, but is not the peak
    assert n["peak_edge_K"] > 1.5 * LINE_K
    assert n["peak_K"] == pytest.approx(LINE_K, abs=4 * SIGMA0)
    assert n["peak_offset_arcsec"] == [0.0, 0.0]
    assert n["rms_center_mK"] == pytest.approx(1e3 * SIGMA0, rel=0.05)
    assert n["rms_interior_mK"] == pytest.approx(1e3 * SIGMA0, rel=0.05)
    assert n["rms_edge_mK"] == pytest.approx(1e3 * np.median(expected[edge]), rel=0.05)
    assert n["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.05)
    assert n["noise_snr_rms"] == pytest.approx(1.0, abs=0.01)
    assert (n["ncells_interior"], n["ncells_edge"]) == (interior.sum(), edge.sum())
    assert n["interior_weight_fraction"] == INTERIOR_WEIGHT_FRACTION


def test_bench_like_moments_are_masked_by_snr(bench_like):
    data, planes, _, spatial, expected = bench_like
    mom1, mom2 = planes["mom1"], planes["mom2"]
    shown = np.isfinite(mom1)
    assert np.array_equal(shown, np.isfinite(mom2))
    # shown only where the line is: no noise cell of the (noisy) edge gets through
    snr = LINE_K * spatial / expected
    assert not (shown & ~(snr > 0.5 * MOMENT_PEAK_SNR)).any()
    assert shown[snr > 2 * MOMENT_PEAK_SNR].all()
    strong = snr > 15
    # the noise of moment 1 over the line (+/- 3 sigma): sigma * sqrt(sum (v-V0)^2) / sum T
    sig_v = FWHM_KMS * SIGMA_PER_FWHM
    run = np.abs(data.velocity - V0) < 3 * sig_v
    dv = data.velocity[run] - V0
    line_sum = LINE_K * spatial[strong] * np.exp(-0.5 * (dv / sig_v) ** 2).sum()
    err = expected[strong] * np.sqrt((dv**2).sum()) / line_sum
    assert np.all(np.abs(mom1[strong] - V0) < 4 * err), (mom1[strong], err)
    centre = data.center_pixel
    want = sig_v * _truncated_sigma(float(snr[centre]), MOMENT_RUN_SNR / np.sqrt(MOMENT_SMOOTH))
    assert mom2[centre] == pytest.approx(want, rel=0.05)


def test_noise_snr_is_a_unit_gaussian(bench_like):
    data, planes, regions, _, _ = bench_like
    snr = noise_snr(data, planes, regions)
    assert snr.size > 1e5
    assert np.std(snr) == pytest.approx(1.0, abs=0.01)
    assert np.mean(np.abs(snr) > 3) == pytest.approx(0.0027, abs=0.0006)


# -- the small simulated map through the real workflow ---------------------------------------


def test_small_map_qa_numbers_against_the_truth(small_sim, reduced):
    obsnum = reduced["obsnum"]
    qa = json.loads((reduced["dir"] / "qa" / f"{obsnum}__0.qa.json").read_text())["cube"]
    bank = small_sim.obs("map")["banks"][0]
    p = reduced["params"]
    kernel = Kernel.from_otf_select(p["otf_select"], p["otf_a"], p["otf_b"], p["otf_c"])
    sources = {s["name"]: s for s in small_sim.session("map")["sky"]["sources"]}
    peaks = {}
    for line in bank["lines"]:
        resp = smoothed_beam([0.0], line["observed_fwhm_arcsec"], p["resolution"], kernel,
                             p["rmax"], p["cell"])[0]  # fmt: skip
        peaks[line["source"]] = line["observed_peak_k"] * resp
    sigma = qa["rms_center_mK"] / 1e3
    assert qa["peak_K"] == pytest.approx(max(peaks.values()), abs=3 * sigma)
    # at one of the sources the truth allows there (the two are within noise of each other)
    candidates = [sources[name] for name, k in peaks.items() if qa["peak_K"] - k < 3 * sigma]
    offsets = [np.subtract(qa["peak_offset_arcsec"], [s["dx_arcsec"], s["dy_arcsec"]])
               for s in candidates]  # fmt: skip
    assert min(np.hypot(*o) for o in offsets) <= 1.5 * p["cell"], (peaks, qa["peak_K"])
    assert qa["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.1)
    assert qa["noise_snr_rms"] == pytest.approx(1.0, abs=0.1)
    assert qa["rms_edge_mK"] > qa["rms_interior_mK"]
    # moment maps: the velocity and width of each source where it dominates, nothing elsewhere
    stem = reduced["cube"].name.removesuffix(".fits")
    mom1 = fits.getdata(reduced["cube"].parent / f"{stem}.mom1.fits")
    mom2 = fits.getdata(reduced["cube"].parent / f"{stem}.mom2.fits")
    cube_hdr = fits.getheader(reduced["cube"])
    x = -(np.arange(cube_hdr["NAXIS1"]) + 1 - cube_hdr["CRPIX1"]) * p["cell"]
    y = (np.arange(cube_hdr["NAXIS2"]) + 1 - cube_hdr["CRPIX2"]) * p["cell"]
    yy, xx = np.meshgrid(y, x, indexing="ij")
    beam = bank["beam_fwhm_arcsec"]
    near = np.zeros(mom1.shape, bool)
    for line in bank["lines"]:
        s = sources[line["source"]]
        d = np.hypot(xx - s["dx_arcsec"], yy - s["dy_arcsec"])
        near |= d < 2 * beam + s["fwhm_arcsec"]
        j, i = np.unravel_index(np.argmin(d), d.shape)
        around = (slice(j - 1, j + 2), slice(i - 1, i + 2))  # 3 x 3 cells: less noise
        name = line["source"]
        assert np.nanmedian(mom1[around]) == pytest.approx(line["vlsr_kms"], abs=1.0), name
        sig = line["fwhm_kms"] * SIGMA_PER_FWHM
        assert 0.75 * sig < np.nanmedian(mom2[around]) < 1.05 * sig, name
    assert np.isfinite(mom1).sum() > 10
    assert not (np.isfinite(mom1) & ~near).any()


def test_a_qa_run_prints_no_warning(reduced, tmp_path):
    from lmtflow.qa.run import map_stage

    d, obsnum = reduced["dir"], reduced["obsnum"]
    planes = {k: tmp_path / f"{k}.fits" for k in ("mom0", "mom1", "mom2", "peak", "rms",
                                                   "radiometer")}  # fmt: skip
    plots = {p.name: tmp_path / f"{p.name}.png" for p in plots_for("map", "cube")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        map_stage(d / f"{obsnum}__0.cube.fits", d / f"{obsnum}__0.wt.fits", reduced["base"],
                  sorted((d / "params").glob("*__0.json")), planes, plots,
                  tmp_path / "cube.json")  # fmt: skip
    assert json.loads((tmp_path / "cube.json").read_text())["cube"]["peak_K"] > 0
