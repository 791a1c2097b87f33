"""Convolution gridding of OTF spectra onto a regular map (lmtslr ``spec_driver_fits``).

Pure arrays in, arrays out: positions are offsets in arcsec from the map centre, ``x``
increasing to the EAST (RA or l increasing, lmtslr's ``XPos``) and ``y`` to the north. The
returned planes and cube are already in FITS order: ``cube[k, j, i]`` with column ``i = 0`` the
largest ``+x`` (FITS pixel 1 is east, ``CDELT1 < 0``) and row ``j = 0`` the most southern.

Every cell is ``sum_i w_i s_i / sum_i w_i`` with ``w_i = K(|p_i - c|) rho_i``, ``K`` the kernel
(``lmtflow.kernels``) and ``rho_i`` the spectrum weight (``1/RMS**2`` for LMTOY's
``noise_sigma = 1``).

Implementation: the map is cut into square tiles of cells; for each tile the spectra whose
nearest cell is within the kernel reach are gathered (spectra are indexed by nearest cell
once) and taken in chunks of ``DEFAULT_CHUNK``, in a fixed order: for each chunk the dense
(cells x chunk) weight matrix of the tile is evaluated and multiplied by the gathered spectra
with a float32 BLAS ``gemm``; the products and weight sums are accumulated in float64. Tiles
are shared between threads (BLAS, the gather and numpy's ufuncs release the GIL; BLAS itself
is held to one thread meanwhile); a tile's chunks, and so its sums, are the same for any
number of threads. Memory beyond the input and the output cube is a few MB per thread
(``DEFAULT_CHUNK x nchan`` float32 spectra and ``cells x DEFAULT_CHUNK`` weights), however
densely the map is sampled.

Decisions where the reference differs (``sequoia_raw_and_algorithms.md`` §4.7, §8):

* Kernel values are exact (or interpolated from a 16385-point table to < 1e-6), not the
  256-step ``table[floor(r/dr)]`` lookup; cells receive spectra within the kernel support
  (``rmax * resolution``) measured exactly rather than within ``n_cells`` of the nearest cell.
* Spectra whose nearest cell is outside the map but whose kernel reaches into it are used
  (the reference drops them). They never set the ``edge=0`` flag of an in-map cell.
* Non-square maps work (separate ``x``/``y`` extents; the reference swaps ``-x``/``-y``).
* NaN or infinite channels get zero weight in that channel only (the cube is normalised per
  channel by the weight of the finite samples); a channel whose finite weight is ~0 is NaN.
* Spectra with a non-finite position or a weight ``<= 0`` or non-finite are ignored, so a
  selection (``rms_threshold``) is applied by setting weights to 0, without copying spectra.
* ``rms_cut == 0`` disables the RMS selection (the reference would reject every spectrum).
* The radiometer map of the reference, ``(sum w Tsys / W) / sqrt(df dt W)``, is dimensionally
  right only for ``rho = 1``; ``expected_noise_map`` propagates per-spectrum noise exactly,
  ``sqrt(sum w_i**2 sigma_i**2) / sum w_i`` (use ``sigma_i = Tsys_i / sqrt(df dt)`` for the
  radiometer equation).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits

from .grid_geometry import GriddedCube, GridGeometry, default_cell, default_resolution
from .grid_selection import for_obsnum, grid_selection, rms_threshold
from .kernels import Kernel, KernelEvaluator

# The gridding API for users: the engine, with the grid (lmtflow.grid_geometry) and the
# spectrum selection (lmtflow.grid_selection) it works with.
__all__ = [
    "DEFAULT_CHUNK", "DEFAULT_TILE", "GridGeometry", "GriddedCube", "default_cell",
    "default_resolution", "expected_noise_map", "for_obsnum", "grid_selection", "grid_spectra",
    "keep_scratch", "resolve_threads", "rms_threshold",
]  # fmt: skip

DEFAULT_TILE = 8
DEFAULT_CHUNK = 1024
"""Spectra per product of a tile's kernel weights and spectra. The per-thread buffers are
this many spectra whatever the sampling density; a tile's sums add its chunks in order."""


