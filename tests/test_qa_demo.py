"""QA numbers of the README demo's map (``lmtflow demo``: the ``demo`` preset, seed 1, its
config) against the simulator's truth: the peak is the line's, not a noisy edge cell's; the noise
histogram is a unit Gaussian over the well-weighted cells, without a pile-up bin; moment 1 is the
rotating ring's velocity where the line is and blank elsewhere; the QA run warns of nothing.

The map is reduced once in process (the library calls the workflow's rules make) and its QA
stage is the workflow's own (:func:`lmtflow.qa.run.map_stage`). The truth cube is the sum of the
simulated sources as the beam and the gridding kernel see them, with their Gaussian lines.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from astropy.io import fits

import lmtflow
from lmtflow.demo import DEMO_CONFIG
from lmtflow.kernels import Kernel, smoothed_beam
from lmtflow.qa.maps import (
    INTERIOR_WEIGHT_FRACTION,
    MOMENT_PEAK_SNR,
    MapQA,
    channel_masks,
    interior_mask,
    noise_snr,
    read_cube,
)
from lmtflow.qa.plots_map import SNR_RANGE, noise_histogram
from lmtflow.qa.registry import plots_for
from lmtflow.qa.run import map_stage
from lmtflow.sim import simulate_preset

PLANES = ("mom0", "mom1", "mom2", "peak", "rms", "radiometer")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa_demo")
    sim = simulate_preset("demo", root / "data_lmt", seed=1)  # lmtflow demo's seed
    obs = lmtflow.load(sim.labels["map"], data_lmt=sim.data_lmt, work=root / "work",
                       config=DEMO_CONFIG)  # fmt: skip
    base = obs.calibrate().baseline()
    cube = base.grid()
    params = {"baseline": base.params, "grid": cube.params}
    for step, p in params.items():
        (root / f"{step}__0.json").write_text(json.dumps(p, sort_keys=True))
    planes = {k: root / f"{k}.fits" for k in PLANES}
    plots = {p.name: root / f"{p.name}.png" for p in plots_for("map", "cube")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        map_stage(cube.path, cube.weight_path, base.path, sorted(root.glob("*__0.json")), planes,
                  plots, root / "cube.json")  # fmt: skip
    data = read_cube(cube.path, cube.weight_path)
    return {
        "sim": sim,
        "data": data,
        "header": fits.getheader(cube.path),
        "params": params,
        "planes": {k: fits.getdata(v) for k, v in planes.items()},
        "qa": json.loads((root / "cube.json").read_text())["cube"],
        "warnings": [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                     for w in caught],  # fmt: skip
        "truth": _truth_cube(sim, data, fits.getheader(cube.path), params["grid"]),
    }


def _offsets(header, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Sky offsets (arcsec, x east) of every cell, (ny, nx) each."""
    x = -(np.arange(header["NAXIS1"]) + 1 - header["CRPIX1"]) * cell
    y = (np.arange(header["NAXIS2"]) + 1 - header["CRPIX2"]) * cell
    yy, xx = np.meshgrid(y, x, indexing="ij")
    return xx, yy


def _truth_cube(sim, data, header, p) -> dict:
    """The noiseless cube: every source seen by the beam and the gridding kernel, with its line."""
    bank = sim.obs("map")["banks"][0]
    sources = {s["name"]: s for s in sim.session("map")["sky"]["sources"]}
    kernel = Kernel.from_otf_select(p["otf_select"], p["otf_a"], p["otf_b"], p["otf_c"])
    xx, yy = _offsets(header, p["cell"])
    r_table = np.linspace(0.0, 600.0, 3000)
    cube = np.zeros(data.cube.shape, np.float32)
    for line in bank["lines"]:
        s = sources[line["source"]]
        resp = smoothed_beam(r_table, line["observed_fwhm_arcsec"], p["resolution"], kernel,
                             p["rmax"], p["cell"])  # fmt: skip
        r = np.hypot(xx - s["dx_arcsec"], yy - s["dy_arcsec"])
        spatial = line["observed_peak_k"] * np.interp(r, r_table, resp, right=0.0)
        spectral = np.exp(-4 * np.log(2) * ((data.velocity - line["vlsr_kms"])
                                            / line["fwhm_kms"]) ** 2)  # fmt: skip
        cube += (spectral[:, None, None] * spatial[None]).astype(np.float32)
    return {"cube": cube, "peak": cube.max(axis=0), "lines": bank["lines"], "sources": sources,
            "xx": xx, "yy": yy}  # fmt: skip


def test_demo_qa_run_warns_of_nothing(demo):
    assert demo["warnings"] == []
    assert demo["qa"]["interior_weight_fraction"] == INTERIOR_WEIGHT_FRACTION


