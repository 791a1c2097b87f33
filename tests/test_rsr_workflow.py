"""The RSR workflow (rules/rsr.smk) end to end through the real Snakemake on the rsr preset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.io.sdfits import read_sdfits
from lmtflow.rsr.constants import USABLE
from lmtflow.rsr.steps import read_rsr_sdfits
from lmtflow.sim.rsr import line_model

from .test_rsr_science import assert_lines_match
from .workflow_helpers import rsr_config, run

PID, SRC, BS = "2015-ARSR-SIM", "I10565", (33551, 33553)


def _config(tmp: Path, lines: list[dict], combo: list[int]) -> Path:
    return rsr_config(tmp / f"rsr_{'_'.join(map(str, combo))}.yaml", lines, combo, SRC)


def _reduction(ran) -> dict:
    """The reduction rules that ran (the QA rules re-run with them: tests/test_qa_rsr.py)."""
    return {rule: n for rule, n in ran.items() if "qa" not in rule}


@pytest.fixture(scope="module")
def rsr_run(rsr_workflow):
    """The session's RSR run (conftest.py; combination listed as [33553, 33551], as a user
    might list it); the tests below edit its files and re-run it."""
    return rsr_workflow["tmp"], rsr_workflow["work"], rsr_workflow["ran"]


def _spectrum_txt(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.loadtxt(path)
    return d[:, 0], d[:, 1], d[:, 2]


def test_products_and_lines(rsr_sim, rsr_run):
    _, work, ran = rsr_run
    assert ran["rsr_badlags"] == ran["rsr_ingest"] == ran["rsr_spectrum"] == 2
    assert ran["rsr_spectrum_combination"] == 1
    for o in BS:
        srdp = work / str(o) / "srdp"
        for name in (f"{o}.badlags", f"{o}__0.rsr.cal.sdfits", f"{o}__0.rsr.base.sdfits"):
            assert (work / str(o) / name).is_file(), name
        assert (srdp / f"{SRC}_{o}__0.params.json").is_file()
        assert (srdp / f"{SRC}_{o}__0.rsr.spec.txt").is_file()
    combo = work / "33551_33553"  # a set: named by the sorted ObsNums
    grid, spec, sigma = _spectrum_txt(combo / f"{SRC}_33551_33553__0.rsr.spec.txt")
    assert_lines_match(grid, spec, sigma, rsr_sim.truth["lines"])
    with fits.open(combo / f"{SRC}_33551_33553__0.rsr.spec.fits") as hdul:
        h, data = hdul[0].header, hdul[0].data
        assert (h["CTYPE1"], h["CUNIT1"], h["BUNIT"]) == ("FREQ", "Hz", "K")
        freq = h["CRVAL1"] + (np.arange(data.size) + 1 - h["CRPIX1"]) * h["CDELT1"]
        np.testing.assert_allclose(freq / 1e9, grid, atol=1e-6)
        np.testing.assert_allclose(data, spec, atol=2e-6)  # float32 vs the %.6f table
        assert hdul["BOARDS"].data["TA_K"].shape == (6, 256)
    # per board, the two ObsNums average down the noise of one by ~sqrt(2)
    one = _board_noise(work / "33553" / "srdp" / f"{SRC}_33553__0.rsr.spec.fits", rsr_sim)
    both = _board_noise(combo / f"{SRC}_33551_33553__0.rsr.spec.fits", rsr_sim)
    assert np.all((one / both > 1.2) & (one / both < 1.7)), one / both


def _board_noise(path: Path, rsr_sim) -> np.ndarray:
    """rms (6,) of each board's spectrum (BOARDS extension) about the true lines."""
    b = fits.getdata(path, "BOARDS")
    resid = b["TA_K"] - line_model(b["FREQ_GHZ"].astype(float), rsr_sim.truth["lines"])
    return np.sqrt(np.nanmean(resid[:, USABLE] ** 2, axis=-1))


