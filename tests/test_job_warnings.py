"""No job of a normal run prints a Python warning (issue 20: "no warning is printed by a normal
QA run"): the small preset's Cal, Map, Ps and Bs, and the RSR Bs ObsNums with their combination,
QA pages included. The faults map's run is checked in tests/test_qa_faults.py."""

from __future__ import annotations

from .workflow_helpers import job_warnings


def test_small_preset_jobs_warn_of_nothing(spectra_base):
    logs, warned = job_warnings(spectra_base["root"] / "work")
    rules = {p.name.split("__")[0].removesuffix(".log") for p in logs}
    assert {"ingest", "calibrate", "baseline", "grid", "qa_beams", "qa_maps",
            "qa_spectrum", "qa_page"} <= rules
    assert warned == []


def test_rsr_jobs_warn_of_nothing(rsr_workflow):
    logs, warned = job_warnings(rsr_workflow["snapshot"])
    assert len(logs) >= 6, logs
    assert warned == []
