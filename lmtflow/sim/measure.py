"""Point sources of the simulator's truth measured in a gridded cube (science checks).

Each source is fitted in a cut-out of the cube (cells within ``1.5 beam + 10"`` of its true
position, channels within 2.5 line widths of its velocity) with the gridded point-source
response (:func:`lmtflow.kernels.smoothed_beam`) times a Gaussian line: peak, pixel position,
velocity and width.

Blends. Where another source's response reaches into that cut-out (on a mosaic, a corner
source sits half a tile from the edge sources around it), the neighbours are fitted
*jointly* with it, every parameter free, over the union of their cut-outs; only the target's
numbers are reported. This is what an astronomer does with blended components: the truth
supplies start values only, never the neighbours' flux, so the measurement is the same one a
single map gets and stays able to fail (a wrong gain, position or velocity scale still shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from lmtflow.kernels import Kernel, smoothed_beam

FWHM_TO_SIGMA2 = 4.0 * np.log(2.0)
REACH_BEAMS = 2.0  # beyond this many beams from a cut-out a neighbour adds < 1e-3 of its peak


@dataclass(frozen=True)
class SourceFit:
    """One source's fitted values beside the truth (pixel positions in cube cells)."""

    name: str
    peak_k: float
    x: float
    y: float
    vlsr_kms: float
    fwhm_kms: float
    true_peak_k: float
    true_x: float
    true_y: float
    true_vlsr_kms: float
    true_fwhm_kms: float
    blended_with: tuple[str, ...]

    def deviations(self, channel_kms: float) -> dict[str, float]:
        """Relative peak, position (cells), velocity (channels) and relative width errors."""
        return {
            "peak": abs(self.peak_k / self.true_peak_k - 1.0),
            "position": float(np.hypot(self.x - self.true_x, self.y - self.true_y)),
            "velocity": abs(self.vlsr_kms - self.true_vlsr_kms) / channel_kms,
            "width": abs(self.fwhm_kms / self.true_fwhm_kms - 1.0),
        }


def _cut_radius(line: dict[str, Any]) -> float:
    return 1.5 * line["observed_fwhm_arcsec"] + 10.0


def fit_truth_sources(
    data: NDArray, v: NDArray, wcs: Any, sources: list[dict[str, Any]],
    lines: dict[str, dict[str, Any]], params: dict[str, Any], blends: bool = True,
) -> list[SourceFit]:  # fmt: skip
    """Fit every truth source in ``data`` (``[chan, y, x]``, velocities ``v`` km/s).

    ``sources``: the session's ``sky.sources``; ``lines``: the observation's bank lines by
    source name; ``params``: the cube's grid parameters (resolution, cell, kernel, rmax).
    ``blends=False`` fits every source alone (the one-source measurement, for comparison).
    """
    kernel = Kernel.from_otf_select(params["otf_select"], params["otf_a"], params["otf_b"],
                                    params["otf_c"])  # fmt: skip
    cell = params["cell"]
    pix = {s["name"]: tuple(float(a) for a in wcs.world_to_pixel_values(s["lon_deg"], s["lat_deg"]))
           for s in sources}  # fmt: skip
    tables: dict[str, tuple[NDArray, NDArray]] = {}
    for s in sources:
        fw = lines[s["name"]]["observed_fwhm_arcsec"]
        r = np.linspace(0, 6 * fw, 400)
        tables[s["name"]] = (r, smoothed_beam(r, fw, params["resolution"], kernel,
                                              params["rmax"], cell))  # fmt: skip
    jj, ii = np.mgrid[0 : data.shape[1], 0 : data.shape[2]]

    def dist(name: str) -> NDArray:
        return np.hypot(ii - pix[name][0], jj - pix[name][1]) * cell

    out = []
    for src in sources:
        name, line = src["name"], lines[src["name"]]
        reach = _cut_radius(line)
        blend = [s["name"] for s in sources if blends and s["name"] != name
                 and np.hypot(*np.subtract(pix[s["name"]], pix[name])) * cell
                 < reach + REACH_BEAMS * lines[s["name"]]["observed_fwhm_arcsec"]]  # fmt: skip
        members = [name, *blend]
        near = dist(name) < reach
        for other in blend:
            near |= dist(other) < _cut_radius(lines[other])
        chans = np.abs(v - line["vlsr_kms"]) < 2.5 * line["fwhm_kms"]
        obs = data[chans][:, near]
        good = np.isfinite(obs).all(axis=0)
        if good.sum() <= 20:
            raise ValueError(f"{name}: too few finite cells in the cube around the source")
        obs, xs, ys, vs = obs[:, good], ii[near][good], jj[near][good], v[chans]

        def model(q: NDArray, members: list[str] = members, xs=xs, ys=ys, vs=vs) -> NDArray:
            total = 0.0
            for k, m in enumerate(members):
                a, x0, y0, v0, fw = q[5 * k : 5 * k + 5]
                r_tab, resp = tables[m]
                spatial = np.interp(np.hypot(xs - x0, ys - y0) * cell, r_tab, resp, right=0.0)
                total = total + (a * np.exp(-FWHM_TO_SIGMA2 * ((vs - v0) / fw) ** 2)[:, None]
                                 * spatial[None, :])  # fmt: skip
            return total

        start = []
        for m in members:
            ln = lines[m]
            start += [ln["observed_peak_k"], *pix[m], ln["vlsr_kms"], ln["fwhm_kms"]]
        fit = least_squares(lambda q, obs=obs, model=model: (model(q) - obs).ravel(), start)
        a, x0, y0, v0, fw = (float(t) for t in fit.x[:5])
        fw = abs(fw)  # the line shape is even in the width
        out.append(SourceFit(name, a, x0, y0, v0, fw, line["observed_peak_k"], *pix[name],
                             line["vlsr_kms"], line["fwhm_kms"], tuple(blend)))  # fmt: skip
    return out