def test_calibrated_sdfits_layout(rsr_run):
    _, work, _ = rsr_run
    cols, data = read_sdfits(work / "33551" / "33551__0.rsr.cal.sdfits")
    assert data.shape == (60 * 4 * 6, 256)  # repeat x chassis x board
    assert list(cols["IFNUM"][:7]) == [0, 1, 2, 3, 4, 5, 0]  # board
    assert list(cols["FDNUM"][:7]) == [0, 0, 0, 0, 0, 0, 1]  # chassis
    assert set(np.char.strip(cols["TSCALE"].astype(str))) == {"Ta*"}
    assert np.all(np.abs(cols["CDELT1"]) == 31.25e6)
    assert np.all((cols["TSYS"] > 50) & (cols["TSYS"] < 300))


def test_edited_badlags_reruns_only_what_depends_on_it(rsr_sim, rsr_run):
    tmp, work, _ = rsr_run
    path = work / "33551" / "33551.badlags"
    before = read_rsr_sdfits(work / "33551" / "33551__0.rsr.base.sdfits")
    assert np.isnan(before.ta[3, :, 5]).all()  # BADCB 33551 3 5 blanks chassis 3 board 5
    edited = [ln for ln in path.read_text().splitlines() if not ln.startswith("#BADCB")]
    path.write_text("\n".join(edited) + "\n")
    _, ran = run(
        rsr_sim.data_lmt, tmp, list(BS), _config(tmp, rsr_sim.truth["lines"], [33553, 33551])
    )
    assert _reduction(ran) == {"rsr_ingest": 1, "rsr_baseline": 1, "rsr_spectrum": 1,
                               "rsr_spectrum_combination": 1}  # fmt: skip
    assert path.read_text() == "\n".join(edited) + "\n"  # the user's edit is kept
    after = read_rsr_sdfits(work / "33551" / "33551__0.rsr.base.sdfits")
    assert np.isfinite(after.ta[3, :, 5]).any()
    # the QA of 33551 and of the combination follow (33553's page stays as it is)
    assert ran["rsr_qa"] == ran["rsr_qa_combination"] == ran["qa_page"] == 1
    qa = json.loads((work / "33551" / "qa" / "33551__0.qa.json").read_text())
    assert qa["spectra"]["rejected_blanked"] == 0
    assert "BADCB" not in json.dumps(qa["bad_boards"])


def test_edited_blanking_file_reruns_baseline_and_later(rsr_sim, rsr_run):
    tmp, work, _ = rsr_run
    path = work / "33553" / "33553.blanking"
    assert path.read_text().startswith("# lmtflow RSR blanking file")
    path.write_text(path.read_text() + "33553 1 {2: [(60.0, 200.0)]}\n33553,0,4\n")
    _, ran = run(
        rsr_sim.data_lmt, tmp, list(BS), _config(tmp, rsr_sim.truth["lines"], [33553, 33551])
    )
    assert _reduction(ran) == {"rsr_baseline": 1, "rsr_spectrum": 1,
                               "rsr_spectrum_combination": 1}  # fmt: skip
    after = read_rsr_sdfits(work / "33553" / "33553__0.rsr.base.sdfits")
    assert np.isnan(after.ta[1, :, 2]).all() and np.isnan(after.ta[0, :, 4]).all()
    assert np.isfinite(after.ta[2, :, 2]).any()
    qa = json.loads((work / "33553" / "qa" / "33553__0.qa.json").read_text())
    bad = {(b["chassis"], b["board"], b["reason"]) for b in qa["bad_boards"]}
    assert bad == {(1, 2, "blanking file"), (0, 4, "blanking file")}


def test_combination_order_independent(rsr_sim, rsr_run):
    tmp, work, _ = rsr_run
    combo = work / "33551_33553" / f"{SRC}_33551_33553__0.rsr.spec.fits"
    stamp = combo.stat().st_mtime_ns
    _, ran = run(
        rsr_sim.data_lmt, tmp, list(BS), _config(tmp, rsr_sim.truth["lines"], [33551, 33553])
    )
    assert ran == {}  # the same set in another order: same directory, nothing to do
    assert combo.stat().st_mtime_ns == stamp
