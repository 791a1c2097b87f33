"""Grid: baselined SDFITS of one or more ObsNums -> cube and weight map (FITS).

Spectra of the beams in ``pix_list`` pass the robust RMS cut, get weights 1/RMS^2
(``noise_sigma = 1``) and are convolved onto the grid. Several inputs are gridded jointly
(never by averaging cubes); offsets are shifted to the first one's centre, or to a mosaic's
``center``. Memory does not grow with the inputs or the field: spectra are read block by block
of cells (``BLOCK_BYTES``) and the cube is written strip by strip of map rows
(``STRIP_BYTES``, :mod:`lmtflow.io.cube_file`), never held whole.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..errors import ProductError
from ..flags.apply import fill_mode, product_flag_keywords, select_flags
from ..grid_geometry import GridGeometry
from ..grid_selection import grid_selection
from ..gridding import DEFAULT_TILE, grid_spectra, keep_scratch, resolve_threads
from ..io.cube import SpectralWCS, cube_header, write_plane
from ..io.cube_file import CubeFile, cube_file
from ..io.sdfits_reader import SDFITSReader
from ..kernels import Kernel, KernelEvaluator, effective_beam_fwhm, lmt_beam_fwhm
from .grid_read import WINDOW_BYTES, DataRows, gather

log = logging.getLogger(__name__)

FRAMES = {0: "RADEC", 1: "RADEC", 2: "GALACTIC"}
BLOCK_BYTES = 48 << 20  # spectra held in memory at once (one block of map cells)
STRIP_BYTES = 8 << 20  # cube held in memory at once (a strip of map rows, every channel)


def _load(path: str | Path, params: dict, auto_flags: Sequence[str | Path] = ()):
    """Header, position/RMS columns, kept rows and the (closed) reader: spectra stay on disk.
    The reader keeps the resolved flags (``flag_mask``) for the channels _DataRows blanks."""
    with SDFITSReader(path) as r:
        cols = r.columns(["FDNUM", "LMTXOFF", "LMTYOFF", "RMS"])
        keep = grid_selection(cols["RMS"], cols["FDNUM"], params, int(r.header["OBSNUM"]))
        flagged, r.flag_mask = select_flags(r, params, auto_flags)  # lmtflow.flags
        r.flag_fill = fill_mode(params, int(r.header["OBSNUM"]))
        if flagged is not None:
            keep &= ~flagged
        return r.header, cols, keep, r


def source_shift(header: Mapping[str, Any], first_header: Mapping[str, Any]) -> tuple[float, float]:
    """Offset (arcsec, x east) of an input's source position from the first input's: what is
    added to its ``LMTXOFF``/``LMTYOFF`` when several ObsNums are gridded on one map."""
    x0, y0 = float(first_header["SRCXPOS"]), float(first_header["SRCYPOS"])
    dx = (float(header["SRCXPOS"]) - x0) * np.cos(np.radians(y0)) * 3600.0
    return dx, (float(header["SRCYPOS"]) - y0) * 3600.0


def map_origin(first_header: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, float]:
    """The position (deg) a map's offsets refer to, as ``SRCXPOS``/``SRCYPOS``: a mosaic's
    ``center`` (:func:`lmtflow.params.combination_params`) or the first input's source."""
    lon, lat = params.get("center") or (first_header["SRCXPOS"], first_header["SRCYPOS"])
    return {"SRCXPOS": float(lon), "SRCYPOS": float(lat)}


