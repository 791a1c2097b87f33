"""Flag tools: ``lmtflow flags show|explain``, GBTIDL .flag import, ``obs.flag(...)``."""

from __future__ import annotations

import pytest

from lmtflow.cli import main
from lmtflow.flags.rules import FlagFileError, parse_flag_text
from lmtflow.flags.tools import import_gbtidl, rules_yaml

GBTIDL = """[header]
created = Tue Nov 10 12:00:00 2020
version = 1.0
created_by = gbtidl
[flags]
#RECNUM,SCAN,INTNUM,PLNUM,IFNUM,FDNUM,BCHAN,ECHAN,IDSTRING
*|6|*|*|2|0|3072|3072|VEGAS_SPUR
*|79448,79451|10:20|1|*|*|*|100|rfi burst
*|79448|*|*|*|3|*|*|dead
"""


def test_gbtidl_import(tmp_path):
    f = tmp_path / "a.flag"
    f.write_text(GBTIDL)
    rules = import_gbtidl(f)
    assert [(r["reason"], r.get("obsnum"), r.get("chan")) for r in rules] == [
        ("VEGAS_SPUR", [[6, 6]], [[3072, 3072]]),
        ("rfi_burst", [[79448, 79448], [79451, 79451]], [[0, 100]]),  # open start = channel 0
        ("dead", [[79448, 79448]], None),
    ]
    assert rules[0]["bank"] == [[2, 2]] and rules[0]["beam"] == [[0, 0]]
    assert rules[1]["dump"] == [[10, 20]] and rules[1]["pol"] == [[1, 1]]
    again = parse_flag_text(rules_yaml(rules)).rules  # the YAML it prints reads back the same
    assert [{k: v for k, v in r.items() if k != "_where"} for r in again] == rules
    f.write_text(GBTIDL.replace("*|6|", "5|6|"))
    with pytest.raises(FlagFileError, match="a.flag:7: RECNUM"):
        import_gbtidl(f)


def test_cli_show_and_explain(reduced, small_sim, tmp_path, capsys):
    n = reduced["obsnum"]
    flags = tmp_path / "f.yaml"
    flags.write_text(f"rules:\n  - {{reason: dead, obsnum: {n}, beam: 3}}\n"
                     f"  - {{reason: burst, obsnum: {n}, beam: [5, 6], dump: [[40, 49]]}}\n"
                     "  - {reason: nowhere, beam: 3, dump: 99999}\n")  # fmt: skip
    common = ["--flags", str(flags), "--data-lmt", str(small_sim.data_lmt),
              "--work-lmt", str(reduced["dir"].parents[1])]  # fmt: skip
    assert main(["flags", "show", str(n), *common]) == 0
    out = capsys.readouterr().out
    assert "calibrate: 2 rule(s)" in out and "grid: 1 rule(s)" in out and '"reason": "dead"' in out
    assert main(["flags", "explain", str(n), *common]) == 0
    out = capsys.readouterr().out
    assert "flag rule 'burst' [user]:" in out and "per beam {5: 10, 6: 10}; dumps 40-49" in out
    assert "flag rule 'dead' [user]:" in out and "warning: flag rule 'nowhere'" in out
    assert main(["flags", "show", str(n), "--flags", str(tmp_path / "none.yaml"),
                 "--data-lmt", str(small_sim.data_lmt)]) == 2  # fmt: skip
    assert "none.yaml: cannot be read" in capsys.readouterr().err


def test_interactive_flag_goes_to_its_step(small_sim, tmp_path):
    import lmtflow

    obs = lmtflow.load(small_sim.labels["map"], data_lmt=small_sim.data_lmt, work=tmp_path)
    obs.flag("dead", beam=3).flag("burst", beam=5, time_s=[10, 20])
    grid = obs.ctx.params("grid", {})
    assert [r["reason"] for r in grid["flags"]["rules"]] == ["dead"]
    assert [r["reason"] for r in obs.ctx.params("calibrate", {})["flags"]["rules"]] == ["burst"]
    assert "flags" not in obs.ctx.params("baseline", {})


def test_show_lists_rsr_badcb_and_badlags_as_param_rules(rsr_sim, tmp_path):
    """``badcb`` and the ObsNum's badlags file appear in ``flags show`` as rules of origin
    ``param`` (the RSR steps still read them themselves)."""
    import json

    from lmtflow import layout
    from lmtflow.config import SCHEMA_PATH, load_config
    from lmtflow.flags.tools import show
    from lmtflow.rsr.badlags import BadlagsParams, write_badlags
    from lmtflow.rsr.pipeline import badlags_obsnum
    from lmtflow.scan import scan_obsnum

    config = load_config(SCHEMA_PATH.parent / "config.yaml", data_lmt=str(rsr_sim.data_lmt),
                         work_lmt=str(tmp_path))  # fmt: skip
    config["defaults"].setdefault("rsr", {})["badcb"] = "1/2,0/4"
    info = scan_obsnum(config["data_lmt"], 33551)
    path = layout.path(tmp_path, layout.RSR_BADLAGS, pid=info.pid, obsnum=33551)
    path.parent.mkdir(parents=True)
    write_badlags(path, badlags_obsnum(rsr_sim.data_lmt, 33551, BadlagsParams()), 33551,
                  BadlagsParams())  # fmt: skip
    blanking = layout.path(tmp_path, layout.RSR_BLANKING, pid=info.pid, obsnum=33551)
    blanking.write_text("33551 3 {1: [(80.0, 81.0)]}\n33553,0,1\n")  # the 2nd: another ObsNum
    rules = [json.loads(line) for line in show(config, info, 0).splitlines()
             if line.startswith("    ")]  # fmt: skip
    param = [r for r in rules if r.get("origin") == "param"]
    badcb = sorted((r["chassis"], r["board"]) for r in param if r["reason"] == "badcb")
    assert badcb == [([[0, 0]], [[4, 4]]), ([[1, 1]], [[2, 2]]),  # the parameter
                     ([[3, 3]], [[5, 5]])]  # the file's #BADCB (the simulator's bad board)
    lags = {(r["chassis"][0][0], r["board"][0][0], lag[0]) for r in param
            if r["reason"] == "badlags" for lag in r["lag"]}  # fmt: skip
    assert {(1, 2, 100), (0, 4, 150), (2, 0, 77)} <= lags  # the injected bad lags
    (blank,) = [r for r in param if r["reason"] == "blanking"]
    assert (blank["chassis"], blank["board"], blank["freq_ghz"]) == ([[3, 3]], [[1, 1]],
                                                                     [[80.0, 81.0]])


def test_bad_time_one_high_end_dump_is_no_run():
    """A single high dump at either end of the series is no bad interval (the running median
    mirrors the ends); six bad dumps at the start are one."""
    from types import SimpleNamespace

    import numpy as np

    from lmtflow.flags.auto import bad_time_rules

    rng = np.random.default_rng(14)
    rms = 1.0 + 0.02 * rng.standard_normal((300, 2))
    rms[0, 0] = rms[-1, 0] = 1.12  # one spectrum each end, 6 sigma of one dump
    rms[:6, 1] = 1.5
    summary = SimpleNamespace(rms=rms, beams=np.array([5, 14]), pols=np.array([0, 0]))
    rules = bad_time_rules(summary, 5.0, 5, np.arange(20, 320), (90002, 0))
    assert [(r["beam"], r["dump"]) for r in rules] == [([[14, 14]], [[20, 25]])]
