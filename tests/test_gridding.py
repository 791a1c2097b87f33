"""Tests of the OTF gridder: geometry, kernels, selection, response, orientation and noise."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from lmtflow.gridding import (
    GridGeometry,
    default_cell,
    default_resolution,
    expected_noise_map,
    grid_spectra,
    rms_threshold,
)
from lmtflow.io.cube import celestial_header
from lmtflow.kernels import (
    Kernel,
    KernelEvaluator,
    effective_beam_fwhm,
    smoothed_beam,
)

RES = 11.0
CELL = 5.5
BEAM = 1.2 * RES


def gauss_beam(x, y, x0, y0, fwhm=BEAM):
    sig2 = (fwhm / np.sqrt(8 * np.log(2))) ** 2
    return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sig2))


def brute_force(x, y, spectra, w, geom, kernel, edge, rmax=3.0):
    """Direct per-cell sums with the exact kernel (NaN channels excluded per channel)."""
    kern = Kernel.coerce(kernel)
    xc, yc = geom.x_offsets(), geom.y_offsets()
    d = np.hypot(xc[None, :, None] - x, yc[:, None, None] - y)
    k = kern.values(d, RES, rmax, geom.cell) * w
    finite = np.isfinite(spectra)
    num = np.einsum("jin,nc->cji", k, np.where(finite, spectra, 0.0))
    den = np.einsum("jin,nc->cji", k, finite.astype(float))
    col, row = geom.nearest_cell(x, y)
    hits = np.zeros(geom.shape, int)
    inside = (col >= 0) & (col < geom.nx) & (row >= 0) & (row < geom.ny)
    np.add.at(hits, (row[inside], col[inside]), 1)
    ok = (k.sum(-1) > 0) & ((hits > 0) | (edge == 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        cube = num / den
    cube[:, ~ok] = np.nan
    return cube, k.sum(-1), hits


def peak_pixel(img):
    """Sub-pixel (column, row) of the maximum: parabola through the log of 3 values per axis."""
    j, i = np.unravel_index(np.nanargmax(img), img.shape)

    def vertex(a, b, c):
        la, lb, lc = np.log([a, b, c])
        return 0.5 * (la - lc) / (la - 2 * lb + lc)

    return i + vertex(*img[j, i - 1 : i + 2]), j + vertex(*img[j - 1 : j + 2, i])


# (f) geometry and defaults -------------------------------------------------------------------


def test_geometry_reference_bench_numbers():
    g = GridGeometry.from_extent(400.0, 5.5)
    assert (g.nx, g.ny) == (147, 147)
    assert g.crpix == (74.0, 74.0)
    assert g.x_offsets()[73] == 0.0 and g.y_offsets()[73] == 0.0
    assert g.x_offsets()[0] == pytest.approx(73 * 5.5)  # column 0 is east
    assert default_resolution(115.271204e9) == 11.0
    assert default_cell(11.0) == 5.5


def test_geometry_non_square():
    g = GridGeometry.from_extent(100.0, 5.0, 40.0)
    assert (g.nx, g.ny) == (41, 17)
    assert g.crpix == (21.0, 9.0)
    col, row = g.nearest_cell([0.0, 5.0, -100.0], [0.0, 5.0, 40.0])
    np.testing.assert_array_equal(col, [20, 19, 40])
    np.testing.assert_array_equal(row, [8, 9, 16])


# kernels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("otf_select", [1, 2, 3, 4, 0])
def test_kernel_fast_evaluation_matches_exact(otf_select):
    kern = Kernel.from_otf_select(otf_select, b=4.75 if otf_select == 1 else 0.6)
    ev = KernelEvaluator(kern, RES, 3.0, CELL)
    r = np.random.default_rng(5).uniform(0, 40, 200_000)
    exact = kern.values(r, RES, 3.0, CELL)
    fast = ev((r**2).astype(np.float32))
    edge = np.abs(r - kern.support(RES, 3.0, CELL)) < 1e-4  # float32 rounding at a box edge
    assert np.max(np.abs(fast - exact)[~edge]) < 2e-6
    assert kern.values(0.0, RES, 3.0, CELL) == pytest.approx(1.0)


def test_effective_beam_gaussian_kernel_is_quadrature_sum():
    kfwhm = 0.6 * RES
    got = effective_beam_fwhm(RES, ("gauss", 0.6), beam_fwhm=BEAM)
    assert got == pytest.approx(np.hypot(BEAM, kfwhm), rel=3e-3)
    jinc = effective_beam_fwhm(RES, 1, beam_fwhm=BEAM)
    assert BEAM < jinc < 1.1 * BEAM  # the jinc kernel broadens the beam only a little


def test_smoothed_beam_equals_the_direct_two_dimensional_sum():
    """The separable sum gives the (B * K)(r) / sum(K) of its definition, summed point by point
    over the fine grid of kernel samples."""
    kern = Kernel.coerce(1)
    step = RES / 40
    n = int(np.ceil(kern.support(RES, 3.0, CELL) / step))
    g = np.arange(-n, n + 1) * step
    px, py = np.meshgrid(g, g)
    kv = kern.values(np.hypot(px, py), RES, 3.0, CELL)
    sig2 = (BEAM / np.sqrt(8 * np.log(2))) ** 2
    r = np.array([0.0, 4.0, 9.5, 17.0, 30.0])
    direct = [np.sum(kv * np.exp(-((ri - px) ** 2 + py**2) / (2 * sig2))) / kv.sum() for ri in r]
    np.testing.assert_allclose(smoothed_beam(r, BEAM, RES, 1, cell=CELL), direct, rtol=1e-10,
                               atol=1e-13)  # fmt: skip
    half = effective_beam_fwhm(RES, 1, beam_fwhm=BEAM, cell=CELL) / 2
    assert smoothed_beam(half, BEAM, RES, 1, cell=CELL)[0] == pytest.approx(0.5 * direct[0])


# (a) point source --------------------------------------------------------------------------


def test_point_source_position_and_amplitude():
    rng = np.random.default_rng(1)
    # dense stratified random pattern: one sample at a random place in every 1" x 1" square
    grid = np.arange(-110.0, 110.0)
    x, y = (a.ravel() + rng.uniform(0, 1, a.size) for a in np.meshgrid(grid, grid))
    n = x.size
    x0, y0, amp = 7.3, -4.1, 2.0
    prof = np.array([1.0, 0.5, -0.25])
    spectra = (amp * gauss_beam(x, y, x0, y0)[:, None] * prof).astype(np.float32)
    g = GridGeometry.from_extent(60.0, CELL)
    res = grid_spectra(x, y, spectra, np.ones(n), g, RES, kernel=1, threads=2)
    img = res.cube[0]
    j, i = np.unravel_index(np.nanargmax(img), img.shape)

    ci, cj = peak_pixel(img)
    xpk = g.x_offsets()[i] - (ci - i) * CELL
    ypk = g.y_offsets()[j] + (cj - j) * CELL
    assert abs(xpk - x0) < CELL / 4 and abs(ypk - y0) < CELL / 4
    # amplitude: every cell near the source equals the beam (x) kernel response
    xc, yc = np.meshgrid(g.x_offsets(), g.y_offsets())
    r = np.hypot(xc - x0, yc - y0)
    near = r < 20
    expected = amp * smoothed_beam(r[near], BEAM, RES, 1)
    np.testing.assert_allclose(img[near], expected, atol=0.01 * amp)
    np.testing.assert_allclose(res.cube[2], -0.25 * img, rtol=1e-5, atol=1e-6)


# (b) orientation ---------------------------------------------------------------------------


def test_orientation_matches_fits_wcs():
    rng = np.random.default_rng(2)
    n = 30_000
    x = rng.uniform(-90, 90, n)
    y = rng.uniform(-90, 90, n)
    x0, y0 = 30.0, 20.0  # east, north
    spectra = gauss_beam(x, y, x0, y0)[:, None].astype(np.float32)
    g = GridGeometry.from_extent(66.0, CELL)
    img = grid_spectra(x, y, spectra, np.ones(n), g, RES, threads=1).cube[0]
    j, i = np.unravel_index(np.nanargmax(img), img.shape)
    assert i < g.crpix_x - 1 and j > g.crpix_y - 1  # east = smaller column, north = higher row
    ra0, dec0 = 150.0, 40.0
    wcs = WCS(celestial_header(g, ra0, dec0, "RADEC"))
    truth = SkyCoord(
        ra0 + x0 / 3600 / np.cos(np.radians(dec0)), dec0 + y0 / 3600, unit="deg", frame="fk5"
    )
    tx, ty = wcs.world_to_pixel(truth)
    cx, cy = peak_pixel(img)
    assert abs(cx - tx) < 0.25 and abs(cy - ty) < 0.25
    peak = wcs.pixel_to_world(cx, cy)
    assert peak.separation(truth).arcsec < CELL / 4
    assert peak.ra.deg > ra0 and peak.dec.deg > dec0


# exactness against a brute-force sum -------------------------------------------------------


@pytest.mark.parametrize("otf_select", [1, 2, 3, 4, 0])
@pytest.mark.parametrize("edge", [0, 1])
@pytest.mark.parametrize("chunk", [1024, 97])  # one product per tile; many, NaNs in a few
def test_matches_brute_force(otf_select, edge, chunk):
    rng = np.random.default_rng(3)
    n, nchan = 1500, 5
    g = GridGeometry(CELL, 19, 13, 10.0, 7.0)
    x = rng.uniform(-80, 80, n)  # many spectra off the map whose kernel reaches it
    y = rng.uniform(-60, 60, n)
    spectra = rng.standard_normal((n, nchan)).astype(np.float32)
    spectra[5, 3] = np.nan
    spectra[17, :] = np.nan
    w = rng.uniform(0.5, 2.0, n)
    kernel = Kernel.from_otf_select(otf_select, b=4.75 if otf_select == 1 else 0.6)
    res = grid_spectra(
        x, y, spectra, w, g, RES, kernel=kernel, edge=edge, threads=2, tile=5, chunk=chunk
    )
    cube, weight, hits = brute_force(x, y, spectra, w, g, kernel, edge)
    np.testing.assert_array_equal(res.hits, hits)
    np.testing.assert_array_equal(np.isnan(res.cube), np.isnan(cube))
    scale = np.abs(weight).max()
    np.testing.assert_allclose(res.weight, weight, atol=1e-6 * scale)
    good = res.weight > 0.05 * scale  # elsewhere float32 cancellation of jinc lobes dominates
    np.testing.assert_allclose(res.cube[:, good], cube[:, good], rtol=1e-5, atol=2e-5)


def test_threads_and_dtype_give_identical_results():
    rng = np.random.default_rng(4)
    n = 4000
    x, y = rng.uniform(-70, 70, (2, n))
    spectra = rng.standard_normal((n, 33)).astype(np.float32)
    g = GridGeometry.from_extent(60.0, CELL)
    a = grid_spectra(x, y, spectra, np.ones(n), g, RES, threads=1, chunk=300)
    b = grid_spectra(x, y, spectra, np.ones(n), g, RES, threads=2, chunk=300)
    c = grid_spectra(x, y, spectra.astype(np.float64), np.ones(n), g, RES, threads=2, chunk=300)
    np.testing.assert_array_equal(a.cube, b.cube)
    np.testing.assert_array_equal(a.cube, c.cube)
    np.testing.assert_array_equal(a.weight, b.weight)


def test_chunks_change_the_cube_only_by_rounding():
    """Products of a tile split into chunks add up to the one product (float32 rounding);
    a chunk left out or counted twice would move cells by far more."""
    rng = np.random.default_rng(8)
    n = 6000
    x, y = rng.uniform(-70, 70, (2, n))
    spectra = (rng.standard_normal((n, 16)) + 5).astype(np.float32)
    spectra[11, 2] = np.inf
    w = rng.uniform(0.5, 2.0, n)
    g = GridGeometry.from_extent(60.0, CELL)
    whole = grid_spectra(x, y, spectra, w, g, RES, chunk=n)  # a tile has < n candidates
    for chunk in (1, 250, 999):
        part = grid_spectra(x, y, spectra, w, g, RES, chunk=chunk, threads=2)
        np.testing.assert_array_equal(np.isnan(part.cube), np.isnan(whole.cube))
        np.testing.assert_allclose(part.weight, whole.weight, rtol=1e-9)
        np.testing.assert_allclose(part.sum_w2, whole.sum_w2, rtol=1e-9)
        good = whole.valid & (whole.weight > 0.05 * whole.weight.max())
        scale = np.nanmax(np.abs(whole.cube))
        np.testing.assert_allclose(part.cube[:, good], whole.cube[:, good], atol=1e-5 * scale)


def test_zero_weight_and_nan_position_are_ignored():
    rng = np.random.default_rng(6)
    n = 3000
    x, y = rng.uniform(-60, 60, (2, n))
    spectra = rng.standard_normal((n, 4)).astype(np.float32)
    w = np.ones(n)
    g = GridGeometry.from_extent(40.0, CELL)
    ref = grid_spectra(x, y, spectra, w, g, RES)
    spectra2 = np.concatenate([spectra, np.full((2, 4), 1e6, np.float32)])
    x2 = np.concatenate([x, [0.0, np.nan]])
    y2 = np.concatenate([y, [0.0, 0.0]])
    w2 = np.concatenate([w, [0.0, 1.0]])
    got = grid_spectra(x2, y2, spectra2, w2, g, RES)
    assert got.n_used == ref.n_used == n
    np.testing.assert_array_equal(got.cube, ref.cube)


# (c) noise ---------------------------------------------------------------------------------


def test_noise_matches_expected_noise_map():
    rng = np.random.default_rng(7)
    n, nchan = 6000, 2048
    x, y = rng.uniform(-75, 75, (2, n))
    sigma = rng.uniform(0.5, 2.0, n)
    spectra = (rng.standard_normal((n, nchan), dtype=np.float32) * sigma[:, None]).astype(
        np.float32
    )
    g = GridGeometry.from_extent(50.0, CELL)
    res = grid_spectra(x, y, spectra, 1 / sigma**2, g, RES, sigma=sigma)
    expected = expected_noise_map(x, y, 1 / sigma**2, sigma, g, RES)
    np.testing.assert_allclose(res.noise, expected, rtol=1e-6)
    ratio = (np.std(res.cube, axis=0) / expected)[res.valid]
    assert ratio.size > 300
    assert abs(np.median(ratio) - 1) < 0.01
    assert np.all(np.abs(ratio - 1) < 0.08)  # std of one estimate ~ 1/sqrt(2 nchan) = 1.6%
    # uniform sigma and weights: noise = sigma sqrt(sum w^2) / sum w
    flat = expected_noise_map(x, y, np.ones(n), np.ones(n), g, RES)
    unit = grid_spectra(x, y, spectra[:, :1], np.ones(n), g, RES)
    np.testing.assert_allclose(flat, np.sqrt(unit.sum_w2) / unit.weight, rtol=1e-6)


# (d) RMS selection -------------------------------------------------------------------------


def reference_rms_stats(rms, pixel, rms_cut):
    keep = np.zeros(rms.size, bool)
    for p in np.unique(pixel):
        sel = np.flatnonzero(pixel == p)
        v = np.sort(rms[sel])
        if rms_cut > 0:
            threshold = rms_cut
        else:
            k = v.size
            q1, q3 = v[k // 4], v[3 * k // 4]
            iqr = q3 - q1
            inl = v[(v >= q1 - 1.5 * iqr) & (v <= q3 + 1.5 * iqr)]
            threshold = inl.mean() + abs(rms_cut) * inl.std()
        keep[sel] = rms[sel] <= threshold
    return keep


def test_rms_threshold_rejects_outliers():
    rng = np.random.default_rng(8)
    pixel = np.repeat(np.arange(16), 500)
    rms = rng.normal(1.0 + 0.05 * pixel, 0.05)
    bad = rng.choice(rms.size, 40, replace=False)
    rms[bad] = 3.0 + rng.uniform(0, 1, bad.size)
    keep = rms_threshold(rms, pixel, -4.0)
    assert not keep[bad].any()
    good = np.setdiff1d(np.arange(rms.size), bad)
    assert keep[good].mean() > 0.998
    np.testing.assert_array_equal(keep, reference_rms_stats(rms, pixel, -4.0))
    np.testing.assert_array_equal(rms_threshold(rms, pixel, 2.0), rms <= 2.0)
    np.testing.assert_array_equal(
        rms_threshold(rms, pixel, -1.0), reference_rms_stats(rms, pixel, -1.0)
    )
    rms[3] = np.nan
    assert not rms_threshold(rms, pixel, -4.0)[3]
    assert rms_threshold(rms, pixel, 0).sum() == rms.size - 1


# (e) edge handling -------------------------------------------------------------------------


def test_edge_blanking():
    g = GridGeometry.from_extent(44.0, CELL)
    xc, yc = np.meshgrid(g.x_offsets(), g.y_offsets())
    # samples exactly at every other cell centre of the western half
    take = (np.arange(g.nx)[None, :] % 2 == 0) & (np.arange(g.ny)[:, None] % 2 == 0) & (xc < 0)
    x, y = xc[take], yc[take]
    spectra = np.ones((x.size, 3), np.float32)
    e0 = grid_spectra(x, y, spectra, np.ones(x.size), g, RES, edge=0)
    e1 = grid_spectra(x, y, spectra, np.ones(x.size), g, RES, edge=1)
    np.testing.assert_array_equal(e0.hits > 0, take)
    np.testing.assert_array_equal(np.isfinite(e0.cube[0]), take & (e0.weight > 0))
    np.testing.assert_allclose(e0.cube[:, take], 1.0, rtol=1e-5)
    assert np.isnan(e0.cube[0, :, 0]).all()  # far east: nobody's nearest cell
    np.testing.assert_array_equal(np.isfinite(e1.cube[0]), e1.weight > 0)
    assert np.isfinite(e1.cube[0]).sum() > 2 * take.sum()
    np.testing.assert_allclose(e1.cube[0][e1.weight > 0.05 * e1.weight.max()], 1.0, rtol=1e-4)