def _blocks(
    col: NDArray, row: NDArray, g: GridGeometry, reach: int, nchan: int
) -> tuple[list[tuple[int, int, int, int]], int]:
    """Cell blocks ``(j0, j1, i0, i1)`` whose spectra (nearest cell within ``reach``) fit
    ``BLOCK_BYTES``, and the most spectra of one block.

    Strips of map rows (every channel of a strip within ``STRIP_BYTES``, or one tile high),
    each cut into columns as wide as fit; of the strip heights that fit, the one reading the
    fewest spectra per cell (the margins are read again by the next block). Edges fall on the
    gridder's tiles, so each tile sees the spectra, in the order, of one call over the whole
    map.
    """
    t = DEFAULT_TILE
    tallest = max(t, STRIP_BYTES // (4 * nchan * g.nx) // t * t)
    limit = max(1, BLOCK_BYTES // (4 * nchan))
    ney, nex = g.ny + 2 * reach, g.nx + 2 * reach
    counts = np.bincount((row + reach) * nex + col + reach, minlength=ney * nex)
    cum = np.zeros((ney + 1, nex + 1), np.int64)
    cum[1:, 1:] = counts.reshape(ney, nex).cumsum(0).cumsum(1)

    def n(j0: int, j1: int, i0: int, i1: int) -> int:
        r1, c1 = j1 + 2 * reach, i1 + 2 * reach
        return int(cum[r1, c1] - cum[j0, c1] - cum[r1, i0] + cum[j0, i0])

    def cut(j0: int, j1: int) -> list[tuple[int, int, int, int]]:
        out, i0 = [], 0
        while i0 < g.nx:
            i1 = min(i0 + t, g.nx)
            while i1 < g.nx and n(j0, j1, i0, min(i1 + t, g.nx)) <= limit:
                i1 = min(i1 + t, g.nx)
            out.append((j0, j1, i0, i1))
            i0 = i1
        return out

    blocks: list[tuple[int, int, int, int]] = []
    j0 = 0
    while j0 < g.ny:
        best: tuple[float, list] | None = None
        for j1 in range(j0 + t, g.ny + t, t):
            strip = cut(j0, min(j1, g.ny))
            if best is not None and any(n(*b) > limit for b in strip):
                break  # taller strips do not fit either
            cost = sum(n(*b) for b in strip) / (min(j1, g.ny) - j0)
            if best is None or cost < best[0]:
                best = (cost, strip)
            if j1 >= g.ny or j1 - j0 >= tallest:
                break
        blocks += best[1]
        j0 = best[1][0][1]
    return blocks, max(n(*b) for b in blocks)


@dataclass
class _BlockPlan:
    """The spectra that can reach the map (rows ``ok`` of the inputs, their nearest cells) and
    the blocks of cells they are gridded in."""

    ok: NDArray[np.int64]
    col: NDArray[np.int32]
    row: NDArray[np.int32]
    reach: int
    blocks: list[tuple[int, int, int, int]]
    most: int  # spectra of the largest block
    n_used: int  # spectra the gridder uses (its own reach)

    @classmethod
    def build(cls, x, y, w, g: GridGeometry, radius: float, nchan: int) -> _BlockPlan:
        nc = math.floor(radius / g.cell + 0.5 + 1e-9)  # the gridder's reach in cells
        finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
        col, row = g.nearest_cell(np.where(finite, x, 0.0), np.where(finite, y, 0.0))
        n_used = int(np.count_nonzero(finite & _within(g, col, row, nc)))
        reach = nc + 1  # one cell more: rounding can never drop a spectrum from its block
        ok = np.flatnonzero(finite & _within(g, col, row, reach))
        del finite  # per-spectrum arrays kept while gridding: x, y, w, ok and int32 col, row
        col, row = col[ok].astype(np.int32), row[ok].astype(np.int32)
        blocks, most = _blocks(col, row, g, reach, nchan)
        if most * 4 * nchan > BLOCK_BYTES:
            log.warning("one block of %d x %d cells holds %d spectra (%.0f MB): over the %.0f "
                        "MB budget", DEFAULT_TILE, DEFAULT_TILE, most, most * 4 * nchan / 1e6,
                        BLOCK_BYTES / 1e6)  # fmt: skip
        return cls(ok, col, row, reach, blocks, most, n_used)


def _grid_blocks(
    plan: _BlockPlan,
    files: list[DataRows],
    starts: NDArray,
    x: NDArray,
    y: NDArray,
    w: NDArray,
    geometry: GridGeometry,
    gridder: dict[str, Any],
    out: CubeFile,
) -> tuple[NDArray, NDArray]:
    """Grid block by block of cells into ``out``, a strip of map rows at a time; return the
    weight map and the cells with data in some channel.

    Each block gets exactly the spectra whose kernel can reach it (read from disk), so memory
    is one block's spectra (``BLOCK_BYTES``, unless the spectra reaching one tile of
    ``DEFAULT_TILE`` cells a side exceed it: then a warning), one strip of the cube
    (``STRIP_BYTES``, at least one tile high), the gridder's fixed per-thread chunk buffers
    and ~40 bytes per input spectrum, however many inputs and however large the field; the
    tiles and their chunks, and so the sums, are those of one call over the whole map.
    ``gridder``: :func:`lmtflow.gridding.grid_spectra`'s resolution, kernel, rmax, edge and
    threads.
    """
    g, nchan, reach, ok, col, row = geometry, out.shape[0], plan.reach, plan.ok, plan.col, plan.row
    buf = np.empty((plan.most, nchan), np.float32)  # one buffer for every block
    tallest = max(j1 - j0 for j0, j1, _, _ in plan.blocks)
    strips = np.empty(nchan * tallest * g.nx, np.float32)
    nwork = resolve_threads(gridder["threads"])
    window = max(WINDOW_BYTES, *(f.rowbytes for f in files))
    reads = [np.empty(window, np.uint8) for _ in range(nwork)]
    weight = np.zeros(g.shape)
    filled = np.zeros(g.shape, dtype=bool)
    with keep_scratch(), ThreadPoolExecutor(max_workers=nwork) as pool:
        for (j0, j1), cells in itertools.groupby(plan.blocks, key=lambda b: b[:2]):
            strip = strips[: nchan * (j1 - j0) * g.nx].reshape(nchan, j1 - j0, g.nx)
            for _, _, i0, i1 in cells:
                near = (row >= j0 - reach) & (row < j1 + reach)
                near &= (col >= i0 - reach) & (col < i1 + reach)
                sel = ok[near]
                spectra = buf[: sel.size]
                cuts = np.linspace(0, sel.size, nwork + 1).astype(int)  # threads read in parallel
                jobs = [
                    pool.submit(gather, files, starts, sel[a:b], spectra[a:b], reads[k])
                    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
                ]
                for job in jobs:
                    job.result()
                sub = GridGeometry(g.cell, i1 - i0, j1 - j0, g.crpix_x - i0, g.crpix_y - j0)
                part = grid_spectra(x[sel], y[sel], spectra, w[sel], sub, **gridder,
                                    out=strip[:, :, i0:i1])  # fmt: skip
                weight[j0:j1, i0:i1] = part.weight
            filled[j0:j1] = np.isfinite(strip).any(axis=0)
            out.write_rows(j0, strip)
    return weight, filled


def _within(g: GridGeometry, col: NDArray, row: NDArray, nc: int) -> NDArray[np.bool_]:
    """Spectra whose nearest cell is within ``nc`` cells of the map (the gridder's rule)."""
    return (col >= -nc) & (col < g.nx + nc) & (row >= -nc) & (row < g.ny + nc)


def low_weight_cells(filled: NDArray, weight: NDArray, fraction: float) -> NDArray[np.bool_]:
    """Cells with data whose weight is below ``fraction`` of the median filled-cell weight.

    At the map edges the jinc kernel's negative sidelobes can nearly cancel a cell's weight sum
    and the normalised value explodes; LMTOY leaves such cells in, we blank them.
    """
    filled = filled & (weight > 0)
    if fraction <= 0 or not filled.any():
        return np.zeros(weight.shape, dtype=bool)
    return filled & (weight < fraction * np.median(weight[filled]))


def blank_low_weight(cube: np.ndarray, weight: np.ndarray, fraction: float) -> int:
    """Blank (NaN) the :func:`low_weight_cells` of an in-memory cube; return how many."""
    low = low_weight_cells(np.isfinite(cube).any(axis=0), weight, fraction)
    cube[:, low] = np.nan
    return int(low.sum())


def _blank_rows(out: CubeFile, low: NDArray[np.bool_], rows: int) -> int:
    """Blank the ``low`` cells of a cube file, reading back ``rows`` rows at a time."""
    for j0 in range(0, low.shape[0], rows):
        j1 = min(j0 + rows, low.shape[0])
        if low[j0:j1].any():
            strip = out.read_rows(j0, j1)
            strip[:, low[j0:j1]] = np.nan
            out.write_rows(j0, strip)
    return int(low.sum())


def _positions_weights(
    hdr: Mapping[str, Any], hdr0: Mapping[str, Any], cols: dict, keep: NDArray, params: dict
) -> tuple[NDArray, NDArray, NDArray]:
    """Offsets (arcsec, on the first input's centre) and weights of one input's spectra."""
    dx, dy = source_shift(hdr, hdr0)
    rms = np.where(keep, cols["RMS"], 1.0).astype(np.float64)
    rho = 1.0 / rms**2 if int(params["noise_sigma"]) == 1 else np.ones_like(rms)
    w = np.where(keep, rho, 0.0)  # weight 0 excludes a spectrum without a copy
    return cols["LMTXOFF"] + dx, cols["LMTYOFF"] + dy, w


def grid_products(
    base_sdfits: Sequence[str | Path],
    cube_out: str | Path,
    weight_out: str | Path,
    params: dict,
    threads: int | None = None,
    auto_flags: Sequence[str | Path] = (),
) -> tuple[Path, Path]:
    """Grid the baselined spectra of ``base_sdfits`` and write the cube and weight map
    (``auto_flags``: the generated auto-flag files of the inputs, lmtflow.flags.auto; each
    input takes the rules found in its own ObsNum and bank, so a combination applies every
    member's automatic flags)."""
    parts = [_load(p, params, list(auto_flags)) for p in base_sdfits]
    order = np.argsort([int(part[0]["OBSNUM"]) for part in parts], kind="stable")
    parts = [parts[i] for i in order]  # the result must not depend on the order of the inputs
    base_sdfits = [base_sdfits[i] for i in order]
    hdr0 = parts[0][0]
    origin = map_origin(hdr0, params)
    x0, y0 = origin["SRCXPOS"], origin["SRCYPOS"]
    xs, ys, ws, readers = [], [], [], []
    for (hdr, cols, keep, reader), path in zip(parts, base_sdfits, strict=True):
        if hdr["NAXIS2"] and reader.nchan != parts[0][3].nchan:
            raise ProductError(f"{path}: {reader.nchan} channels, first input has "
                               f"{parts[0][3].nchan}")  # fmt: skip
        for out, values in zip((xs, ys, ws), _positions_weights(hdr, origin, cols, keep, params),
                               strict=True):  # fmt: skip
            out.append(values)
        readers.append(reader)
        log.info("%s: %d of %d spectra pass pix_list and rms_cut", path, keep.sum(), keep.size)
    x, y, w = (a[0] if len(a) == 1 else np.concatenate(a) for a in (xs, ys, ws))
    del xs, ys, ws
    for part in parts:
        part[1].clear()  # the columns are no longer needed: less memory while gridding
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
    rmax = float(params["rmax"])
    nchan = readers[0].nchan
    with ThreadPoolExecutor(max_workers=1) as pool:  # the beam is computed meanwhile
        beam_job = pool.submit(effective_beam_fwhm, resolution, kernel, rmax,
                               lmt_beam_fwhm(float(hdr0["SKYFREQ"])), cell)  # fmt: skip
        radius = KernelEvaluator(kernel, resolution, rmax, cell).radius
        plan = _BlockPlan.build(x, y, w, geometry, radius, nchan)
        beam = beam_job.result()
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
    header = cube_header(
        geometry, spectral=spectral, beam_fwhm_arcsec=beam,
        vlsr_kms=float(hdr0["VSOURCE"]), vsource_kms=float(hdr0["VSOURCE"]),
        nchan0=int(hdr0["NCHAN0"]), chan0=int(hdr0["CHAN0"]), obsnums=obsnums,
        extra={"NSPEC": (plan.n_used, "spectra gridded"), **product_flag_keywords(hdr0, params)},
        **common,
    )  # fmt: skip
    gridder = dict(resolution_arcsec=resolution, kernel=kernel, rmax=rmax,
                   edge=int(params["edge"]), threads=threads)  # fmt: skip
    files = [DataRows(r) for r in readers]  # _load closed its readers; spectra are read here
    try:
        with cube_file(cube_out, header, (nchan, *geometry.shape)) as out:
            weight, filled = _grid_blocks(plan, files, starts, x, y, w, geometry, gridder, out)
            low = low_weight_cells(filled, weight, float(params.get("min_weight", 0.0)))
            _blank_rows(out, low, max(1, STRIP_BYTES // (4 * nchan * geometry.nx)))
    finally:
        for f in files:
            f.close()
    write_plane(weight_out, weight, geometry, bunit="K-2", beam_fwhm_arcsec=beam, **common)
    return Path(cube_out), Path(weight_out)
