"""Array algorithms: Tsys, REF pairing, Ta*, baselines, birdies, time matching, beam offsets."""

import numpy as np
import pytest

from lmtflow.baseline import (
    SliceSpec,
    birdie_runs,
    fit_baselines,
    patch_birdies,
    window_mask,
)
from lmtflow.calibration import calibrate_on, pair_refs, tsys_spectrum
from lmtflow.geometry import beam_offsets_azel, beam_offsets_sky
from lmtflow.spectral import SpectralAxis
from lmtflow.timeline import BufPosRuns, _match


def test_tsys_from_hot_sky_recovers_model_and_patches_spike():
    rng = np.random.default_rng(0)
    nchan = 2048
    gain = 1 + 0.2 * np.sin(np.arange(nchan) / 50.0)
    tsys_true = np.array([150.0, 300.0])[:, None]
    hot = gain * (tsys_true + 280.0) * (1 + 0.001 * rng.standard_normal((25, 2, nchan)))
    sky = gain * tsys_true * (1 + 0.001 * rng.standard_normal((25, 2, nchan)))
    sky[:, 1, 700] *= 1.3  # a positive spike in one channel
    sky[:, 0, 900] *= 3.0  # SKY above HOT: a negative, unphysical Tsys
    spectra, scalar = tsys_spectrum(hot, sky)
    assert scalar == pytest.approx([150.0, 300.0], rel=0.01)
    assert np.median(spectra[0]) == pytest.approx(150.0, rel=0.01)
    assert spectra[1, 700] == pytest.approx(scalar[1])  # spike replaced by the scalar
    assert spectra[0, 900] == pytest.approx(scalar[0])


def test_ref_pairing_brackets_each_on_block():
    #        R R O O O R R O O R
    bufpos = [1, 1, 0, 0, 0, 1, 1, 0, 0, 1]
    p = pair_refs(np.array(bufpos))
    assert p.on_runs.tolist() == [[2, 4], [7, 8]]
    assert p.ref_runs.tolist() == [[0, 1], [5, 6], [9, 9]]
    assert p.before.tolist() == [0, 1]
    assert p.after.tolist() == [1, 2]


def test_calibrate_on_gives_line_temperature():
    tsys = np.full(64, 200.0, np.float32)
    ref = np.full(64, 1000.0, np.float32)
    on = ref * (1 + np.r_[np.zeros(32), np.full(32, 0.05)]).astype(np.float32)
    ta = calibrate_on(on[None], ref, tsys)
    assert ta[0, :32] == pytest.approx(0.0, abs=1e-5)
    assert ta[0, 32:] == pytest.approx(10.0, rel=1e-5)


def test_baseline_removes_polynomial_and_reports_noise_rms():
    rng = np.random.default_rng(3)
    n, nchan = 400, 300
    x = np.arange(nchan)
    line = 5 * np.exp(-0.5 * ((x - 150) / 5) ** 2)
    spectra = rng.normal(0, 0.5, (n, nchan)) + 2 + 0.01 * x + line
    window = (x < 100) | (x > 200)
    fit = fit_baselines(spectra, window, 1)
    assert np.median(fit.rms) == pytest.approx(0.5, rel=0.05)
    assert fit.spectra[:, 150].mean() == pytest.approx(5.0, abs=0.1)
    assert fit.spectra[:, window].mean() == pytest.approx(0.0, abs=0.01)
    spectra[7, 20] = np.nan
    fit = fit_baselines(spectra, window, 1)
    assert fit.nwindow[7] == window.sum() - 1 and np.isfinite(fit.rms[7])


def test_order_zero_subtracts_the_window_mean():
    rng = np.random.default_rng(4)
    spectra = (rng.normal(0, 0.5, (50, 120)) + rng.normal(3, 1, (50, 1))).astype(np.float32)
    spectra[3, 5] = np.nan  # a non-finite window channel: that spectrum's own weighted fit
    window = np.zeros(120, bool)
    window[:40] = window[80:] = True
    fit = fit_baselines(spectra, window, 0)
    mean = np.nanmean(spectra[:, window].astype(np.float64), axis=1)
    expected = spectra - mean[:, None].astype(np.float32)
    assert np.allclose(fit.spectra, expected, atol=1e-6, equal_nan=True)
    resid = spectra[:, window] - mean[:, None]
    assert fit.rms == pytest.approx(np.sqrt(np.nanmean(resid**2, axis=1)), rel=1e-5)


def test_slice_and_windows_on_bench_axis():
    axis = SpectralAxis(2048, 800e6, 115.271204e9, 115.271204e9, 0, -20.0)
    assert axis.dvdc == pytest.approx(-1.015921, rel=1e-6)
    sl = SliceSpec.from_velocities(axis, -370.0, 330.0)
    assert (sl.c0, sl.nchan) == (679, 689)  # the real bench-2 cube: CHAN0 679, NAXIS3 689
    assert axis.velocity(sl.c0) == pytest.approx(329.98476, abs=1e-4)
    v = axis.velocity(np.arange(sl.c0, sl.c1))
    w = window_mask(v, [[-370, -120], [80, 330]])
    assert not w[(v > -120) & (v < 80)].any() and w[v < -121].all()


def test_birdies_patched_inside_slice_only():
    runs = birdie_runs([5, 6, 50, 2], c0=3, c1=40)
    assert runs == [(5, 6)]
    spec = np.arange(37, dtype=float)[None].copy()  # original channels 3..39
    spec[0, 2:4] = 99
    patch_birdies(spec, runs, 3)
    assert spec[0, 2] == spec[0, 3] == pytest.approx(0.5 * (1 + 4))


def test_bufpos_runs_keep_dumps_strictly_inside():
    t = np.array([0.0, 0.1, 0.2, 0.3, 5.0, 5.1, 5.2])
    b = np.array([1, 1, 1, 1, 0, 0, 0])
    runs = BufPosRuns.from_series(t, b)
    assert runs.locate(np.array([0.05, 0.3, 2.0, 5.15, 5.3])).tolist() == [0, -1, -1, 1, -1]


def test_match_nearest_within_tolerance():
    master = np.array([0.0, 0.1, 0.2, 0.3])
    other = np.array([0.11, 0.19, 0.52])
    assert _match(master, other, 0.05).tolist() == [-1, 0, 1, -1]


def test_beam_offsets_tracking_beam_at_origin_and_rotation():
    gx, gy = beam_offsets_azel(np.radians(46.0), tracking_beam=10)
    assert gx[10] == pytest.approx(0) and gy[10] == pytest.approx(0)
    # At elevation 46 deg the array is unrotated: pixel 0 is 1.5 spacings left of centre.
    gx0, gy0 = beam_offsets_azel(np.radians(46.0), tracking_beam=-1)
    assert gx0[0] == pytest.approx(-1.5 * 27.9) and gy0[0] == pytest.approx(1.5 * 27.9)
    # Rotation into RA/Dec preserves distances.
    ra, dec = beam_offsets_sky(np.radians(60.0), 0.7, tracking_beam=-1)
    az, el = beam_offsets_azel(np.radians(60.0), tracking_beam=-1)
    assert np.hypot(ra, dec) == pytest.approx(np.hypot(az, el))
