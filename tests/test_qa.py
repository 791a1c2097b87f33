"""QA numbers on synthetic data with known answers: statistics, bad beams, birdies."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lmtflow.qa.numbers import BIRDIE_SIGMA, bad_beams, birdie_scores, find_birdies
from lmtflow.qa.registry import KINDS, plots_for
from lmtflow.qa.stats import nan_std, qac_stats, robust_sigma, sratio

RNG = np.random.default_rng(7)


def test_qac_stats_of_gaussian_noise():
    v = RNG.normal(0.0, 2.0, 200_000)
    s = qac_stats(np.append(v, np.nan))
    assert s["n"] == v.size
    assert s["rms"] == pytest.approx(2.0, rel=0.01)
    assert s["robust_rms"] == pytest.approx(2.0, rel=0.01)
    assert abs(s["sratio"]) < 0.01
    assert sratio(np.abs(v)) == pytest.approx(1.0)


def test_robust_sigma_ignores_outliers():
    v = RNG.normal(0.0, 1.0, 10_000)
    v[:50] = 1e6
    assert robust_sigma(v) == pytest.approx(1.0, rel=0.05)


def test_robust_sigma_of_all_values_equals_the_nan_median_formula():
    v = RNG.normal(2.0, 0.5, (40, 301))
    v[3, 7:20] = np.nan
    med = np.nanmedian(v)
    want = 1.4826 * np.nanmedian(np.abs(v - med))
    assert robust_sigma(v) == pytest.approx(want, rel=1e-12)
    assert not np.isnan(v[0]).any() and np.isnan(v[3, 7])  # the input is left as it was
    np.testing.assert_allclose(robust_sigma(v, axis=0)[:5],
                               [robust_sigma(v[:, k]) for k in range(5)], rtol=1e-12)  # fmt: skip
    assert np.isnan(robust_sigma(np.full(4, np.nan)))


def test_nan_std_is_nan_without_warning_where_a_slice_has_too_few_values():
    cube = RNG.normal(0.0, 3.0, (400, 4, 5)).astype(np.float32)
    cube[:, 0, 0] = np.nan  # a blank cell
    cube[1:, 1, 1] = np.nan  # one value: a spread of 0, undefined with ddof=1
    cube[::2, 2, 2] = np.nan  # half flagged
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not one warning, not even numpy's
        std, std1 = nan_std(cube, axis=0), nan_std(cube, axis=0, ddof=1)
        assert np.isnan(nan_std([np.nan, np.nan])) and np.isnan(nan_std([]))
        assert np.isnan(nan_std([1.0, np.inf]))  # an infinite spread is no rms
    assert std.shape == (4, 5) and nan_std(cube, axis=-1, keepdims=True).shape == (400, 4, 1)
    assert np.isnan(std[0, 0]) and std[1, 1] == 0.0
    assert np.isnan(std1[0, 0]) and np.isnan(std1[1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(std, np.nanstd(cube, axis=0), rtol=1e-5)
        np.testing.assert_allclose(std1, np.nanstd(cube, axis=0, ddof=1), rtol=1e-5)
    assert std[2, 2] == pytest.approx(3.0, rel=0.15) and std[3, 3] == pytest.approx(3.0, rel=0.1)
    assert nan_std(cube) == pytest.approx(np.nanstd(cube.astype(float)), rel=1e-9)


def test_runtime_warnings_of_lmtflow_fail_the_tests():
    """pyproject's filterwarnings: a RuntimeWarning raised in an lmtflow module, or numpy's
    empty-slice nanvar warning from anywhere, is an error; another module's is not."""
    code = compile("import numpy as np\nnp.float64(1.0) / 0.0", "<lmtflow code>", "exec")
    with pytest.raises(RuntimeWarning, match="divide by zero"):
        exec(code, {"__name__": "lmtflow.somewhere"})
    with pytest.raises(RuntimeWarning, match="Degrees of freedom"):
        np.nanstd(np.full((3, 2), np.nan), axis=0)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        exec(code, {"__name__": "elsewhere"})


