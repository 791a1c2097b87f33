"""A mosaic of 6 OTF tiles through the real workflow: the joint cube against the simulator's
truth (sources on tile edges and corners within a single map's tolerances, noise in the
overlaps vs the radiometer equation through the combined weights), and incremental re-runs
counted with real Snakemake dry runs (a 7th tile; the combination's own grid values).

Only the joint cube is made (``snakemake <cube>``): the per-tile cubes, QA plots and pages are
covered by the single-map tests; this keeps the test within the suite's time budget.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest
import yaml
from astropy.io import fits
from astropy.wcs import WCS

from lmtflow import layout
from lmtflow.calibration import pair_refs
from lmtflow.combination import combo_name
from lmtflow.gridding import GridGeometry, expected_noise_map, grid_selection, grid_spectra
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.kernels import Kernel
from lmtflow.pipeline.grid import map_origin, source_shift
from lmtflow.qa.stats import nan_std
from lmtflow.sim import mosaic, simulate
from lmtflow.sim.measure import fit_truth_sources
from lmtflow.workflow import run_snakemake

JOB = re.compile(r"^\s*(?:local)?rule (\w+):$", re.M)
WILDCARDS = re.compile(r"^\s+wildcards: (.*)$", re.M)


def _config(data_lmt, work, maps, grid=None):
    project = mosaic.mosaic_project(maps, data_lmt, work)
    if grid:
        project["sources"][mosaic.SOURCE_NAME]["combinations"][0]["grid"] = grid
    return project


def _cube_path(work, maps):
    name = combo_name(maps)
    return layout.path(work, layout.COMBO_CUBE, pid=mosaic.PROJECT_ID, combo=name,
                       src=mosaic.SOURCE_NAME, bank=0)  # fmt: skip


def _dry_run(tmp, config, target):
    cfg = tmp / "dry.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return run_snakemake(config["data_lmt"], config["work_lmt"], [], cores=2, directory=tmp,
                         configfile=cfg, targets=[target], extra_args=["-n"])  # fmt: skip


@pytest.fixture(scope="module")
def joint(mosaic_sim, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mosaic_run")
    work = tmp / "work"
    maps = mosaic.map_obsnums(mosaic_sim.truth["mosaic"]["tiles"])
    config = _config(mosaic_sim.data_lmt, work, maps)
    cube = _cube_path(work, maps)
    cfg = tmp / "project.yaml"
    cfg.write_text(yaml.safe_dump(config))
    run_snakemake(mosaic_sim.data_lmt, work, [], cores=2, directory=tmp, configfile=cfg,
                  targets=[cube])  # fmt: skip
    params = json.loads((cube.parent / "params" / "grid__0.json").read_text())
    return {"tmp": tmp, "work": work, "maps": maps, "config": config, "cube": cube,
            "params": params}  # fmt: skip


def test_sources_across_tile_edges_recovered(mosaic_sim, joint):
    data = fits.getdata(joint["cube"]).astype(np.float64)
    header = fits.getheader(joint["cube"])
    v = (header["CRVAL3"] + (np.arange(data.shape[0]) + 1 - header["CRPIX3"])
         * header["CDELT3"]) / 1e3  # fmt: skip
    wcs, p = WCS(header).celestial, joint["params"]
    assert p["center"] == pytest.approx([mosaic.CENTER[0], mosaic.CENTER[1]], abs=1e-6)
    lines = {ln["source"]: ln for ln in mosaic_sim.obs("map0")["banks"][0]["lines"]}
    sources = mosaic_sim.session("map0")["sky"]["sources"]
    assert {s["name"][:4] for s in sources} == {"tile", "edge", "corn"}
    dv = abs(header["CDELT3"]) / 1e3
    fits_ = fit_truth_sources(data, v, wcs, sources, lines, p)  # every source of the truth
    assert [f.name for f in fits_] == [s["name"] for s in sources]
    for f in fits_:
        err = f.deviations(dv)
        assert err["peak"] < 0.05, f"{f.name}: peak {f.peak_k:.3f} K vs {f.true_peak_k} K"
        assert err["position"] < 0.25, f"{f.name}: position off by {err['position']:.2f} cell"
        assert err["velocity"] < 0.5, f"{f.name}: velocity off by {err['velocity']:.2f} channel"
        assert err["width"] < 0.10, f"{f.name}: width {f.fwhm_kms:.2f} vs {f.true_fwhm_kms} km/s"


def _member_noise(sim, work, obsnum, p, origin):
    """Offsets, weights, ON noise and REF-noise groups of one tile's spectra, as gridded."""
    pid, fields = mosaic.PROJECT_ID, {"obsnum": obsnum, "bank": 0}
    with SDFITSReader(layout.path(work, layout.BASE_SDFITS, pid=pid, **fields)) as r:
        cols = r.columns(["FDNUM", "RMS", "LMTXOFF", "LMTYOFF", "INTNUM"])
        dx, dy = source_shift(r.header, origin)
    with SDFITSReader(layout.path(work, layout.RAW_SDFITS, pid=pid, **fields)) as r:
        bufpos = r.column("BUFPOS")[:: r.rows_per_dump]
    session = sim.session(obsnum)
    tsys = {b["pixel"]: b["tsys_k"] for b in session["beams"] if b["bank"] == 0}
    bank = sim.obs(obsnum)["banks"][0]
    radiometer = 1.0 / np.sqrt(bank["channel_width_hz"] * session["instrument"]["dump_time_s"])
    keep = grid_selection(cols["RMS"], cols["FDNUM"], p, obsnum)
    w = np.where(keep, 1.0 / cols["RMS"].astype(float) ** 2, 0.0)
    sigma = np.array([tsys[b] for b in cols["FDNUM"]]) * radiometer
    pairing = pair_refs(bufpos)  # REF noise: shared by the dumps of one beam and ON block
    block = np.searchsorted(pairing.on_runs[:, 0], cols["INTNUM"], side="right") - 1
    nref = pairing.ref_runs[:, 1] - pairing.ref_runs[:, 0] + 1
    ref_sigma = sigma * np.sqrt(0.25 * (1 / nref[pairing.before] + 1 / nref[pairing.after]))[block]
    group = (obsnum * 100 + cols["FDNUM"].astype(np.int64)) * 1000 + block
    return cols["LMTXOFF"] + dx, cols["LMTYOFF"] + dy, w, sigma, ref_sigma, group


