"""Signal-to-noise advice: each advised gain checked against a simulated case whose gain is
measured (white noise averaged down by smoothing, coarser gridding, or a weighted mean)."""

from __future__ import annotations

import numpy as np

from lmtflow.gridding import GridGeometry, default_cell, grid_spectra
from lmtflow.qa.advice import (
    average_gain,
    line_fwhm_channels,
    pair_advice,
    product_advice,
    resolution_advice,
    same_line_banks,
    smoothing_advice,
)


def boxcar(x: np.ndarray, k: int) -> np.ndarray:
    n = x.shape[-1] // k * k
    return x[..., :n].reshape(*x.shape[:-1], -1, k).mean(axis=-1)


def test_smoothing_gain_matches_the_measured_noise_and_keeps_the_line():
    rng = np.random.default_rng(1)
    chan = np.arange(2048)
    fwhm = 24.0
    line = 1.0 * np.exp(-4 * np.log(2) * ((chan - 1000) / fwhm) ** 2)
    noise = rng.normal(0, 0.05, (200, chan.size))  # many realisations: a precise noise ratio
    advice = smoothing_advice(line + noise[0], 0.05, 0.5)
    measured_fwhm = line_fwhm_channels(line + noise[0], 0.05)
    assert abs(measured_fwhm - fwhm) <= 3 and advice["k"] == int(measured_fwhm // 3)
    measured = noise.std() / boxcar(noise, advice["k"]).std()
    assert abs(measured / advice["gain"] - 1) < 0.05
    assert boxcar(line, advice["k"]).max() > 0.9  # the line stays resolved
    assert smoothing_advice(noise[1], 0.05, 0.5) is None  # no line, no advice
    narrow = 1.0 * (np.abs(chan - 1000) <= 1)
    assert smoothing_advice(narrow + noise[2], 0.05, 0.5) is None  # 3 channels: keep them


def test_coarser_grid_gain_matches_the_measured_cube_noise():
    rng = np.random.default_rng(2)
    n = 40000
    x, y = rng.uniform(-60, 60, n), rng.uniform(-60, 60, n)
    spectra = rng.normal(0, 1.0, (n, 64)).astype(np.float32)
    noise = {}
    for res in (8.0, 16.0):
        geometry = GridGeometry.from_extent(40.0, default_cell(res, 2))
        cube = grid_spectra(x, y, spectra, np.ones(n), geometry, res, 1, threads=1).cube
        noise[res] = np.nanstd(cube)
    advice = resolution_advice(8.0)
    assert advice["parameter"] == "grid.resolution" and advice["value"] == 16.0
    assert abs(noise[8.0] / noise[16.0] / advice["gain"] - 1) < 0.15


def test_average_gain_matches_a_weighted_mean_of_two_polarisations():
    rng = np.random.default_rng(3)
    s1, s2 = 0.10, 0.14
    a, b = rng.normal(0, s1, 200000), rng.normal(0, s2, 200000)
    w1, w2 = 1 / s1**2, 1 / s2**2
    measured = a.std() / ((w1 * a + w2 * b) / (w1 + w2)).std()
    assert abs(measured / average_gain(s1, s2) - 1) < 0.02
    adv = pair_advice("bank 1", s1, s2, "combine the banks")
    assert adv["gain"] == average_gain(s1, s2) and "bank 1" in adv["text"]
    banks = {0: {"skyfreq_GHz": 230.538}, 1: {"skyfreq_GHz": 230.5381}, 2: {"skyfreq_GHz": 220.4}}
    assert same_line_banks(banks, 0.0003) == [(0, 1)]


def test_product_advice_from_qa_numbers():
    cube = {"cube": {"rms_center_mK": 100.0}, "params": {"grid": {"resolution": 12.0}},
            "observation": {"channel_kms": 0.25}}  # fmt: skip
    other = {"cube": {"rms_center_mK": 100.0}, "label": "ObsNum 79451", "parameter":
             "sources: combinations"}  # fmt: skip
    kinds = [(a["kind"], round(a["gain"], 3)) for a in product_advice(cube, others=[other])]
    assert kinds == [("resolution", 2.0), ("average", round(np.sqrt(2), 3))]
