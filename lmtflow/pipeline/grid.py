"""Grid: baselined SDFITS of one or more ObsNums -> cube and weight map (FITS).

Spectra of the beams in ``pix_list`` pass the robust RMS cut, get weights 1/RMS^2
(``noise_sigma = 1``) and are convolved onto the grid. Several inputs are gridded jointly
(never by averaging cubes); offsets of later inputs are shifted to the first one's centre.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ProductError
from ..gridding import GridGeometry, grid_spectra, rms_threshold
from ..io.cube import SpectralWCS, write_cube, write_plane
from ..io.sdfits_reader import SDFITSReader
from ..kernels import Kernel, effective_beam_fwhm, lmt_beam_fwhm

log = logging.getLogger(__name__)

FRAMES = {0: "RADEC", 1: "RADEC", 2: "GALACTIC"}


def _load(path: str | Path, beams: Sequence[int], params: dict):
    with SDFITSReader(path) as r:
        cols = r.columns(["FDNUM", "LMTXOFF", "LMTYOFF", "RMS", "TSYS"])
        keep = np.isin(cols["FDNUM"], beams)
        keep &= rms_threshold(cols["RMS"], cols["FDNUM"], float(params["rms_cut"]))
        keep &= np.isfinite(cols["RMS"]) & (cols["RMS"] > 0)
        data = r.data()
        return r.header, cols, keep, data


def blank_low_weight(cube: np.ndarray, weight: np.ndarray, fraction: float) -> int:
    """Blank (NaN) cells whose weight is below ``fraction`` of the median filled-cell weight.

    At the map edges the jinc kernel's negative sidelobes can nearly cancel a cell's weight sum
    and the normalised value explodes; LMTOY leaves such cells in. Returns the number blanked.
    """
    filled = np.isfinite(cube).any(axis=0) & (weight > 0)
    if fraction <= 0 or not filled.any():
        return 0
    low = filled & (weight < fraction * np.median(weight[filled]))
    cube[:, low] = np.nan
    return int(low.sum())


def grid_products(
    base_sdfits: Sequence[str | Path],
    cube_out: str | Path,
    weight_out: str | Path,
    params: dict,
    threads: int | None = None,
) -> tuple[Path, Path]:
    """Grid the baselined spectra of ``base_sdfits`` and write the cube and weight map."""
    beams = list(params["pix_list"])
    parts = [_load(p, beams, params) for p in base_sdfits]
    hdr0 = parts[0][0]
    x0, y0 = float(hdr0["SRCXPOS"]), float(hdr0["SRCYPOS"])
    xs, ys, ws, spectra = [], [], [], []
    for (hdr, cols, keep, data), path in zip(parts, base_sdfits, strict=True):
        if hdr["NAXIS2"] and data.shape[1] != parts[0][3].shape[1]:
            raise ProductError(f"{path}: {data.shape[1]} channels, first input has "
                               f"{parts[0][3].shape[1]}")  # fmt: skip
        dx = (float(hdr["SRCXPOS"]) - x0) * np.cos(np.radians(y0)) * 3600.0
        dy = (float(hdr["SRCYPOS"]) - y0) * 3600.0
        xs.append(cols["LMTXOFF"] + dx)
        ys.append(cols["LMTYOFF"] + dy)
        rms = np.where(keep, cols["RMS"], 1.0).astype(np.float64)
        rho = 1.0 / rms**2 if int(params["noise_sigma"]) == 1 else np.ones_like(rms)
        ws.append(np.where(keep, rho, 0.0))  # weight 0 excludes a spectrum without a copy
        spectra.append(data)
        log.info("%s: %d of %d spectra pass pix_list and rms_cut", path, keep.sum(), keep.size)
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    spec = spectra[0] if len(spectra) == 1 else np.concatenate(spectra)
    if not np.any(w > 0):
        raise ProductError(f"no spectra left to grid in {', '.join(map(str, base_sdfits))} "
                           f"after pix_list {beams} and rms_cut {params['rms_cut']}")  # fmt: skip
    resolution, cell = float(params["resolution"]), float(params["cell"])
    extent = float(params["extent"])
    geometry = GridGeometry.from_extent(extent, cell)
    kernel = Kernel.from_otf_select(
        int(params["otf_select"]), params["otf_a"], params["otf_b"], params["otf_c"]
    )
    gridded = grid_spectra(x, y, spec, w, geometry, resolution, kernel, float(params["rmax"]),
                           int(params["edge"]), threads)  # fmt: skip
    blank_low_weight(gridded.cube, gridded.weight, float(params.get("min_weight", 0.0)))
    beam = effective_beam_fwhm(
        resolution, kernel, float(params["rmax"]), lmt_beam_fwhm(float(hdr0["SKYFREQ"])), cell
    )
    frame = FRAMES[int(hdr0["MAPCOORD"])]
    obsnums = sorted({int(p[0]["OBSNUM"]) for p in parts})
    spectral = SpectralWCS(
        crval_ms=float(hdr0["VELO0"]) * 1e3,
        cdelt_ms=float(hdr0["DVDC"]) * 1e3,
        rest_freq_hz=float(hdr0["RESTFRQ"]),
        specsys="LSRK" if int(hdr0["VELSYS"]) == 0 else "BARYCENT",
    )
    common = dict(
        center_lon_deg=x0, center_lat_deg=y0, frame=frame, instrument=str(hdr0["INSTRUME"]),
        object_name=str(hdr0["SRCNAME"]), date_obs=str(hdr0["OBSSTART"]), params=params,
        history=[f"lmtflow {__version__} grid of {', '.join(Path(p).name for p in base_sdfits)}"],
    )  # fmt: skip
    write_cube(
        cube_out, gridded.cube, geometry, spectral=spectral, beam_fwhm_arcsec=beam,
        vlsr_kms=float(hdr0["VSOURCE"]), vsource_kms=float(hdr0["VSOURCE"]),
        nchan0=int(hdr0["NCHAN0"]), chan0=int(hdr0["CHAN0"]), obsnums=obsnums,
        extra={"NSPEC": (int(gridded.n_used), "spectra gridded")}, **common,
    )  # fmt: skip
    write_plane(weight_out, gridded.weight, geometry, bunit="K-2", beam_fwhm_arcsec=beam, **common)
    return Path(cube_out), Path(weight_out)
