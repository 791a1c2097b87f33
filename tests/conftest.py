"""Shared fixtures.

``small_sim`` (session scope) simulates the ``small`` preset once per test session and returns
a :class:`lmtflow.sim.SimulationResult`:

* ``small_sim.data_lmt``  -- Path of the raw tree ($DATA_LMT: ifproc/, spectrometer/roach0..3/)
* ``small_sim.truth``     -- dict (truth.json, layout in :mod:`lmtflow.sim.truth`)
* ``small_sim.obsnums``   -- ObsNums by role: {"Cal": [79447, 82479], "Map": [79448, 79451],
                             "Ps": [79449, 82480], "Bs": [79450]}
* ``small_sim.labels``    -- {"cal": 79447, "map": 79448, "ps": 79449, "bs": 79450,
                             "map2": 79451 (same field, scanned along Dec),
                             "cal_1mm": 82479, "ps_1mm": 82480}
* ``small_sim.obs(label)`` / ``small_sim.session(label)`` -- truth of one ObsNum / its session

Treat the tree as read-only: it is shared by every test of the session.
"""

from __future__ import annotations

import contextlib

import pytest

from lmtflow.sim import SimulationResult, simulate_preset

SMALL_SEED = 20181116


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    root = tmp_path_factory.mktemp("small_sim")
    return simulate_preset("small", root / "data_lmt", seed=SMALL_SEED)


def make_tiny_config(**instrument) -> dict:
    """A few-MB Sequoia session (Cal + short Ps + tiny Map) for fast, custom simulations."""
    return {
        "start_utc": "2019-03-01T04:00:00",
        "sessions": [
            {
                "name": "tiny",
                "instrument": {"receiver": "Sequoia", "nchan": 2048, **instrument},
                "sky": {
                    "source_name": "TinySrc",
                    "ra_deg": 60.0,
                    "dec_deg": 20.0,
                    "velocity_kms": 10.0,
                    "sources": [
                        {
                            "name": "s",
                            "fwhm_arcsec": 0.0,
                            "peak_k": 2.0,
                            "vlsr_kms": 10.0,
                            "fwhm_kms": 10.0,
                            "rest_freq_ghz": 115.271204,
                        },
                    ],
                },
                "observations": [
                    {"kind": "Cal", "obsnum": 1001, "label": "cal"},
                    {
                        "kind": "Ps",
                        "obsnum": 1002,
                        "label": "ps",
                        "gap_before_s": 5.0,
                        "params": {"nrepeats": 1, "on_s": 1.5, "ref_s": 1.5, "switch_s": 0.5},
                    },
                    {
                        "kind": "Map",
                        "obsnum": 1003,
                        "label": "map",
                        "gap_before_s": 5.0,
                        "params": {
                            "xlength_arcsec": 30,
                            "ylength_arcsec": 20,
                            "xramp_arcsec": 5,
                            "yramp_arcsec": 0,
                            "rows_per_scan": 2,
                            "ref_s": 1.0,
                            "slew_s": 0.5,
                        },
                    },
                ],
            }
        ],
    }


@pytest.fixture
def tiny_config():
    """Factory of tiny simulator configs: ``tiny_config(nchan=..., ...)`` (instrument keys)."""
    return make_tiny_config


# Runs from an empty work tree that session fixtures wait for, started together by
# ``background_work`` when this session uses them (fixture name -> (run directory, StartedRun)).
EARLY: dict = {}


def _start_reduced(small_sim: SimulationResult, tmp_path_factory: pytest.TempPathFactory):
    from .workflow_helpers import start

    work = tmp_path_factory.mktemp("otf")
    return work, start(small_sim.data_lmt, work, [small_sim.labels["map"]])


