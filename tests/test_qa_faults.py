"""QA of the simulator's ``faults`` map: the beams that never reach the products are named with
their reason, the noisy beam is suggested bad, and the spikes in single dumps are no birdies."""

from __future__ import annotations

import json

import pytest

from lmtflow.io.roach import roach_inputs_for_bank
from lmtflow.sim import simulate_preset

from .workflow_helpers import job_warnings, run

MAP = 90002


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    sim = simulate_preset("faults", root / "data_lmt", seed=0)
    run(sim.data_lmt, root, [MAP])
    obsdir = next((root / "work").glob(f"*/{MAP}"))
    qa = json.loads(next(obsdir.glob("qa/*__0.qa.json")).read_text())
    return sim, qa, obsdir


def test_no_job_of_the_faults_run_warns(faults):
    """A dead beam, a missing roach file and spikes are normal in real data: every job (QA
    included) runs without a Python warning (job logs capture them: ``setup_logging``)."""
    _, _, obsdir = faults
    logs, warned = job_warnings(obsdir.parents[1])
    assert any(p.name.startswith("qa_beams") for p in logs) and len(logs) >= 8, logs
    assert warned == []


def test_missing_beams_are_named_with_their_reason(faults):
    sim, qa, obsdir = faults
    truth = sim.truth["sessions"][0]["faults"]
    (roach,) = sim.truth["observations"][str(MAP)]["missing_roach"]
    no_file = sorted(p for _, p in roach_inputs_for_bank("Sequoia", 0)[roach])
    assert qa["missing_beams"] == [
        {"beams": no_file, "reason": "no roach file"},
        {"beams": truth["dead_beams"],
         "reason": f"Tsys of Cal {qa['observation']['calobsnum']} missing, zero, negative or NaN"},
    ]  # fmt: skip
    page = (obsdir / "README.html").read_text()
    assert "Missing beams" in page and "no roach file" in page


def test_noisy_beam_suggested_and_spikes_are_no_birdies(faults):
    sim, qa, _ = faults
    truth = sim.truth["sessions"][0]["faults"]
    assert qa["bad_beams"] == sorted(int(b) for b in truth["noisy_beams"])
    assert sim.truth["observations"][str(MAP)]["spikes"]  # there are spikes to ignore
    injected = {c for b in truth["birdies"] for c in b["channels"]}
    assert {b["channel"] for b in qa["birdies"]} <= injected  # no spike or noise reported
