"""RSR automatic flags (lmtflow.flags.rsr): the rsr_badlags step writes the auto-flag file
(every found bad lag and board with its id and policy) and the badlags file of what is applied;
policies apply/suggest/off, the too-much guard, vetoes by id; the blanking file as rules of
origin param; a veto re-runs that ObsNum's chain and the combination only (dry run)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from lmtflow.flags.qa import flag_numbers
from lmtflow.flags.rsr import blanking_file_rules, rsr_auto_result
from lmtflow.rsr.badlags import Badlags, BadlagsParams, read_badlags, write_badlags
from lmtflow.rsr.pipeline import badlags_obsnum
from lmtflow.rsr.steps import make_badlags

from .workflow_helpers import dry_jobs, rsr_config

BOARD_ID = "auto/33551/0/rsr_badcb/c3b5"  # the simulator's bad chassis/board of 33551


def _lags(path) -> set[tuple[int, int, int]]:
    return {tuple(int(v) for v in x) for x in np.argwhere(read_badlags(path).mask)}


def test_rsr_auto_file_policies_and_vetoes(rsr_sim, tmp_path):
    data = rsr_sim.data_lmt
    faults = rsr_sim.truth["observations"]["33551"]["faults"]
    injected = {(f["chassis"], f["board"], f["lag"]) for f in faults["bad_lags"]}
    # without flags: the badlags file is LMTOY's, byte for byte, and every item is applied
    old = write_badlags(tmp_path / "old.badlags", badlags_obsnum(data, 33551, BadlagsParams()),
                        33551, BadlagsParams())  # fmt: skip
    new = make_badlags(data, 33551, {}, tmp_path / "new.badlags", tmp_path / "auto.yaml")
    assert new.read_text() == old.read_text()
    auto = yaml.safe_load((tmp_path / "auto.yaml").read_text())
    by_id = {r["id"]: r for r in auto["rules"]}
    assert by_id[BOARD_ID]["policy"] == "apply" and auto["warnings"] == []
    found = {(r["chassis"][0][0], r["board"][0][0], r["lag"][0][0]) for r in auto["rules"]
             if r["reason"] == "bad_lag"}  # fmt: skip
    assert injected <= found and injected <= _lags(new)
    # lags suggested only, the bad board vetoed by id: neither reaches the badlags file
    flags = {"auto": {"rsr_badlags": {"policy": "suggest"}},
             "rules": [{"action": "unflag", "origin": "any", "reason": "board_ok", "id": BOARD_ID}]}
    out = make_badlags(data, 33551, {"flags": flags}, tmp_path / "v.badlags", tmp_path / "v.yaml")
    assert read_badlags(out).badcb == [] and _lags(out) == set()
    auto = yaml.safe_load((tmp_path / "v.yaml").read_text())
    by_id = {r["id"]: r for r in auto["rules"]}
    assert by_id[BOARD_ID]["vetoed"] and auto["policy"]["rsr_badlags"] == "suggest"
    # the vetoed board's own bad lags are now listed (suggested), no longer hidden by it
    assert any(i.startswith("auto/33551/0/rsr_badlags/c3b5l") for i in by_id)
    numbers = flag_numbers({"rsr_badlags": {"flags": flags}}, [tmp_path / "v.yaml"])
    assert [e["id"] for e in numbers["vetoes"] if "id" in e and e.get("vetoed")] == [BOARD_ID]
    assert numbers["applied"] == [] and len(numbers["suggestions"]) == len(auto["rules"]) - 1
    # a threshold in the auto section: spike 0 turns badlags.py's spike test off
    spikes = {(f["chassis"], f["board"], f["lag"]) for f in faults["bad_lags"]
              if f["kind"] == "spike"}  # fmt: skip
    flags = {"auto": {"rsr_badlags": {"policy": "apply", "spike": 0}}}
    out = make_badlags(data, 33551, {"flags": flags}, tmp_path / "s.badlags")
    assert spikes and not spikes & _lags(out) and injected - spikes <= _lags(out)
    # off: nothing found is listed
    off = {"auto": {"rsr_badlags": {"policy": "off"}, "rsr_badcb": {"policy": "off"}}}
    out = make_badlags(data, 33551, {"flags": off}, tmp_path / "o.badlags", tmp_path / "o.yaml")
    assert yaml.safe_load((tmp_path / "o.yaml").read_text())["rules"] == []
    assert read_badlags(out).badcb == [] and _lags(out) == set()


def test_rsr_guard_demotes_a_detector_that_flags_too_much():
    many = Badlags()
    many.mask[:, :, 100:140] = True  # 40 of 256 lags on every board: 15.6% > 10%
    many.badcb = [(1, c, b) for c in range(4) for b in range(4)]  # 16 of 24 boards > 50%
    result = rsr_auto_result(many, 1, None)
    assert result["policy"] == {"rsr_badlags": "suggest", "rsr_badcb": "suggest"}
    assert len(result["warnings"]) == 2 and "demoted to suggest" in result["warnings"][0]
    assert {r["policy"] for r in result["rules"]} == {"suggest"}
    few = Badlags()
    few.mask[0, 0, 100:110] = True
    assert rsr_auto_result(few, 1, None)["policy"]["rsr_badlags"] == "apply"


def test_blanking_file_lines_as_param_rules(tmp_path):
    path = tmp_path / "b.blanking"
    path.write_text("# comment\n33551 2\n33551,1,4\n-1 3 {5: [(95.5, 97.0)], 1: [(80, 81)]}\n"
                    "33553 0\n")  # fmt: skip
    rules = blanking_file_rules(path, 33551)
    sel = [(r["chassis"], r.get("board"), r.get("freq_ghz")) for r in rules]
    assert sel == [([[2, 2]], None, None), ([[1, 1]], [[4, 4]], None),
                   ([[3, 3]], [[5, 5]], [[95.5, 97.0]]), ([[3, 3]], [[1, 1]], [[80.0, 81.0]])]
    assert {(r["origin"], r["reason"]) for r in rules} == {("param", "blanking")}


def test_rsr_auto_flags_in_the_tree_and_qa(rsr_workflow):
    root = rsr_workflow["snapshot"]
    auto = yaml.safe_load((root / "33551" / "flags" / "rsr_auto.yaml").read_text())
    assert {r["id"]: r["policy"] for r in auto["rules"]}[BOARD_ID] == "apply"
    qa = json.loads((root / "33551" / "qa" / "33551__0.qa.json").read_text())
    applied = {e.get("id") for e in qa["flags"]["applied"]}
    assert BOARD_ID in applied and len(applied) == len(auto["rules"])
    page = (root / "33551" / "README.html").read_text()
    assert "Flags applied" in page and BOARD_ID in page


def test_rsr_veto_reruns_that_obsnum_and_the_combination(rsr_sim, rsr_workflow, tmp_path):
    cfg = rsr_config(tmp_path / "c.yaml", rsr_sim.truth["lines"], [33553, 33551])
    flags = tmp_path / "flags.yaml"
    flags.write_text(f"rules:\n  - {{action: unflag, reason: board_ok, id: {BOARD_ID}}}\n")
    cfg.write_text(cfg.read_text() + f"flags: {flags}\n")
    jobs, _ = dry_jobs(rsr_sim.data_lmt, rsr_workflow["tmp"], [33551, 33553], cfg)
    reduction = [j for j in jobs if "qa" not in j[0] and not j[0].endswith(("page", "index"))]
    assert ("rsr_badlags", "33551") in reduction and ("rsr_baseline", "33551") in reduction
    assert ("rsr_spectrum_combination", "33551_33553") in reduction, reduction
    assert not [j for j in jobs if j[1] == "33553"], jobs


def test_rsr_products_record_their_flags(rsr_workflow):
    """The baselined SDFITS and the spectrum carry the sha256 of what was applied, the fraction
    blanked and counts per reason (one bad board of 256 channels per repeat, the bad lags)."""
    from astropy.io import fits

    from lmtflow.flags.apply import flag_summary

    root = rsr_workflow["snapshot"] / "33551"
    base = fits.getheader(root / "33551__0.rsr.base.sdfits", 1)
    spec = fits.getheader(next((root / "srdp").glob("*_33551__0.rsr.spec.fits")))
    got = flag_summary(base)["rsr_baseline"]
    assert got == flag_summary(spec)["rsr_baseline"] and len(got["sha256"]) == 64
    nrep = base["NAXIS2"] // 24
    assert got["by_reason"]["BADCB"] == 256 * nrep and got["by_reason"]["bad_lag"] >= 3
    assert got["fraction"] == pytest.approx(1 / 24)
    qa = json.loads((root / "qa" / "33551__0.qa.json").read_text())
    assert qa["flags"]["masked"]["rsr_baseline"] == got