@pytest.fixture(scope="session")
def reduced(small_sim: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The small map reduced once by the real workflow: paths of its products and params."""
    import json

    work, started = EARLY.pop("reduced", None) or _start_reduced(small_sim, tmp_path_factory)
    obsnum = small_sim.labels["map"]
    started.result()
    obsdir = next((work / "work").glob(f"*/{obsnum}"))
    return {
        "obsnum": obsnum,
        "dir": obsdir,
        "cube": next(obsdir.glob("srdp/*__0.fits")),
        "raw": obsdir / f"{obsnum}__0.raw.sdfits",
        "cal": obsdir / f"{obsnum}__0.cal.sdfits",
        "base": obsdir / f"{obsnum}__0.base.sdfits",
        "params": json.loads((obsdir / "params" / "grid__0.json").read_text()),
    }


def _start_two_maps(small_sim: SimulationResult, tmp_path_factory: pytest.TempPathFactory):
    from .workflow_helpers import start

    root = tmp_path_factory.mktemp("two_maps")
    return root, start(small_sim.data_lmt, root, [small_sim.labels["map"],
                                                  small_sim.labels["map2"]])  # fmt: skip


@pytest.fixture(scope="session")
def two_maps(small_sim: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The small preset's two maps of one field (79448 scanned along RA, 79451 along Dec) and
    their Cal reduced once from an empty work tree by the real workflow (default config).

    ``root``: the run directory with Snakemake's records; only tests/test_rerun.py edits
    parameters and re-runs there (it needs the records). ``ran``: Counter of the rules of this
    first run. ``snapshot``: a copy made right after it, for tests that copy or read it.
    """
    from .workflow_helpers import copy_run

    root, started = EARLY.pop("two_maps", None) or _start_two_maps(small_sim, tmp_path_factory)
    maps = [small_sim.labels["map"], small_sim.labels["map2"]]
    _, ran = started.result()
    snapshot = copy_run(root, tmp_path_factory.mktemp("two_maps_snapshot"))
    return {"root": root, "maps": maps, "ran": ran, "snapshot": snapshot}


@pytest.fixture(scope="session")
def maps_combined(small_sim: SimulationResult, two_maps: dict,
                  tmp_path_factory: pytest.TempPathFactory) -> dict:  # fmt: skip
    """A copy of ``two_maps["snapshot"]`` where the project config ``config`` (``project``:
    source 'S' with both maps, their combination listed as [79451, 79448]) also combined
    them: only the combination's steps ran (``ran``). Read only: tests that run more work on
    a copy of ``root`` (tests/workflow_helpers.py copy_run)."""
    from .workflow_helpers import copy_run, run, write_config

    root = copy_run(two_maps["snapshot"], tmp_path_factory.mktemp("maps_combined"))
    maps = two_maps["maps"]
    project = {"sources": {"S": {"obsnums": maps, "combinations": [{"obsnums": maps[::-1]}]}}}
    config = write_config(root / "project.yaml", **project)
    _, ran = run(small_sim.data_lmt, root, maps, configfile=config)
    return {"root": root, "work": root / "work", "maps": maps, "project": project,
            "config": config, "ran": ran}  # fmt: skip


@pytest.fixture(scope="session")
def rsr_sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The ``rsr`` preset (Cal 33550 + Bs 33551 with faults, Cal 33552 + Bs 33553), ~25 MB."""
    root = tmp_path_factory.mktemp("rsr_sim")
    return simulate_preset("rsr", root / "data_lmt", seed=SMALL_SEED)


def _start_rsr(rsr_sim: SimulationResult, tmp_path_factory: pytest.TempPathFactory):
    from .workflow_helpers import rsr_config, start

    tmp = tmp_path_factory.mktemp("rsr_wf")
    cfg = rsr_config(tmp / "rsr_33553_33551.yaml", rsr_sim.truth["lines"], [33553, 33551])
    return tmp, start(rsr_sim.data_lmt, tmp, [33551, 33553], cfg)


@pytest.fixture(scope="session")
def rsr_workflow(rsr_sim: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The rsr preset's Bs ObsNums and their combination (listed as [33553, 33551]) reduced
    once by the real workflow, QA pages included.

    ``tmp``: the run directory (tests may edit files there and re-run); ``work``: its project
    directory; ``ran``: Counter of the rules that ran; ``snapshot``: a copy of the project
    directory as this first run left it, for tests that only read (tests/test_qa_rsr.py).
    """
    import shutil

    tmp, started = EARLY.pop("rsr_workflow", None) or _start_rsr(rsr_sim, tmp_path_factory)
    _, ran = started.result()
    work = tmp / "work" / "2015-ARSR-SIM"
    snapshot = tmp_path_factory.mktemp("rsr_snapshot") / work.name
    shutil.copytree(work, snapshot)
    return {"tmp": tmp, "work": work, "ran": ran, "snapshot": snapshot}


@pytest.fixture(scope="session")
def spectra_base(small_sim: SimulationResult, reduced: dict,
                 tmp_path_factory: pytest.TempPathFactory) -> dict:  # fmt: skip
    """A copy of ``reduced``'s run directory where the Ps and Bs ObsNums of the small preset
    were reduced too (default config; ``ran``: what that run did). Shared, read only, by the
    spectra tests and the web tree, which each copy ``root`` and run more there."""
    from .workflow_helpers import copy_run, run

    root = copy_run(reduced["dir"].parents[2], tmp_path_factory.mktemp("spectra_base"))
    nums = [small_sim.labels[k] for k in ("map", "ps", "bs")]
    _, ran = run(small_sim.data_lmt, root, nums)
    return {"root": root, "ran": ran}


@pytest.fixture(scope="session")
def web_tree(small_sim: SimulationResult, spectra_base: dict,
             tmp_path_factory: pytest.TempPathFactory) -> dict:  # fmt: skip
    """The web service's work tree (tests/web_helpers.py): Map, Ps and Bs ObsNums of the small
    preset reduced with an attempt 'coarse' (on a copy of ``spectra_base``), and two more
    projects."""
    from .web_helpers import make_web_tree

    map_dir = next((spectra_base["root"] / "work").glob(f"*/{small_sim.labels['map']}"))
    return make_web_tree(small_sim, tmp_path_factory.mktemp("web_tree"), map_dir)


@pytest.fixture(scope="session")
def web_server(web_tree: dict, tmp_path_factory: pytest.TempPathFactory):
    """``lmtflow web serve`` over ``web_tree`` on a free loopback port, with the users of
    tests/web_helpers.py; ``.url``, ``.config``, ``.tree``."""
    from .web_helpers import add_users, start_server, write_web_config

    root = tmp_path_factory.mktemp("web_server")
    config = write_web_config(root, web_tree)
    add_users(config, root)
    server = start_server(config, web_tree, root / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slurm():
    """A private single-node SLURM cluster (tests/slurm_cluster.py), started once per session
    by the first test that needs it (tests/test_slurm.py, tests/test_web_slurm.py)."""
    import os

    from .slurm_cluster import missing_requirements, start_cluster

    reason = missing_requirements()
    if reason:
        # The README's test command runs as root and installs munge and SLURM first
        # (install-test-deps.sh), so as root a missing piece is a broken set-up: fail. Only a
        # developer's run without root may skip, unless LMTFLOW_REQUIRE_SLURM is set (.ci/run).
        if os.environ.get("LMTFLOW_REQUIRE_SLURM") or os.geteuid() == 0:
            pytest.fail(f"the SLURM tests must run here but SLURM cannot start: {reason} "
                        "(bash install-test-deps.sh installs it)")  # fmt: skip
        pytest.skip(f"no SLURM cluster can be started here: {reason}")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def slurm_runs(small_sim, mosaic_sim, slurm, tmp_path_factory):
    """tests/test_slurm.py's two workflows on the session's cluster (``"map"``, ``"mosaic"``;
    tests/slurm_cluster.py start_workflows), started together and awaited by their tests.
    Started at the beginning of a session that selects those tests (``background_work``):
    they wait on the cluster while the other tests run."""
    from .slurm_cluster import start_workflows

    runs = start_workflows(small_sim, mosaic_sim, slurm, tmp_path_factory)
    try:
        yield runs
    finally:
        for r in runs.values():
            r.stop()


# Session fixtures whose work is mostly waiting (not CPU), started before the first test when
# the session selects a test that uses them, so that the wait overlaps other tests.
BACKGROUND = ("slurm_runs",)


@pytest.fixture(scope="session", autouse=True)
def background_work(request: pytest.FixtureRequest):
    """Start the ``EARLY`` runs and the ``BACKGROUND`` fixtures that this session's tests use,
    before the first test: they proceed together and beside the first tests, instead of one
    after the other when each fixture is first asked for. Where one cannot start (no SLURM
    here, a failed set-up), nothing happens here: the test that uses it requests it again
    and reports the skip or the error itself (pytest keeps a session fixture's error for
    every later request). Early runs no test waited for are stopped at the end."""
    used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    factory = request.getfixturevalue("tmp_path_factory")
    for name, begin, sim in (("reduced", _start_reduced, "small_sim"),
                             ("two_maps", _start_two_maps, "small_sim"),
                             ("rsr_workflow", _start_rsr, "rsr_sim")):  # fmt: skip
        # a failure here is left to the fixture, which tries again when its test asks for it
        with contextlib.suppress(Exception, pytest.skip.Exception, pytest.fail.Exception):
            if name in used:
                EARLY[name] = begin(request.getfixturevalue(sim), factory)
    for name in BACKGROUND:
        if name not in used:
            continue
        if name == "slurm_runs":
            from .slurm_cluster import missing_requirements

            if missing_requirements():
                continue
        try:
            request.getfixturevalue(name)
        except (Exception, pytest.skip.Exception, pytest.fail.Exception):  # noqa: BLE001
            continue  # reported by the test that uses it
    yield
    for _, started in EARLY.values():
        started.stop()


MOSAIC_TILES = 6


@pytest.fixture(scope="session")
def mosaic_sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The ``mosaic`` preset with 6 tiles (3 x 2 maps of 60", each with its Cal; ~300 MB):
    truth in ``mosaic_sim.truth`` (``["mosaic"]``: layout), ``project.yaml`` beside it."""
    root = tmp_path_factory.mktemp("mosaic_sim")
    return simulate_preset("mosaic", root / "data_lmt", seed=19, tiles=MOSAIC_TILES)
