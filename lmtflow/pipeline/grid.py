"""Grid: baselined SDFITS of one or more ObsNums -> cube and weight map (FITS).

Spectra of the beams in ``pix_list`` pass the robust RMS cut, get weights 1/RMS^2
(``noise_sigma = 1``) and are convolved onto the grid. Several inputs are gridded jointly
(never by averaging cubes); offsets of later inputs are shifted to the first one's centre.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..errors import ProductError
from ..gridding import DEFAULT_TILE, GridGeometry, grid_selection, grid_spectra
from ..io.cube import SpectralWCS, write_cube, write_plane
from ..io.sdfits_reader import SDFITSReader
from ..kernels import Kernel, KernelEvaluator, effective_beam_fwhm, lmt_beam_fwhm

log = logging.getLogger(__name__)

FRAMES = {0: "RADEC", 1: "RADEC", 2: "GALACTIC"}
STRIP_BYTES = 96 << 20  # spectra held in memory at once (one strip of map rows)
GATHER_BYTES = 16 << 20  # rows read per window when gathering a strip's spectra


def _load(path: str | Path, params: dict):
    """Header, position/RMS columns, kept rows and the (closed) reader: spectra stay on disk."""
    with SDFITSReader(path) as r:
        cols = r.columns(["FDNUM", "LMTXOFF", "LMTYOFF", "RMS", "TSYS"])
        keep = grid_selection(cols["RMS"], cols["FDNUM"], params, int(r.header["OBSNUM"]))
        return r.header, cols, keep, r


def _gather(readers: list[SDFITSReader], starts: NDArray, rows: NDArray) -> NDArray:
    """``DATA`` of the ascending global ``rows`` of the concatenated inputs, window by window."""
    out = np.empty((rows.size, readers[0].nchan), dtype=np.float32)
    which = np.searchsorted(starts, rows, side="right") - 1
    done = 0
    for k, r in enumerate(readers):
        local = rows[which == k] - starts[k]
        step = max(1, GATHER_BYTES // (4 * r.nchan))
        buf = np.empty((min(step, r.nrows), r.nchan), dtype=np.float32)
        i = 0
        while i < local.size:
            a = int(local[i])
            b = min(a + step, r.nrows)
            j = int(np.searchsorted(local, b))
            r.data(a, b, out=buf[: b - a])
            out[done + i : done + j] = buf[local[i:j] - a]
            i = j
        done += local.size
    return out


def _strips(row: NDArray, ny: int, reach: int, nchan: int) -> list[tuple[int, int]]:
    """Cell-row ranges (multiples of the gridder's tile) whose spectra fit ``STRIP_BYTES``."""
    per_row = np.bincount(np.clip(row + reach, 0, ny + 2 * reach), minlength=ny + 2 * reach + 1)
    cum = np.concatenate([[0], np.cumsum(per_row)])  # spectra with row < r - reach: cum[r]
    limit = max(1, STRIP_BYTES // (4 * nchan))
    strips, j0 = [], 0
    while j0 < ny:
        j1 = min(j0 + DEFAULT_TILE, ny)
        while j1 < ny and cum[min(j1 + DEFAULT_TILE, ny) + 2 * reach] - cum[j0] <= limit:
            j1 = min(j1 + DEFAULT_TILE, ny)
        strips.append((j0, j1))
        j0 = j1
    return strips


def _grid_strips(
    readers: list[SDFITSReader],
    starts: NDArray,
    x: NDArray,
    y: NDArray,
    w: NDArray,
    geometry: GridGeometry,
    resolution: float,
    kernel: Kernel,
    rmax: float,
    edge: int,
    threads: int | None,
) -> tuple[NDArray, NDArray, int]:
    """The cube, weight map and number of spectra used, gridded strip by strip of map rows.

    Each strip gets exactly the spectra whose kernel can reach it (read from disk), so memory
    is the cube plus one strip's spectra whatever the number of dumps; the tiles, and so
    the sums, are those of one call over the whole map.
    """
    g = geometry
    nchan = readers[0].nchan
    radius = KernelEvaluator(kernel, resolution, rmax, g.cell).radius
    nc = math.floor(radius / g.cell + 0.5 + 1e-9)  # the gridder's reach in cells
    finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    xf, yf = np.where(finite, x, 0.0), np.where(finite, y, 0.0)
    n_used = int(np.count_nonzero(finite & _reaches(g, xf, yf, nc)))
    reach = nc + 1  # one cell more: rounding can never drop a spectrum from its strip
    ok = finite & _reaches(g, xf, yf, reach)
    row = g.nearest_cell(xf, yf)[1]
    cube = np.empty((nchan, g.ny, g.nx), dtype=np.float32)
    weight = np.zeros(g.shape)
    for j0, j1 in _strips(row[ok], g.ny, reach, nchan):
        sel = np.flatnonzero(ok & (row >= j0 - reach) & (row < j1 + reach))
        sub = GridGeometry(g.cell, g.nx, j1 - j0, g.crpix_x, g.crpix_y - j0)
        part = grid_spectra(x[sel], y[sel], _gather(readers, starts, sel), w[sel], sub,
                            resolution, kernel, rmax, edge, threads)  # fmt: skip
        cube[:, j0:j1] = part.cube
        weight[j0:j1] = part.weight
    return cube, weight, n_used


def _reaches(g: GridGeometry, x: NDArray, y: NDArray, nc: int) -> NDArray[np.bool_]:
    """Spectra whose nearest cell is within ``nc`` cells of the map (the gridder's rule)."""
    col, row = g.nearest_cell(x, y)
    return (col >= -nc) & (col < g.nx + nc) & (row >= -nc) & (row < g.ny + nc)


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
    parts = [_load(p, params) for p in base_sdfits]
    order = np.argsort([int(part[0]["OBSNUM"]) for part in parts], kind="stable")
    parts = [parts[i] for i in order]  # the result must not depend on the order of the inputs
    base_sdfits = [base_sdfits[i] for i in order]
    hdr0 = parts[0][0]
    x0, y0 = float(hdr0["SRCXPOS"]), float(hdr0["SRCYPOS"])
    xs, ys, ws, readers = [], [], [], []
    for (hdr, cols, keep, reader), path in zip(parts, base_sdfits, strict=True):
        if hdr["NAXIS2"] and reader.nchan != parts[0][3].nchan:
            raise ProductError(f"{path}: {reader.nchan} channels, first input has "
                               f"{parts[0][3].nchan}")  # fmt: skip
        dx = (float(hdr["SRCXPOS"]) - x0) * np.cos(np.radians(y0)) * 3600.0
        dy = (float(hdr["SRCYPOS"]) - y0) * 3600.0
        xs.append(cols["LMTXOFF"] + dx)
        ys.append(cols["LMTYOFF"] + dy)
        rms = np.where(keep, cols["RMS"], 1.0).astype(np.float64)
        rho = 1.0 / rms**2 if int(params["noise_sigma"]) == 1 else np.ones_like(rms)
        ws.append(np.where(keep, rho, 0.0))  # weight 0 excludes a spectrum without a copy
        readers.append(reader)
        log.info("%s: %d of %d spectra pass pix_list and rms_cut", path, keep.sum(), keep.size)
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    starts = np.cumsum([0] + [r.nrows for r in readers])
    if not np.any(w > 0):
        names = ", ".join(map(str, base_sdfits))
        raise ProductError(
            f"no spectra left to grid in {names} after pix_list {params['pix_list']} "
            f"and rms_cut {params['rms_cut']}"
        )
    resolution, cell = float(params["resolution"]), float(params["cell"])
    extent = float(params["extent"])
    geometry = GridGeometry.from_extent(extent, cell)
    kernel = Kernel.from_otf_select(
        int(params["otf_select"]), params["otf_a"], params["otf_b"], params["otf_c"]
    )
    with contextlib.ExitStack() as stack:  # _load closed its readers; spectra are read here
        opened = [stack.enter_context(SDFITSReader(r.path)) for r in readers]
        cube, weight, n_used = _grid_strips(
            opened, starts, x, y, w, geometry, resolution, kernel, float(params["rmax"]),
            int(params["edge"]), threads,
        )  # fmt: skip
    blank_low_weight(cube, weight, float(params.get("min_weight", 0.0)))
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
        cube_out, cube, geometry, spectral=spectral, beam_fwhm_arcsec=beam,
        vlsr_kms=float(hdr0["VSOURCE"]), vsource_kms=float(hdr0["VSOURCE"]),
        nchan0=int(hdr0["NCHAN0"]), chan0=int(hdr0["CHAN0"]), obsnums=obsnums,
        extra={"NSPEC": (n_used, "spectra gridded")}, **common,
    )  # fmt: skip
    write_plane(weight_out, weight, geometry, bunit="K-2", beam_fwhm_arcsec=beam, **common)
    return Path(cube_out), Path(weight_out)
