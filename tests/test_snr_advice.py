"""Signal-to-noise advice: each advised gain checked against a simulated case whose gain is
measured (white noise averaged down by smoothing, coarser gridding, or a weighted mean)."""

from __future__ import annotations

import numpy as np
import pytest

from lmtflow.gridding import GridGeometry, default_cell, grid_spectra
from lmtflow.qa.advice import (
    average_gain,
    bank_advice,
    combination_advice,
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


def _numbers(obsnum, bank, rms, source="S", sky=230.538, obsnums=None) -> dict:
    n = {"observation": {"obsnum": obsnum, "bank": bank, "source": source, "receiver": "1MM",
                         "mode": "Ps", "restfreq_GHz": sky, "skyfreq_GHz": sky,
                         "channel_kms": 0.1}, "spectrum": {"rms_mK": rms}}  # fmt: skip
    return {**n, "obsnums": obsnums} if obsnums else n


def test_banks_on_one_line_and_obsnums_not_combined():
    """The gains are the inverse-variance means' (average_gain, checked against simulated
    noise above): two banks (1MM polarisations) on one line; ObsNums of one setup that no
    combination joins, and none once a combination does."""
    adv = bank_advice([_numbers(1, 0, 80.0), _numbers(1, 1, 60.0),
                       _numbers(1, 2, 50.0, sky=220.4)])  # fmt: skip
    assert sorted(adv) == [0, 1] and adv[0][0]["gain"] == average_gain(80.0, 60.0)
    assert "bank 1" in adv[0][0]["text"] and adv[1][0]["gain"] == average_gain(60.0, 80.0)
    singles = [_numbers(1, 0, 80.0), _numbers(2, 0, 60.0), _numbers(3, 0, 60.0),
               _numbers(4, 0, 60.0, source="T")]  # fmt: skip
    adv = combination_advice(singles)
    assert sorted(adv) == [(1, 0), (2, 0), (3, 0)] and adv[(1, 0)]["obsnums"] == [1, 2, 3]
    assert adv[(1, 0)]["gain"] == pytest.approx(average_gain(80.0, 60.0 / np.sqrt(2)))
    combined = combination_advice([*singles, _numbers(1, 0, 50.0, obsnums=[1, 2])])
    assert combined[(1, 0)]["obsnums"] == [1, 3] and combined[(3, 0)]["obsnums"] == [1, 2, 3]


def test_advice_on_the_pages(reduced, tmp_path):
    """The ObsNum page shows the other bank's advice, the project index the ObsNums not yet
    combined (real QA numbers of the small map, copied as two banks and a second ObsNum)."""
    import json

    from lmtflow.qa.pages import IndexEntry, Section, product_page, project_index

    n = json.loads(next(reduced["dir"].glob("qa/*.qa.json")).read_text())
    paths = []
    for obsnum, bank in ((1, 0), (1, 1), (2, 0)):
        q = {**n, "observation": {**n["observation"], "obsnum": obsnum, "bank": bank}}
        paths.append(tmp_path / f"{obsnum}_{bank}.json")
        paths[-1].write_text(json.dumps(q))
    sections = [Section(p, {}) for p in paths]
    page = product_page(tmp_path / "1.html", "ObsNum 1", sections[:2]).read_text()
    assert page.count("bank 1 covers the same line") == 1 and "raises S/N by 1.41" in page
    index = project_index(tmp_path / "index.html", "P",
                          [IndexEntry(tmp_path / "1.html", sections)]).read_text()
    assert "ObsNum 1 bank 0: ObsNums 2 (same source and setup)" in index