@dataclass
class _Plan:
    """Used spectra sorted by nearest cell on the map extended by ``nc`` cells each side."""

    geometry: GridGeometry
    nc: int
    src: NDArray[np.int64]  # row of the input spectra, sorted order
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    rho: NDArray[np.float32]
    starts: NDArray[np.int64]  # (nye * nxe + 1,)
    hits: NDArray[np.int32]

    @classmethod
    def build(cls, x, y, weights, geometry: GridGeometry, radius: float) -> _Plan:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        w = np.asarray(weights, dtype=float)
        if not (x.shape == y.shape == w.shape) or x.ndim != 1:
            raise ValueError("x, y and weights must be 1-D arrays of the same length")
        g = geometry
        nc = int(math.floor(radius / g.cell + 0.5 + 1e-9))
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
        used = np.flatnonzero(ok)
        col, row = g.nearest_cell(x[used], y[used])
        nxe, nye = g.nx + 2 * nc, g.ny + 2 * nc
        reach = (col >= -nc) & (col < g.nx + nc) & (row >= -nc) & (row < g.ny + nc)
        used, col, row = used[reach], col[reach], row[reach]
        inside = (col >= 0) & (col < g.nx) & (row >= 0) & (row < g.ny)
        hits = np.bincount(row[inside] * g.nx + col[inside], minlength=g.nx * g.ny)
        key = (row + nc) * nxe + (col + nc)
        order = np.argsort(key, kind="stable")
        counts = np.bincount(key, minlength=nxe * nye)
        starts = np.concatenate([[0], np.cumsum(counts)])
        src = used[order]
        return cls(
            g,
            nc,
            src,
            x[src],
            y[src],
            w[src].astype(np.float32),
            starts,
            hits.reshape(g.shape).astype(np.int32),
        )

    def candidates(self, i0: int, i1: int, j0: int, j1: int) -> NDArray[np.int64]:
        """Sorted-order indices of spectra that may reach cells ``[j0:j1, i0:i1]``."""
        nxe = self.geometry.nx + 2 * self.nc
        rows = np.arange(j0, j1 + 2 * self.nc)
        lo = self.starts[rows * nxe + i0]
        hi = self.starts[rows * nxe + i1 + 2 * self.nc]
        return np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])