def test_demo_peak_is_the_lines_not_an_edge_cell(demo):
    qa, truth, data = demo["qa"], demo["truth"], demo["data"]
    interior, edge = interior_mask(data.weight)
    assert (qa["ncells_interior"], qa["ncells_edge"]) == (interior.sum(), edge.sum())
    # the peak's cell: interior, on one of the brightest clumps of the truth
    xx, yy = truth["xx"], truth["yy"]
    px, py = qa["peak_offset_arcsec"]
    j, i = np.unravel_index(np.argmin(np.hypot(xx - px, yy - py)), xx.shape)
    assert interior[j, i]
    top = truth["peak"][interior].max()
    assert truth["peak"][j, i] > 0.9 * top, (truth["peak"][j, i], top)
    # its value: the truth's brightest voxel plus at most the largest noise excursion among the
    # line's brightest voxels (a few hundred: ~3 sigma), never the edge's noise
    sigma = float(demo["planes"]["radiometer"][j, i])
    assert top - sigma < qa["peak_K"] < top + 4.5 * sigma, (qa["peak_K"], top, sigma)
    # the thinly covered edge holds higher noise peaks: reported apart, not as the peak
    assert qa["peak_edge_K"] > qa["peak_K"]
    assert qa["rms_edge_mK"] > 1.5 * qa["rms_interior_mK"]


def test_demo_noise_is_a_unit_gaussian_over_well_weighted_cells(demo):
    data, planes, qa = demo["data"], demo["planes"], demo["qa"]
    regions = demo["params"]["baseline"]["b_regions"]
    snr = noise_snr(data, planes, regions)
    window, _ = channel_masks(data.velocity, regions)
    interior, _ = interior_mask(data.weight)
    cells = interior & np.isfinite(planes["radiometer"])
    assert snr.size == window.sum() * cells.sum()  # only the well-weighted cells
    assert qa["noise_snr_rms"] == pytest.approx(1.0, abs=0.03)
    assert qa["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.1)
    # the histogram the PI sees: every bin within Poisson noise of the unit Gaussian, the end
    # bins too (values beyond the range are counted in the legend, not piled into a bin)
    fig = noise_histogram(MapQA(data, planes, regions, "bank 0"))
    counts = np.array([bar.get_height() for bar in fig.axes[0].patches])
    edges = np.linspace(-SNR_RANGE, SNR_RANGE, counts.size + 1)
    x = 0.5 * (edges[1:] + edges[:-1])
    gauss = snr.size * np.diff(edges) / np.sqrt(2 * np.pi) * np.exp(-0.5 * x**2)
    z = (counts - gauss) / np.sqrt(gauss + 1)
    assert np.abs(z).max() < 4.5, (x[np.argmax(np.abs(z))], np.abs(z).max())
    assert counts[0] + counts[-1] <= 2
    assert counts.sum() == np.count_nonzero(np.abs(snr) <= SNR_RANGE)


def test_demo_moment1_is_the_rotation_where_the_line_is_and_blank_elsewhere(demo):
    planes, truth, data = demo["planes"], demo["truth"], demo["data"]
    mom1 = planes["mom1"]
    shown = np.isfinite(mom1)
    assert np.array_equal(shown, np.isfinite(planes["mom2"]))
    truth_snr = truth["peak"] / planes["radiometer"]
    # where the truth's line stands well above the rule's threshold, moment 1 is shown (the
    # demo's clumps reach S/N ~10 per channel) ...
    sure = truth_snr > 1.5 * MOMENT_PEAK_SNR
    assert sure.sum() > 20 and shown[sure].all()
    # ... and it is blank where there is no line: a pure-noise cell passes the rule (a 5 sigma
    # channel among the line window's) about once per map, expected n = cells x channels x
    # P(z > 5)
    _, line = channel_masks(data.velocity, demo["params"]["baseline"]["b_regions"])
    filled = np.isfinite(planes["radiometer"])
    no_line = filled & (truth_snr < 1)
    expected = no_line.sum() * line.sum() * 2.9e-7
    assert (shown & no_line).sum() <= max(3, 3 * expected), ((shown & no_line).sum(), expected)
    # the ring's velocity at each clump and the nucleus: within a third of the clump's line
    # width (the disk's faint broad line under it widens the moment's run on one side or the
    # other, by noise), while neighbouring clumps differ by 15-60 km/s
    xx, yy = truth["xx"], truth["yy"]
    for ln in truth["lines"]:
        if ln["source"] == "disk":
            continue
        s = truth["sources"][ln["source"]]
        j, i = np.unravel_index(np.argmin(np.hypot(xx - s["dx_arcsec"], yy - s["dy_arcsec"])),
                                xx.shape)  # fmt: skip
        assert abs(mom1[j, i] - ln["vlsr_kms"]) < ln["fwhm_kms"] / 3, (ln["source"], mom1[j, i])
