"""Incremental re-runs through real Snakemake runs: only what a change affects runs again."""

from __future__ import annotations

from collections import Counter

from .workflow_helpers import run, write_config


def qa_jobs(n: int, beams: bool = True) -> Counter:
    """The QA and report jobs that follow a change to ``n`` map products of one project (the
    per-beam QA only when the baselines or the spectra used change)."""
    jobs = Counter(qa_maps=n, srdp_planes=n, qa_numbers=n, qa_page=n, qa_index=1)
    return jobs + Counter(qa_beams=n) if beams else jobs


def test_parameter_edits_rerun_only_affected_steps(small_sim, two_maps, tmp_path):
    """Edits in the run directory of the session's ``two_maps`` (its first run, from an empty
    work tree, made by the fixture); the config files are written to ``tmp_path``."""
    maps, ran, run_dir = two_maps["maps"], two_maps["ran"], two_maps["root"]
    first, second = maps
    data = small_sim.data_lmt
    assert ran["ingest"] == 3 and ran["grid"] == 2 and ran["srdp"] == 2  # 2 maps + their Cal

    _, ran = run(data, run_dir, maps)
    assert ran == Counter(), f"nothing changed, yet {dict(ran)} ran"

    grid_edit = write_config(tmp_path / "grid.yaml", defaults={"grid": {"resolution": 14}})
    _, ran = run(data, run_dir, maps, configfile=grid_edit)
    expected = Counter(step_params=2, grid=2, srdp=2, srdp_params=2)
    assert ran == expected + qa_jobs(2, beams=False), dict(ran)

    # the spectra used change: the grid and the per-beam QA (its rms_cut marks) run again
    cut = write_config(tmp_path / "cut.yaml", defaults={"grid": {"resolution": 14, "rms_cut": -3}})
    _, ran = run(data, run_dir, maps, configfile=cut)
    assert ran == expected + Counter(step_params=2) + qa_jobs(2), dict(ran)

    one_obsnum = write_config(
        tmp_path / "border.yaml",
        defaults={"grid": {"resolution": 14, "rms_cut": -3}},
        overrides={first: {"baseline": {"b_order": 1}}},
    )
    _, ran = run(data, run_dir, maps, configfile=one_obsnum)
    expected = Counter(step_params=1, baseline=1, grid=1, srdp=1, srdp_params=1) + qa_jobs(1)
    assert ran == expected, dict(ran)
    params = next((run_dir / "work").glob(f"*/{first}/params/baseline__0.json")).read_text()
    assert '"b_order": 1' in params
    untouched = next((run_dir / "work").glob(f"*/{second}/params/baseline__0.json")).read_text()
    assert '"b_order": 0' in untouched


def test_misspelt_key_fails_before_any_job(small_sim, tmp_path):
    bad = write_config(tmp_path / "bad.yaml", defaults={"grid": {"resolutoin": 14}})
    proc, ran = run(small_sim.data_lmt, tmp_path, [small_sim.labels["map"]], configfile=bad,
                    check=False)  # fmt: skip
    assert proc.returncode != 0
    assert "defaults.grid.resolutoin" in proc.stderr and "did you mean 'resolution'" in proc.stderr
    assert ran == Counter()
    assert not (tmp_path / "work").exists()
