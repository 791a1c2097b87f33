"""RSR QA numbers against the simulator's truth, and the RSR pages in a real headless Chromium.

Reads the copy of the session's RSR run taken before any test edits it (conftest.py
``rsr_workflow["snapshot"]``): Bs 33551 (bad lags: noisy, spike, dead; chassis 3 board 5
noisy), Bs 33553 (clean) and their combination.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from lmtflow.rsr.constants import USABLE

from .test_pages import check_resolves, load_in_chromium

KIND = {"noisy": "max", "spike": "spike", "dead": "min"}  # badlags.py's label of each fault


@pytest.fixture(scope="module")
def qa(rsr_workflow) -> dict:
    root = rsr_workflow["snapshot"]
    return {
        "root": root,
        **{o: json.loads((root / str(o) / "qa" / f"{o}__0.qa.json").read_text())
           for o in (33551, 33553)},
        "combo": json.loads((root / "33551_33553" / "qa" / "33551_33553__0.qa.json").read_text()),
    }  # fmt: skip


def test_noise_near_radiometer_for_the_clean_obsnum(qa):
    """Per board within what tests/test_rsr_science.py accepts of the same data."""
    n = qa[33553]
    ratio = np.array([b["rms_radiometer_ratio"] for b in n["boards"]])
    print("33553 rms/radiometer per board:", ratio.round(3))
    assert np.all(np.abs(ratio - 1) < 0.2) and abs(ratio.mean() - 1) < 0.10
    assert abs(n["spectrum"]["rms_radiometer_ratio"] - 1) < 0.10
    per_file = np.array([r["rms_radiometer_ratio"] for r in n["chassis_boards"]])
    assert np.all(np.abs(per_file - 1) < 0.25), per_file  # 24 chassis/boards, ~150 channels each
    assert n["spectra"] == {"unit": "repeat x chassis x board", "total": 1440, "used": 1440,
                            "rejected": 0, "rejected_blanked": 0, "rejected_rthr": 0,
                            "rejected_cthr": 0}  # fmt: skip
    assert n["bad_boards"] == [] and n["flagged_lags"]["total"] == 0
    assert n["suggested_bad_boards"] == []  # the simulated Tsys is smooth


def test_flagged_lags_and_bad_board_are_the_injected_ones(rsr_sim, qa):
    n, faults = qa[33551], rsr_sim.truth["observations"]["33551"]["faults"]
    (board,) = [(b["chassis"], b["board"]) for b in faults["bad_boards"]]
    lags = {(x["chassis"], x["board"], x["lag"]): x["kind"] for x in n["flagged_lags"]["lags"]}
    outside = {k: v for k, v in lags.items() if k[:2] != board}
    assert outside == {(f["chassis"], f["board"], f["lag"]): KIND[f["kind"]]
                       for f in faults["bad_lags"]}  # fmt: skip
    assert n["flagged_lags"]["total"] == len(lags)
    assert n["bad_boards"] == [{"obsnum": 33551, "chassis": board[0], "board": board[1],
                                "reason": "BADCB in the badlags file"}]  # fmt: skip
    assert n["bad_chassis_boards"] == [f"c{board[0]}/b{board[1]}"]
    nrep = rsr_sim.truth["observations"]["33551"]["nrepeats"]
    s = n["spectra"]
    assert (s["rejected_blanked"], s["used"]) == (nrep, 24 * nrep - nrep)
    (row,) = [r for r in n["chassis_boards"] if (r["chassis"], r["board"]) == board]
    assert row["blanked"] and not row["used"] and row["repeats_used"] == 0
    assert next(b for b in n["boards"] if b["board"] == board[1])["files_used"] == 3


def test_header_values_against_truth(rsr_sim, qa):
    for o in (33551, 33553):
        obs, truth = qa[o]["observation"], rsr_sim.truth["observations"][str(o)]
        assert (obs["obsnum"], obs["calobsnum"], obs["receiver"], obs["mode"]) == (
            o, truth["cal_obsnum"], "RSR", "Bs")  # fmt: skip
        nominal = 2 * truth["nrepeats"] * truth["tsamp_s"]
        assert 0.95 < obs["inttime_s"] / nominal <= 1.0
        tsys = np.asarray(rsr_sim.truth["tsys_k"])[:, :, USABLE].mean(axis=-1)
        assert obs["tsys_K"] == pytest.approx(np.median(tsys), rel=0.01)
        strongest = max(rsr_sim.truth["lines"], key=lambda ln: ln["peak_k"])
        s = qa[o]["spectrum"]
        assert abs(s["peak_freq_GHz"] - strongest["freq_ghz"]) < 0.0625
        assert s["peak_K"] == pytest.approx(strongest["peak_k"], rel=0.1)


def test_combination_numbers(qa):
    c = qa["combo"]
    assert c["kind"] == "rsr_combination" and c["obsnums"] == [33551, 33553]
    assert c["observation"]["inttime_s"] == pytest.approx(
        qa[33551]["observation"]["inttime_s"] + qa[33553]["observation"]["inttime_s"]
    )
    assert abs(c["spectrum"]["rms_radiometer_ratio"] - 1) < 0.10
    gain = qa[33553]["spectrum"]["rms_mK"] / c["spectrum"]["rms_mK"]
    assert 1.2 < gain < 1.7  # two ObsNums: sqrt(2) less noise
    assert [m["obsnum"] for m in c["members"]] == [33551, 33553]
    assert c["bad_chassis_boards"] == ["33551 c3/b5"]
    assert c["members"][0]["rms_mK"] == pytest.approx(qa[33551]["spectrum"]["rms_mK"])


def _names(seen: dict) -> set[str]:
    return {Path(unquote(urlparse(h).path)).name for h in seen["links"]}


def test_obsnum_page_loads_with_every_image_and_link(qa, tmp_path):
    page = qa["root"] / "33551" / "README.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    assert len(seen["images"]) == 7  # final, bands, boards, repeats, waterfall, Tsys, badlags
    for label in ("Source", "ObsNum", "CalObsNum", "Date (UTC)", "Receiver", "Mode",
                  "Integration time (s)", "Tsys (K, median)", "RMS / radiometer",
                  "Flagged lags", "c3/b5 (BADCB in the badlags file)", "Final board averages",
                  "Parameters used", "Product files", "QAC_STATS"):  # fmt: skip
        assert label in seen["text"], label
    for name in ("33551.badlags", "33551.blanking", "33551__0.rsr.cal.sdfits",
                 "33551__0.rsr.base.sdfits", "I10565_33551__0.rsr.spec.fits",
                 "I10565_33551__0.rsr.spec.txt", "33551__0.qa.json", "index.html"):  # fmt: skip
        assert name in _names(seen), name


def test_combination_page_loads_with_every_image_and_link(qa, tmp_path):
    page = qa["root"] / "33551_33553" / "README.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    assert len(seen["images"]) == 4
    assert "Member ObsNums" in seen["text"] and "33551, 33553" in seen["text"]
    members = {h for h in seen["links"] if h.endswith("/README.html")}
    assert {Path(unquote(urlparse(h).path)).parent.name for h in members} == {"33551", "33553"}
    assert "I10565_33551_33553__0.rsr.spec.fits" in _names(seen)


def test_index_lists_the_obsnums_and_the_combination(qa, tmp_path):
    page = qa["root"] / "index.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    pages = {Path(unquote(urlparse(h).path)).parent.name for h in seen["links"]}
    assert {"33551", "33553", "33551_33553"} <= pages
    assert "33551+33553" in seen["text"] and len(seen["images"]) == 3  # one thumbnail each


def test_blank_reasons_and_tsys_jitter():
    """Why a whole board is blanked (missing chassis, BADCB, badcb parameter) and
    rsr_tsys.py's jitter, on small arrays."""
    from lmtflow.qa.rsr import tsys_jitter
    from lmtflow.qa.rsr_load import blank_reasons
    from lmtflow.rsr.badlags import Badlags
    from lmtflow.rsr.constants import sky_freq_ghz

    tsys = np.full((4, 6, 256), 100.0)
    tsys[1] = np.nan  # chassis 1 has no file
    flags = Badlags(badcb=[(33551, 3, 5), (33552, 0, 0)])  # the second is another ObsNum's
    reasons = blank_reasons(33551, sky_freq_ghz(), tsys, flags, badcb=["2/3"])
    assert reasons == {**{(1, b): "chassis missing" for b in range(6)},
                       (3, 5): "BADCB in the badlags file", (2, 3): "badcb parameter"}  # fmt: skip
    tsys[0, 4] += 40.0 * np.random.default_rng(1).standard_normal(256)
    jitter = tsys_jitter(tsys)
    assert jitter[0, 4] > 25 and np.nanmax(np.delete(jitter.ravel(), 4)) < 1e-9
    assert np.isnan(jitter[1]).all()