def test_bad_beams_finds_noisy_and_dead_feeds():
    rms = RNG.normal(1.0, 0.02, (500, 16)) * np.linspace(0.8, 1.25, 16)  # Tsys spread
    rms[:, 5] *= 3.0
    rms[:, 3] = np.nan
    assert bad_beams(rms, np.arange(16)) == [3, 5]
    rms[:, 5] /= 3.0
    rms[:, 3] = 1.0
    assert bad_beams(rms, np.arange(16)) == []


def _waterfall(nrow=120, nfeed=16, nchan=600):
    w = RNG.normal(0.0, 0.5, (nrow, nfeed, nchan))
    chan = np.arange(nchan)
    line = 3.0 * np.exp(-0.5 * ((chan - 300) / 12.0) ** 2)  # a broad line that varies in time
    return w + np.linspace(0, 1, nrow)[:, None, None] * line


def test_birdies_found_at_their_channels_and_beams_only():
    w = _waterfall()
    chans = 1000 + np.arange(w.shape[2])
    assert find_birdies(w, chans, np.arange(16)) == []  # noise and a broad line: nothing
    w[:, :, 200] += 1.0  # steady, every beam
    w[:, 12, 450:452] += 3.0 * np.sin(np.arange(w.shape[0]) / 5.0)[:, None]  # varying, beam 12
    found = {b["channel"]: b["beams"] for b in find_birdies(w, chans, np.arange(16))}
    assert found == {1200: list(range(16)), 1450: [12], 1451: [12]}


def test_birdie_scores_of_pure_noise_are_unit_gaussian_like():
    """No birdie in noise: the scores of pure noise have unit spread and few 4-sigma values,
    and none passes the threshold (a channel's own value left out of its reference median)."""
    rng = np.random.default_rng(2024)
    scores = np.concatenate([
        birdie_scores(rng.normal(0.0, 0.5, (120, 16, 600))).ravel() for _ in range(20)
    ])  # fmt: skip
    scores = scores[np.isfinite(scores)]
    assert np.mean(scores > 4.0) < 4e-4  # the larger of two N(0,1) scores: 6e-5
    assert scores.max() < BIRDIE_SIGMA
    assert np.percentile(scores, 50) == pytest.approx(0.55, abs=0.08)  # median of max(z1, z2)


def test_spikes_in_single_dumps_are_no_birdies():
    w = _waterfall()
    chans = np.arange(w.shape[2])
    for row, feed, chan in [(5, 0, 120), (40, 7, 420), (41, 7, 421), (99, 14, 520)]:
        w[row, feed, chan] += 1000.0  # one dump each, as lmtflow.sim's spikes
    assert find_birdies(w, chans, np.arange(16)) == []
    w[:, 9, 210] += 0.4  # a weak steady birdie is still found beside them
    assert find_birdies(w, chans, np.arange(16)) == [{"channel": 210, "beams": [9]}]


def test_varying_sky_in_the_line_window_is_no_birdie():
    w = _waterfall()
    chans = np.arange(w.shape[2])
    rows = np.arange(w.shape[0])[:, None]
    # a narrow line whose strength changes as the beams cross a source: sky, not a birdie
    w[:, 3, 300:302] += 4.0 * np.sin(rows / 7.0)
    w[:, 5, 100] += 3.0 * np.sin(rows[:, 0] / 5.0)  # a varying birdie in a baseline window
    line_free = np.abs(chans - 300) > 60
    found = {b["channel"]: b["beams"] for b in find_birdies(w, chans, np.arange(16),
                                                           line_free=line_free)}  # fmt: skip
    assert found == {100: [5]}
    assert 300 in {b["channel"] for b in find_birdies(w, chans, np.arange(16))}


def test_birdies_need_enough_time_rows():
    w = _waterfall(nrow=8)
    w[:, :, 200] += 5.0
    assert find_birdies(w, np.arange(w.shape[2]), np.arange(16)) == []


def test_registry_names_are_unique_and_importable():
    for kind, plots in KINDS.items():
        names = [p.name for p in plots]
        assert len(names) == len(set(names)), kind
        for p in plots:
            assert callable(p.function())
    assert {p.stage for p in plots_for("map")} == {"beams", "cube"}
    with pytest.raises(KeyError, match="no QA plots registered"):
        plots_for("nosuchkind")
