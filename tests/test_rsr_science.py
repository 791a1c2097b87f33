"""RSR reduction against the simulator truth: badlags, Tsys, line frequencies/peaks, noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from lmtflow.rsr.badlags import BadlagsParams, read_badlags, write_badlags
from lmtflow.rsr.blanking import blank_mask
from lmtflow.rsr.constants import CHAN_GHZ, USABLE
from lmtflow.rsr.pipeline import (
    average_obsnums,
    badlags_obsnum,
    baseline_repeats,
    calibrate_obsnum,
    merged,
)
from lmtflow.rsr.reduce import baseline_windows
from lmtflow.sim.rsr import line_model

P = BadlagsParams()


@pytest.fixture(scope="module")
def reduced_rsr(rsr_sim, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rsr_red")
    lines = rsr_sim.truth["lines"]
    xlines = [v for ln in lines for v in (ln["freq_ghz"], 0.4)]
    out = {"spec": [], "sig": [], "cal": [], "blank": []}
    for obsnum in (33551, 33553):
        found = badlags_obsnum(rsr_sim.data_lmt, obsnum, P)
        path = write_badlags(tmp / f"{obsnum}.badlags", found, obsnum, P)
        bl = read_badlags(path)  # the pipeline reads the (editable) file, not memory
        cal = calibrate_obsnum(rsr_sim.data_lmt, obsnum, bl.mask)
        window = baseline_windows(cal.freq, xlines)
        blank = blank_mask(obsnum, cal.freq, bl.badcb)
        spec, sig = baseline_repeats(cal.ta, blank, window, 1)
        for key, val in (("spec", spec), ("sig", sig), ("cal", cal), ("blank", blank)):
            out[key].append(val)
        out[f"badlags{obsnum}"] = (found, bl)
    out["window"] = window
    out["board"], out["bsig"], _, _ = average_obsnums(out["spec"], out["sig"], window, 0.01, 0.01)
    return out


def test_badlags_finds_injected_faults(reduced_rsr):
    found, from_file = reduced_rsr["badlags33551"]
    flagged = {tuple(int(v) for v in idx) for idx in np.argwhere(found.mask)}
    injected = {(1, 2, 100), (0, 4, 150), (2, 0, 77)}
    assert injected <= flagged
    kinds = {ln.split("#")[-1].strip() for ln in found.lines if not ln.startswith("#")}
    assert kinds == {"max", "min", "spike"}
    assert flagged - injected <= {(3, 5, lag) for lag in range(256)}  # only the bad board
    assert found.badcb == [(33551, 3, 5)]
    assert np.array_equal(from_file.mask, found.mask) and from_file.badcb == found.badcb
    clean, _ = reduced_rsr["badlags33553"]
    assert not clean.mask.any() and clean.badcb == []


def test_tsys_matches_truth(rsr_sim, reduced_rsr):
    truth = np.asarray(rsr_sim.truth["tsys_k"])[:, :, USABLE]
    ratio = reduced_rsr["cal"][1].tsys[:, :, USABLE] / truth
    assert np.abs(ratio - 1).max() < 0.005  # diffsat-corrected Tsys of the Cal


def _gauss(f, a, f0, s):
    return a * np.exp(-0.5 * ((f - f0) / s) ** 2)


def test_lines_in_merged_spectrum(rsr_sim, reduced_rsr):
    cal = reduced_rsr["cal"][0]
    assert_lines_match(*merged(reduced_rsr["board"], cal.freq), rsr_sim.truth["lines"])


def assert_lines_match(grid, spec, csig, lines) -> None:
    """The merged spectrum (GHz, K, sigma K) has every true line (frequency, peak) and a sane
    composite sigma (also used by the workflow tests, tests/test_rsr_workflow.py)."""
    assert grid.size == 1297 and np.isfinite(spec).sum() == 1216
    for ln in lines:
        f0 = ln["freq_ghz"]
        sel = np.abs(grid - f0) < 0.35
        sw = ln["fwhm_kms"] / 299792.458 * f0 / 2.3548
        (a, fc, _), _ = curve_fit(_gauss, grid[sel], spec[sel], p0=[ln["peak_k"], f0, sw])
        print(f"line {f0} GHz: df {1e3 * (fc - f0):+.2f} MHz, peak {a / ln['peak_k']:.3f}")
        assert abs(fc - f0) < CHAN_GHZ, (f0, fc)
        assert abs(a / ln["peak_k"] - 1) < 0.05, (f0, a)
    # composite sigma: std of each whole board (lines included, §3.11) on every finite row
    assert np.isfinite(csig[np.isfinite(spec)]).all()
    assert np.nanmin(csig) > 2e-4 and np.nanmax(csig) < 1e-2


def _expected_noise(reduced_rsr):
    """Radiometer noise per board of the 1/sigma^2 average: 2 Tsys / sqrt(dnu 2 N tsamp)."""
    num = den = 0.0
    for cal, blank in zip(reduced_rsr["cal"], reduced_rsr["blank"], strict=True):
        nrep = cal.ta.shape[1]
        sig = 2 * cal.tsys / np.sqrt(CHAN_GHZ * 1e9 * 2 * nrep * cal.tsamp)  # (4, 6, 256)
        sig = np.where(blank | ~USABLE, np.nan, sig)
        mean = np.nanmean(np.where(blank, np.inf, sig), axis=-1)  # blanked: weight 0
        w = (1 / mean**2)[..., None]  # the pipeline's weights ~ 1/sigma_file^2
        num = num + np.nansum(w**2 * sig**2, axis=0)
        den = den + np.sum(w, axis=0)
    return np.sqrt(num) / den


def test_noise_matches_radiometer(rsr_sim, reduced_rsr):
    cal = reduced_rsr["cal"][0]
    resid = reduced_rsr["board"] - line_model(cal.freq, rsr_sim.truth["lines"])
    measured = np.sqrt(np.nanmean(resid[:, USABLE] ** 2, axis=-1))
    expected = np.nanmean(_expected_noise(reduced_rsr)[:, USABLE], axis=-1)
    ratio = measured / expected
    print("noise / radiometer per board:", np.round(ratio, 3), "mean", ratio.mean())
    assert abs(ratio.mean() - 1) < 0.10, ratio
    assert np.all(np.abs(ratio - 1) < 0.2), ratio


def test_combination_independent_of_order(reduced_rsr):
    spec, sig, window = reduced_rsr["spec"], reduced_rsr["sig"], reduced_rsr["window"]
    fwd = average_obsnums(spec, sig, window, 0.01, 0.01)[0]
    rev = average_obsnums(spec[::-1], sig[::-1], window, 0.01, 0.01)[0]
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, equal_nan=True)


def test_thresholds_and_blanking(reduced_rsr):
    spec, sig, window = reduced_rsr["spec"], reduced_rsr["sig"], reduced_rsr["window"]
    # rthr below every repeat's sigma: nothing survives
    board, _, _, _ = average_obsnums(spec, sig, window, 1e-4, 0.01)
    assert np.isnan(board).all()
    # the BADCB board (chassis 3, board 5 of 33551) is blanked before baselining
    assert np.isnan(spec[0][3, :, 5]).all() and np.isfinite(spec[1][3, :, 5, USABLE]).all()


def test_flagging_bad_lags_lowers_noise(rsr_sim, reduced_rsr):
    """Without the badlags mask the noisy lag (chassis 1, board 2) rings through the board."""
    cal_raw = calibrate_obsnum(rsr_sim.data_lmt, 33551, None)
    good = reduced_rsr["cal"][0]
    raw_rms = np.nanstd(np.diff(cal_raw.ta[1, :, 2], axis=0))
    good_rms = np.nanstd(np.diff(good.ta[1, :, 2], axis=0))
    assert raw_rms > 1.1 * good_rms