class _Scratch:
    """Spectrum buffers of the tile workers. Inside :func:`keep_scratch` they are kept from
    one call to the next: a fresh buffer costs a page fault per 4 KB on first touch, which
    adds up when a map is gridded block by block."""

    def __init__(self) -> None:
        self._free: list[NDArray[np.float32]] = []
        self._lock = threading.Lock()
        self.keep = 0

    def take(self, m: int, nchan: int) -> NDArray[np.float32]:
        """A buffer of at least ``m`` rows of ``nchan`` channels (contents undefined)."""
        with self._lock:
            for k, flat in enumerate(self._free):
                if nchan and flat.size >= m * nchan:
                    del self._free[k]
                    return flat[: flat.size // nchan * nchan].reshape(-1, nchan)
        return np.empty((m, nchan), dtype=np.float32)

    def give(self, buf: NDArray[np.float32]) -> None:
        flat = buf.base if buf.base is not None else buf
        with self._lock:
            if self.keep and flat.size:
                self._free.append(flat.reshape(-1))


_SCRATCH = _Scratch()


@contextlib.contextmanager
def keep_scratch() -> Iterator[None]:
    """Keep the gridder's scratch buffers between :func:`grid_spectra` calls in this block
    (for gridding a map in pieces); they are freed when the outermost block ends."""
    with _SCRATCH._lock:
        _SCRATCH.keep += 1
    try:
        yield
    finally:
        with _SCRATCH._lock:
            _SCRATCH.keep -= 1
            if not _SCRATCH.keep:
                _SCRATCH._free.clear()


def _check_params(resolution: float, rmax: float, edge: int) -> None:
    if not resolution > 0 or not rmax > 0:
        raise ValueError("resolution and rmax must be > 0")
    if edge not in (0, 1):
        raise ValueError("edge must be 0 or 1")


def resolve_threads(threads: int | None) -> int:
    """Worker threads to use: ``threads``, or the cores this process may run on if None."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    return max(1, int(threads))


def _run(
    plan: _Plan,
    evaluator: KernelEvaluator,
    spectra: NDArray | None,
    bad_rows: NDArray[np.bool_] | None,
    sigma2: NDArray[np.float64] | None,
    edge: int,
    threads: int,
    tile: int,
    chunk: int = DEFAULT_CHUNK,
    cube: NDArray[np.float32] | None = None,
) -> dict[str, NDArray]:
    g = plan.geometry
    nchan = 0 if spectra is None else spectra.shape[1]
    out = {
        "weight": np.zeros(g.shape),
        "sum_w2": np.zeros(g.shape),
        "valid": np.zeros(g.shape, dtype=bool),
    }
    if spectra is not None:
        out["cube"] = np.empty((nchan, g.ny, g.nx), np.float32) if cube is None else cube
    if sigma2 is not None:
        out["noise"] = np.full(g.shape, np.nan)
    xc = g.x_offsets()
    yc = g.y_offsets()
    tiles = [(j0, i0) for j0 in range(0, g.ny, tile) for i0 in range(0, g.nx, tile)]
    direct = spectra is not None and spectra.dtype == np.float32

    def kernel_weights(cc: NDArray[np.int64], i0: int, i1: int, j0: int, j1: int) -> NDArray:
        """``(cells, len(cc))`` float32 weights ``K rho`` of spectra ``cc`` for the tile."""
        dx = np.square(xc[i0:i1, None] - plan.x[cc][None, :]).astype(np.float32)
        dy = np.square(yc[j0:j1, None] - plan.y[cc][None, :]).astype(np.float32)
        r2 = (dy[:, None, :] + dx[None, :, :]).reshape((j1 - j0) * (i1 - i0), cc.size)
        a = evaluator(r2)
        a *= plan.rho[cc]
        return a

    def work(worker: int) -> None:
        buf = _SCRATCH.take(chunk, nchan)
        try:
            for j0, i0 in tiles[worker::threads]:
                j1, i1 = min(j0 + tile, g.ny), min(i0 + tile, g.nx)
                th, tw = j1 - j0, i1 - i0
                cand = plan.candidates(i0, i1, j0, j1)
                sw, sw2 = np.zeros(th * tw), np.zeros(th * tw)
                var = None if sigma2 is None else np.zeros(th * tw)
                acc = None if spectra is None else np.zeros((th * tw, nchan))
                lost = None  # weight of the non-finite samples, per cell and channel
                for k0 in range(0, cand.size, chunk):  # fixed order: same sums for any threads
                    cc = cand[k0 : k0 + chunk]
                    a = kernel_weights(cc, i0, i1, j0, j1)
                    sw += a.sum(axis=1, dtype=np.float64)
                    a2 = np.square(a)
                    sw2 += a2.sum(axis=1, dtype=np.float64)
                    if var is not None:
                        var += a2 @ sigma2[cc]
                    if acc is None:
                        continue
                    s = buf[: cc.size]
                    rows = plan.src[cc]
                    if direct:
                        np.take(spectra, rows, axis=0, out=s)
                    else:
                        s[...] = np.take(spectra, rows, axis=0)
                    if bad_rows is not None and bad_rows[rows].any():
                        b = np.flatnonzero(bad_rows[rows])
                        finite = np.isfinite(s[b])
                        s[b] = np.where(finite, s[b], np.float32(0))
                        part = a[:, b] @ (~finite).astype(np.float32)
                        lost = part.astype(np.float64) if lost is None else lost + part
                    acc += a @ s
                hits = plan.hits[j0:j1, i0:i1].ravel()
                valid = (sw > 0) & ((hits > 0) | (edge != 0))
                out["weight"][j0:j1, i0:i1] = sw.reshape(th, tw)
                out["sum_w2"][j0:j1, i0:i1] = sw2.reshape(th, tw)
                out["valid"][j0:j1, i0:i1] = valid.reshape(th, tw)
                if var is not None:
                    noise = np.sqrt(np.maximum(var, 0)) / np.where(valid, sw, 1)
                    noise[~valid] = np.nan
                    out["noise"][j0:j1, i0:i1] = noise.reshape(th, tw)
                if acc is None:
                    continue
                ok = np.broadcast_to(valid[:, None], acc.shape)
                denom = sw[:, None]
                if lost is not None:
                    denom = denom - lost
                    ok = ok & (denom > 1e-3 * sw[:, None])
                with np.errstate(divide="ignore", invalid="ignore"):
                    np.divide(acc, denom, out=acc)
                acc[~ok] = np.nan
                out["cube"][:, j0:j1, i0:i1] = acc.T.reshape(nchan, th, tw)
        finally:
            _SCRATCH.give(buf)

    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1:
            work(0)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(work, range(threads)))
    return out


def grid_spectra(
    x_arcsec: ArrayLike,
    y_arcsec: ArrayLike,
    spectra: NDArray,
    weights: ArrayLike,
    geometry: GridGeometry,
    resolution_arcsec: float,
    kernel: Kernel | int | tuple | str = 1,
    rmax: float = 3.0,
    edge: int = 0,
    threads: int | None = None,
    sigma: ArrayLike | None = None,
    tile: int = DEFAULT_TILE,
    out: NDArray[np.float32] | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> GriddedCube:
    """Grid ``spectra`` ``(nspec, nchan)`` taken at offsets ``(x, y)`` (arcsec, x east).

    ``weights`` are the per-spectrum ``rho`` (e.g. ``1/RMS**2``); 0 excludes a spectrum.
    ``kernel`` is a ``Kernel``, an ``otf_select`` code or ``(kind, a, b, c)``; ``rmax`` is in
    units of ``resolution_arcsec``. ``edge=0`` blanks cells that are nobody's nearest cell,
    ``edge=1`` keeps every cell with positive weight. ``sigma`` (per-spectrum noise, K) adds
    the expected-noise map. ``threads`` defaults to the usable cores. ``out``: a float32
    ``(nchan, ny, nx)`` array (a view of a larger cube is fine) that receives the cube.
    ``tile`` (cells a side) and ``chunk`` (spectra per product) trade speed for memory; the
    result changes with them only by float32 rounding.
    """
    spectra = np.asarray(spectra)
    if spectra.ndim != 2:
        raise ValueError("spectra must be 2-D (nspec, nchan)")
    _check_params(resolution_arcsec, rmax, edge)
    kern = Kernel.coerce(kernel)
    evaluator = KernelEvaluator(kern, resolution_arcsec, rmax, geometry.cell)
    plan = _Plan.build(x_arcsec, y_arcsec, weights, geometry, evaluator.radius)
    if spectra.shape[0] != np.shape(x_arcsec)[0]:
        raise ValueError("spectra and positions differ in length")
    bad_rows = None
    if plan.src.size:
        with np.errstate(invalid="ignore", over="ignore"):
            row_sum = spectra.sum(axis=1, dtype=np.float32)
        bad_rows = ~np.isfinite(row_sum)
        if not bad_rows.any():
            bad_rows = None
    sigma2 = None if sigma is None else np.square(np.asarray(sigma, dtype=np.float64))[plan.src]
    nthreads = resolve_threads(threads)
    if out is not None and (
        out.dtype != np.float32 or out.shape != (spectra.shape[1], *geometry.shape)
    ):
        raise ValueError(f"out must be float32 {(spectra.shape[1], *geometry.shape)}")
    if tile < 1 or chunk < 1:
        raise ValueError("tile and chunk must be >= 1")
    res = _run(plan, evaluator, spectra, bad_rows, sigma2, edge, nthreads, tile, chunk, out)
    return GriddedCube(
        cube=res["cube"],
        weight=res["weight"],
        sum_w2=res["sum_w2"],
        hits=plan.hits,
        valid=res["valid"],
        geometry=geometry,
        n_used=int(plan.src.size),
        noise=res.get("noise"),
        params={
            "resolution": float(resolution_arcsec),
            "cell": geometry.cell,
            "kernel": kern.kind,
            "otf_a": kern.a,
            "otf_b": kern.b,
            "otf_c": kern.c,
            "rmax": float(rmax),
            "edge": int(edge),
        },
    )


def expected_noise_map(
    x_arcsec: ArrayLike,
    y_arcsec: ArrayLike,
    weights: ArrayLike,
    sigma: ArrayLike,
    geometry: GridGeometry,
    resolution_arcsec: float,
    kernel: Kernel | int | tuple | str = 1,
    rmax: float = 3.0,
    edge: int = 0,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Exact per-cell noise ``sqrt(sum w_i**2 sigma_i**2) / sum w_i`` (NaN where blank).

    Same arguments as ``grid_spectra`` without the spectra; ``sigma`` is the per-spectrum
    (per-channel) noise. For the radiometer map use ``sigma = Tsys / sqrt(df * dt)``.
    """
    _check_params(resolution_arcsec, rmax, edge)
    kern = Kernel.coerce(kernel)
    evaluator = KernelEvaluator(kern, resolution_arcsec, rmax, geometry.cell)
    plan = _Plan.build(x_arcsec, y_arcsec, weights, geometry, evaluator.radius)
    sigma2 = np.square(np.asarray(sigma, dtype=np.float64))[plan.src]
    out = _run(plan, evaluator, None, None, sigma2, edge, resolve_threads(threads), DEFAULT_TILE)
    return out["noise"]
