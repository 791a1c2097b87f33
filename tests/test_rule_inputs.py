"""What the rules read and the pages show (lmtflow.rule_inputs, lmtflow.page_inputs), without
Snakemake: the QA sections of a map, a Ps and an RSR combination, the project index rows with
attempts, the attempts-page columns, archives and input functions over plain wildcards."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from lmtflow.attempts import AttemptPlan
from lmtflow.config import validate_config
from lmtflow.page_inputs import PageInputs, flat
from lmtflow.rule_inputs import RuleInputs
from lmtflow.targets import WorkTree, scan_config

ATTEMPTS = {"coarse": {"grid": {"resolution": 16}}, "order1": {"baseline": {"b_order": 1}}}


def make_pages(data_lmt, work, sources, attempts=None) -> PageInputs:
    raw = {"data_lmt": str(data_lmt), "work_lmt": str(work), "sources": sources}
    cfg = validate_config({**raw, **({"attempts": attempts} if attempts else {})})
    infos, combos = scan_config(cfg)
    tree = WorkTree(cfg["work_lmt"], infos, combos, AttemptPlan(cfg, infos))
    return PageInputs(RuleInputs(tree, cfg["data_lmt"]))


@pytest.fixture(scope="module")
def seq(small_sim, tmp_path_factory):
    """Two maps of one field and their combination, a Ps ObsNum; with two attempts."""
    m1, m2, ps = (small_sim.labels[k] for k in ("map", "map2", "ps"))
    sources = {"S": {"obsnums": [m1, m2, ps], "combinations": [{"obsnums": [m2, m1]}]}}
    work = tmp_path_factory.mktemp("rule_inputs") / "work"
    pages = make_pages(small_sim.data_lmt, work, sources, ATTEMPTS)
    return SimpleNamespace(pages=pages, inputs=pages.inputs, work=work, map=m1, map2=m2, ps=ps,
                           combo=f"{m1}_{m2}", pid=pages.infos[m1].pid)  # fmt: skip


@pytest.fixture(scope="module")
def rsr(rsr_sim, tmp_path_factory):
    sources = {"I10565": {"obsnums": [33551, 33553], "combinations": [{"obsnums": [33553, 33551]}]}}
    work = tmp_path_factory.mktemp("rule_inputs_rsr") / "work"
    return SimpleNamespace(pages=make_pages(rsr_sim.data_lmt, work, sources), work=work)


def rel(work, paths):
    return [str(p).removeprefix(f"{work}/") for p in paths]


def test_map_section_lists_every_step_of_its_chain(seq):
    info = seq.pages.infos[seq.map]
    sections = seq.pages.obs_sections(info)
    assert len(sections) == len(info.banks) >= 1
    s, d, n = sections[0], f"{seq.pid}/{seq.map}", seq.map
    src = info.src
    assert rel(seq.work, [s["qa"]]) == [f"{d}/qa/{n}__0.qa.json"]
    cal = info.cal.obsnum
    assert rel(seq.work, s["files"]) == [
        f"{d}/{n}__0.raw.sdfits", f"{info.cal_pid}/{cal}/{cal}__0.tsys.fits",
        f"{d}/{n}__0.cal.sdfits", f"{d}/{n}__0.base.sdfits",
        f"{d}/{n}__0.cube.fits", f"{d}/{n}__0.wt.fits",
        f"{d}/srdp/{src}_{n}__0.fits", f"{d}/srdp/{src}_{n}__0.wt.fits",
        f"{d}/srdp/{src}_{n}__0.params.json",
        *(f"{d}/srdp/{src}_{n}__0.{p}.fits"
          for p in ("mom0", "mom1", "mom2", "peak", "rms", "radiometer")),
        *(f"{d}/params/{step}__0.json" for step in ("calibrate", "baseline", "grid")),
    ]  # fmt: skip
    assert {"coverage", "waterfall", "mom0", "noise_hist"} <= set(s["plots"])
    assert s["plots"]["mom0"] == str(seq.work / d / "qa" / f"{n}__0.mom0.png")
    assert "members" not in s


def test_ps_section_has_a_spectrum_and_no_maps(seq):
    info = seq.pages.infos[seq.ps]
    s, d = seq.pages.obs_sections(info)[0], f"{seq.pid}/{seq.ps}"
    files = rel(seq.work, s["files"])
    assert f"{d}/srdp/{info.src}_{seq.ps}__0.spec.fits" in files
    assert f"{d}/srdp/{info.src}_{seq.ps}__0.spec.txt" in files
    assert not any(f.endswith((".cube.fits", ".mom0.fits")) for f in files)
    assert files[-3:] == [
        f"{d}/params/{st}__0.json" for st in ("calibrate", "baseline", "spectrum")
    ]
    assert "final" in s["plots"] and "mom0" not in s["plots"] and "coverage" not in s["plots"]


def test_an_attempt_section_reads_shared_steps_from_the_base(seq):
    info = seq.pages.infos[seq.map]
    s, d = seq.pages.obs_sections(info, "/attempts/coarse")[0], f"{seq.pid}/{seq.map}"
    files = rel(seq.work, s["files"])
    # coarse changes only the gridding: calibration and baselines are the base's
    assert files[2:4] == [f"{d}/{seq.map}__0.cal.sdfits", f"{d}/{seq.map}__0.base.sdfits"]
    assert files[4] == f"{d}/attempts/coarse/{seq.map}__0.cube.fits"
    assert files[-3:] == [f"{d}/params/calibrate__0.json", f"{d}/params/baseline__0.json",
                          f"{d}/attempts/coarse/params/grid__0.json"]  # fmt: skip
    # per-beam plots show the spectra used (the base's), cube plots the attempt's cube
    assert "/attempts/" not in s["plots"]["waterfall"] and "/attempts/coarse/" in s["plots"]["mom0"]
    # order1 changes the baselines, so everything from the baselines on is its own
    s1 = rel(seq.work, seq.pages.obs_sections(info, "/attempts/order1")[0]["files"])
    assert s1[2] == f"{d}/{seq.map}__0.cal.sdfits"
    assert s1[3] == f"{d}/attempts/order1/{seq.map}__0.base.sdfits"
    # a grid attempt leaves a Ps spectrum alone: its page is the base's
    ps = seq.pages.infos[seq.ps]
    assert seq.pages.obs_page(ps, "/attempts/coarse") == seq.pages.obs_page(ps)
    assert seq.pages.obs_sections(ps, "/attempts/coarse") == seq.pages.obs_sections(ps)


def test_rsr_combination_section(rsr):
    pages, name = rsr.pages, "33551_33553"
    [s] = pages.combo_sections(name)
    pid, src = pages.tree.combo_first(name).pid, pages.tree.combo_first(name).src
    d = f"{pid}/{name}"
    assert rel(rsr.work, s["files"]) == [f"{d}/{src}_{name}__0.rsr.spec.fits",
                                         f"{d}/{src}_{name}__0.rsr.spec.txt",
                                         f"{d}/params/rsr_spectrum__0.json"]  # fmt: skip
    assert rel(rsr.work, [s["qa"]]) == [f"{d}/qa/{name}__0.qa.json"]
    assert list(s["members"]) == ["33551", "33553"]
    assert s["members"]["33553"] == str(rsr.work / pid / "33553" / "README.html")
    assert set(s["plots"]) and all(p.startswith("rsr_") for p in s["plots"])
    assert "rsr_badlags" not in s["plots"]  # the members' pages show their badlags
    assert pages.combo_kind(name) == "rsr_combination"
    assert (
        pages.combo_title(name)
        == f"{pages.tree.combo_first(name).header.source}  ObsNums 33551, 33553"
    )
    # an RSR ObsNum: one section of pseudo-bank 0 with the badlags and blanking files
    [o] = pages.obs_sections(pages.infos[33551])
    assert any(f.endswith("33551.badlags") for f in o["files"])
    assert any(f.endswith("33551.blanking") for f in o["files"])
    assert "rsr_badlags" in o["plots"]
    # the page inputs: every shown file and the members' pages
    inputs = pages.combo_page_inputs(name)
    assert inputs[: len(flat([s]))] == flat([s]) and inputs[-2:] == list(s["members"].values())


def test_index_rows_with_attempts(seq):
    rows = seq.pages.index_entries(seq.pid)
    pages = [r["page"] for r in rows]
    d = seq.work / seq.pid
    obsnums = sorted((seq.map, seq.map2, seq.ps))
    assert pages == [str(d / str(n) / "README.html") for n in obsnums] + [
        str(d / seq.combo / "README.html")]  # fmt: skip
    assert [r["compare"] for r in rows] == [str(p.replace("README.html", "attempts.html"))
                                            for p in pages]  # fmt: skip
    combo = rows[-1]["sections"][0]
    assert list(combo["members"]) == [str(seq.map), str(seq.map2)]
    inputs = seq.pages.index_inputs(seq.pid)
    assert set(pages) | {r["compare"] for r in rows} <= set(inputs)
    assert seq.pages.index_entries("no-such-project") == []


def test_index_rows_without_attempts(small_sim, tmp_path):
    m = small_sim.labels["map"]
    pages = make_pages(small_sim.data_lmt, tmp_path / "work", {"S": {"obsnums": [m]}})
    [row] = pages.index_entries(pages.infos[m].pid)
    assert row["compare"] is None
    reports = pages.all_reports()
    assert not any(r.endswith(("attempts.html", ".zip")) for r in reports)
    assert sum(r.endswith("index.html") for r in reports) == 1


def test_compare_columns_of_an_obsnum_and_a_combination(seq):
    cols = seq.pages.compare_columns(str(seq.map))
    assert list(cols) == seq.pages.infos[seq.map].banks
    c = cols[0]
    assert [x["name"] for x in c] == ["base", "coarse", "order1"]
    assert c[0]["changed"] == {}
    grid = c[1]["changed"]["grid"]
    assert list(c[1]["changed"]) == ["grid"] and grid["resolution"][1] == 16
    assert grid["cell"] == [grid["cell"][0], 8.0]  # the derived cell follows
    assert c[2]["changed"] == {"baseline": {"b_order": [0, 1]}}
    d = seq.work / seq.pid / str(seq.map)
    assert [x["page"] for x in c] == [str(d / "README.html"),
                                      str(d / "attempts/coarse/README.html"),
                                      str(d / "attempts/order1/README.html")]  # fmt: skip
    assert c[1]["archive"] == str(d / f"attempts/coarse/{seq.map}_SRDP.zip")
    assert (
        c[1]["section"] == seq.pages.obs_sections(seq.pages.infos[seq.map], "/attempts/coarse")[0]
    )
    # a combination column lists its members' changes and its own (the joint gridding)
    combo = seq.pages.compare_columns(seq.combo)[0]
    assert combo[2]["changed"]["baseline"] == {"b_order": [0, 1]}
    assert combo[1]["changed"]["grid"]["resolution"][1] == 16
    inputs = seq.pages.compare_inputs(seq.combo)
    assert inputs == sorted(set(inputs)) and all(x["archive"] in inputs for x in combo)


def test_archive_members_name_the_attempt(seq):
    members = seq.pages.archive_members(str(seq.map), "/attempts/coarse")
    assert members and all(k.startswith(f"{seq.map}_coarse/") for k in members)
    assert any("/attempts/coarse/srdp/" in v for v in members.values())
    params = [v for v in members.values() if "/params/" in v]
    assert len(params) == 3 * len(seq.pages.infos[seq.map].banks)


def test_input_functions_over_plain_wildcards(seq, rsr):
    inputs = seq.inputs
    w = SimpleNamespace(pid=seq.pid, obsnum=str(seq.map), bank="0", attempt="/attempts/coarse")
    d = seq.work / seq.pid / str(seq.map)
    beams, last = inputs.qa_parts(w)
    assert beams == str(d / "qa" / f"{seq.map}__0.beams.json")  # the base's spectra
    assert last.endswith("{pid}/{obsnum}{attempt}/qa/{obsnum}__{bank}.cube.json")  # Snakemake fills
    assert inputs.qa_params(w) == [str(d / "params/baseline__0.json"),
                                   str(d / "attempts/coarse/params/grid__0.json")]  # fmt: skip
    assert inputs.at_step("x/{obsnum}.{bank}", "grid")(w) == str(seq.work / f"x/{seq.map}.0")
    assert inputs.qa_flag_inputs(w) == [] and inputs.auto_flag_input(w) == []
    assert inputs.tsys_params(w) == {"bdrop": 50, "edrop": 100}
    assert len(inputs.raw_files(w)) >= 2 and inputs.raw_mb(w) > 0
    c = SimpleNamespace(pid=seq.pid, combo=seq.combo, bank="0", attempt="")
    assert inputs.combo_raw_mb(c) == pytest.approx(
        sum(inputs.raw_mb(SimpleNamespace(obsnum=n, bank=0)) for n in (seq.map, seq.map2))
    )
    members = inputs.combo_inputs("m/{obsnum}")(c)
    assert members == [str(seq.work / f"m/{n}") for n in sorted((seq.map, seq.map2))]
    step = SimpleNamespace(**vars(w), step="grid")
    assert inputs.resolved_params_json(step).endswith("\n")
    assert '"resolution": 16' in inputs.resolved_params_json(step)
    # the RSR rules match RSR ObsNums and combinations only
    rsr_inputs = rsr.pages.inputs
    assert re.fullmatch(rsr_inputs.rsr_obsnum_regex(), "33551")
    assert not re.fullmatch(rsr_inputs.rsr_obsnum_regex(), "335510")
    assert re.fullmatch(rsr_inputs.rsr_combo_regex(), "33551_33553")
    assert not re.fullmatch(inputs.rsr_obsnum_regex(), str(seq.map))
    assert not re.fullmatch(inputs.rsr_combo_regex(), seq.combo)