def test_noise_in_overlaps_matches_radiometer_equation(mosaic_sim, joint):
    p, work = joint["params"], joint["work"]
    data = fits.getdata(joint["cube"]).astype(np.float64)
    header = fits.getheader(joint["cube"])
    v = (header["CRVAL3"] + (np.arange(data.shape[0]) + 1 - header["CRPIX3"])
         * header["CDELT3"]) / 1e3  # fmt: skip
    origin = map_origin({}, p)
    parts = [_member_noise(mosaic_sim, work, n, p, origin) for n in joint["maps"]]
    x, y, w, sigma, ref_sigma, group = (np.concatenate(a) for a in zip(*parts, strict=True))
    tile = np.concatenate([np.full(len(part[0]), k) for k, part in enumerate(parts)])
    geometry = GridGeometry.from_extent(p["extent"], p["cell"])
    kernel = Kernel.from_otf_select(p["otf_select"], p["otf_a"], p["otf_b"], p["otf_c"])
    args = (geometry, p["resolution"], kernel, p["rmax"], p["edge"])
    on_noise = expected_noise_map(x, y, w, sigma, *args)
    groups, gidx = np.unique(group, return_inverse=True)
    onehot = np.zeros((len(x), len(groups)), np.float32)
    onehot[np.arange(len(x)), gidx] = 1.0
    frac = grid_spectra(x, y, onehot, w, *args).cube  # each group's share of a cell
    ref_g = np.zeros(len(groups))
    ref_g[gidx] = ref_sigma
    expected = np.sqrt(on_noise**2 + np.nansum(frac**2 * (ref_g**2)[:, None, None], axis=0))
    # overlaps: cells where a second tile brings at least a quarter of the weight
    tiles = np.eye(len(parts), dtype=np.float32)[tile]
    share = np.sort(np.nan_to_num(grid_spectra(x, y, tiles, w, *args).cube), axis=0)
    overlap = share[-2] > 0.25
    line_free = np.ones(v.size, bool)
    for line in mosaic_sim.obs(joint["maps"][0])["banks"][0]["lines"]:
        line_free &= np.abs(v - line["vlsr_kms"]) > 2 * line["fwhm_kms"]
    measured = nan_std(data[line_free], axis=0)  # NaN outside the coverage
    weight = fits.getdata(str(joint["cube"]).replace(".fits", ".wt.fits"))
    inner = overlap & np.isfinite(expected) & (weight > 0.5 * np.nanmedian(weight[weight > 0]))
    assert inner.sum() > 100
    ratio = np.median(measured[inner] / expected[inner])
    assert ratio == pytest.approx(1.0, abs=0.10), f"{inner.sum()} overlap cells"


def _dry_run_jobs(tmp, config, target):
    """(rule -> job count, the ObsNums of the jobs) of a real Snakemake dry run."""
    proc = _dry_run(tmp, config, target)
    jobs = Counter(JOB.findall(proc.stdout + proc.stderr))
    obsnums = set()
    for text in WILDCARDS.findall(proc.stdout + proc.stderr):
        obsnums.update(int(n) for n in re.findall(r"obsnum=(\d+)", text))
    return jobs, obsnums


def test_another_tile_runs_its_chain_and_the_combination_only(mosaic_sim, joint, tmp_path):
    tiles = len(joint["maps"])
    extra = mosaic.mosaic_config(tiles + 1)
    extra["sessions"] = extra["sessions"][-1:]  # the next tile alone, into the same raw tree
    simulate(extra, mosaic_sim.data_lmt, seed=7, truth_dir=tmp_path / "truth")
    new_map = mosaic.map_obsnums(tiles + 1)[-1]
    maps = [*joint["maps"], new_map]
    config = _config(mosaic_sim.data_lmt, joint["work"], maps)
    jobs, obsnums = _dry_run_jobs(joint["tmp"], config, _cube_path(joint["work"], maps))
    assert obsnums == {new_map, new_map - 1}  # its Map and its Cal, no other tile
    assert jobs["ingest"] == 2 and jobs["calibrate"] == 1 and jobs["baseline"] == 1
    assert jobs["grid_combination"] == 1 and jobs["combo_params"] == 1


def test_combination_grid_edit_reruns_only_the_combination_grid(joint):
    data_lmt = joint["config"]["data_lmt"]
    config = _config(data_lmt, joint["work"], joint["maps"], grid={"resolution": 14.0})
    jobs, obsnums = _dry_run_jobs(joint["tmp"], config, joint["cube"])
    assert not obsnums
    assert dict(jobs) == {"combo_params": 1, "grid_combination": 1}
    unchanged, _ = _dry_run_jobs(joint["tmp"], joint["config"], joint["cube"])
    assert not unchanged
