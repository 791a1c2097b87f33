"""SEQUOIA OTF map end to end through the real workflow, checked against the simulator's truth.

Peaks, positions, velocities and widths come from one joint fit of every simulated source
(spatial response = the source seen by the beam, convolved with the gridding kernel; a
Gaussian line). The noise of line-free channels is compared with the radiometer equation
propagated through the actual gridding weights, including the REF noise that all dumps of an
ON block share.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy.optimize import least_squares

from lmtflow.calibration import pair_refs
from lmtflow.gridding import GridGeometry, expected_noise_map, grid_spectra, rms_threshold
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.kernels import Kernel, smoothed_beam
from lmtflow.qa.stats import nan_std


def _cube(path):
    data = fits.getdata(path).astype(np.float64)
    header = fits.getheader(path)
    v = header["CRVAL3"] + (np.arange(data.shape[0]) + 1 - header["CRPIX3"]) * header["CDELT3"]
    return data, header, v / 1e3


def test_sources_recovered(small_sim, reduced):
    data, header, v = _cube(reduced["cube"])
    wcs = WCS(header).celestial
    bank = small_sim.obs("map")["banks"][0]
    p = reduced["params"]
    kernel = Kernel.from_otf_select(p["otf_select"], p["otf_a"], p["otf_b"], p["otf_c"])
    lines = {ln["source"]: ln for ln in bank["lines"]}
    sources = small_sim.session("map")["sky"]["sources"]
    r_table = np.linspace(0, 6 * bank["beam_fwhm_arcsec"], 400)
    profiles, start = [], []
    for src in sources:
        line = lines[src["name"]]
        resp = smoothed_beam(r_table, line["observed_fwhm_arcsec"], p["resolution"], kernel,
                             p["rmax"], p["cell"])  # fmt: skip
        px, py = wcs.world_to_pixel_values(src["lon_deg"], src["lat_deg"])
        profiles.append(resp)
        start += [line["observed_peak_k"], float(px), float(py), line["vlsr_kms"],
                  line["fwhm_kms"]]  # fmt: skip
    jj, ii = np.mgrid[0 : data.shape[1], 0 : data.shape[2]]
    sel = (v > -80) & (v < 40)
    good = np.isfinite(data[sel]).all(axis=0)
    obs = data[sel][:, good]

    def model(q):
        out = np.zeros_like(obs)
        for k, resp in enumerate(profiles):
            a, x0, y0, v0, fw = q[5 * k : 5 * k + 5]
            r = np.hypot(ii[good] - x0, jj[good] - y0) * p["cell"]
            spatial = np.interp(r, r_table, resp, right=0.0)
            spectral = np.exp(-4 * np.log(2) * ((v[sel] - v0) / fw) ** 2)
            out += a * spectral[:, None] * spatial[None, :]
        return out

    fit = least_squares(lambda q: (model(q) - obs).ravel(), start)
    dv = abs(header["CDELT3"]) / 1e3
    for k, src in enumerate(sources):
        a, x0, y0, v0, fw = fit.x[5 * k : 5 * k + 5]
        line = lines[src["name"]]
        tx, ty = wcs.world_to_pixel_values(src["lon_deg"], src["lat_deg"])
        assert a == pytest.approx(line["observed_peak_k"], rel=0.05), src["name"]
        assert np.hypot(x0 - tx, y0 - ty) < 0.25, f"{src['name']} position off by a quarter cell"
        assert abs(v0 - line["vlsr_kms"]) < 0.5 * dv, src["name"]
        assert fw == pytest.approx(line["fwhm_kms"], rel=0.10), src["name"]


def _on_block_of_rows(raw_path, intnum):
    """ON-block index and REF dump counts before/after, for rows given their raw dump index."""
    with SDFITSReader(raw_path) as r:
        bufpos = r.column("BUFPOS")[:: r.rows_per_dump]
    pairing = pair_refs(bufpos)
    block = np.searchsorted(pairing.on_runs[:, 0], intnum, side="right") - 1
    nref = pairing.ref_runs[:, 1] - pairing.ref_runs[:, 0] + 1
    return block, nref[pairing.before], nref[pairing.after]


def test_noise_matches_radiometer_equation(small_sim, reduced):
    data, header, v = _cube(reduced["cube"])
    p = reduced["params"]
    truth_obs = small_sim.obs("map")
    bank = truth_obs["banks"][0]
    tsys = {b["pixel"]: b["tsys_k"] for b in small_sim.session("map")["beams"] if b["bank"] == 0}
    dump_time = small_sim.session("map")["instrument"]["dump_time_s"]
    with SDFITSReader(reduced["base"]) as r:
        cols = r.columns(["FDNUM", "RMS", "LMTXOFF", "LMTYOFF", "INTNUM"])
    keep = np.isin(cols["FDNUM"], p["pix_list"]) & rms_threshold(
        cols["RMS"], cols["FDNUM"], p["rms_cut"]
    )
    w = np.where(keep, 1.0 / cols["RMS"].astype(float) ** 2, 0.0)
    t_beam = np.array([tsys[b] for b in cols["FDNUM"]])
    radiometer = 1.0 / np.sqrt(bank["channel_width_hz"] * dump_time)
    geometry = GridGeometry.from_extent(p["extent"], p["cell"])
    kernel = Kernel.from_otf_select(p["otf_select"], p["otf_a"], p["otf_b"], p["otf_c"])
    args = (geometry, p["resolution"], kernel, p["rmax"], p["edge"])
    on_noise = expected_noise_map(cols["LMTXOFF"], cols["LMTYOFF"], w, t_beam * radiometer, *args)
    # REF noise: common to every dump of one beam in one ON block.
    block, n_before, n_after = _on_block_of_rows(reduced["raw"], cols["INTNUM"])
    group = cols["FDNUM"].astype(int) * 1000 + block
    groups, gidx = np.unique(group, return_inverse=True)
    onehot = np.zeros((len(cols["FDNUM"]), len(groups)), np.float32)
    onehot[np.arange(len(gidx)), gidx] = 1.0
    frac = grid_spectra(cols["LMTXOFF"], cols["LMTYOFF"], onehot, w, *args).cube
    sigma_ref = np.zeros(len(groups))
    sigma_ref[gidx] = t_beam * radiometer * np.sqrt(0.25 * (1 / n_before + 1 / n_after))[block]
    ref_var = np.nansum(frac**2 * (sigma_ref**2)[:, None, None], axis=0)
    expected = np.sqrt(on_noise**2 + ref_var)

    line_free = np.ones(v.size, bool)
    for line in bank["lines"]:
        line_free &= np.abs(v - line["vlsr_kms"]) > 2 * line["fwhm_kms"]
    measured = nan_std(data[line_free], axis=0)  # NaN outside the coverage
    weight = fits.getdata(str(reduced["cube"]).replace(".fits", ".wt.fits"))
    inner = np.isfinite(expected) & (weight > 0.5 * np.nanmedian(weight[weight > 0]))
    ratio = np.median(measured[inner] / expected[inner])
    assert inner.sum() > 50
    assert ratio == pytest.approx(1.0, abs=0.10)


def test_cube_reads_in_spectral_cube(reduced):
    from spectral_cube import SpectralCube

    cube = SpectralCube.read(reduced["cube"])
    assert cube.unit.to_string() == "K"
    assert cube.spectral_axis.unit.to_string() == "m / s"
    assert cube.header["SPECSYS"] == "LSRK"
    assert cube.beam.major.to("arcsec").value > 11
    assert str(reduced["obsnum"]) in cube.header["OBSNUMS"]
    hist = "".join(str(h) for h in fits.getheader(reduced["cube"])["HISTORY"])
    assert "b_order" not in hist and "resolution" in hist  # grid parameters recorded
