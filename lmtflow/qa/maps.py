"""Maps made from a gridded cube: moments 0, 1 and 2, peak, rms, radiometer noise; as FITS.

The line window is every channel outside the baseline windows; the rms is the scatter over
the baseline-window channels of each pixel. The radiometer map is the noise the gridder's
weights give for ``sigma = Tsys / sqrt(channel width * dump time)`` per spectrum; for a
combination, from every member's spectra as they were gridded jointly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter1d

from ..baseline import window_mask
from ..grid_geometry import GridGeometry
from ..grid_selection import for_obsnum, grid_selection
from ..gridding import expected_noise_map
from ..io.cube import write_plane
from ..io.sdfits_reader import SDFITSReader
from ..kernels import Kernel
from ..pipeline.grid import map_origin, source_shift

PLANES = {"mom0": "K km/s", "mom1": "km/s", "mom2": "km/s", "peak": "K", "rms": "K",
          "radiometer": "K"}  # fmt: skip

INTERIOR_WEIGHT_FRACTION = 0.5
"""QA numbers, histograms and the noise S/N use the map's *interior*: the cells whose weight is
at least this fraction of the median weight of the filled cells (weight > 0). The other filled
cells are the *edge* (few spectra, noise up to several times the interior's) and are reported
separately, so that a noisy edge cell cannot pose as the line peak."""

MOMENT_PEAK_SNR = 5.0
"""Moment 1 and 2 are shown where a cell's peak over the line window is at least this many
times its own rms (pure noise reaches 5 sigma in fewer than 1 in 2000 cells of 700 channels)."""

MOMENT_RUN_SNR = 2.0
"""... and are computed over the contiguous run of channels around that peak where the
spectrum, smoothed over MOMENT_SMOOTH channels, stays above this many times its own noise
(rms / sqrt(MOMENT_SMOOTH)): the line, not the noise spikes elsewhere in the window. The
smoothing only draws the mask (a single noise dip does not cut the line short); the moments
use the unsmoothed values."""

MOMENT_SMOOTH = 5


@dataclass
class CubeData:
    """A cube ``(nchan, ny, nx)`` (K, NaN blanks), its weight map, header and axes."""

    cube: NDArray[np.float32]
    weight: NDArray[np.float32]
    header: fits.Header
    velocity: NDArray[np.float64]
    geometry: GridGeometry

    @property
    def dv(self) -> float:
        """Channel width (km/s, positive)."""
        return abs(float(self.header["CDELT3"])) / 1e3

    @property
    def center_pixel(self) -> tuple[int, int]:
        """0-based ``(row, column)`` of the map centre (offset 0, 0)."""
        return int(round(self.geometry.crpix_y - 1)), int(round(self.geometry.crpix_x - 1))

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``imshow`` extent (arcsec offsets, east to the left) of a plane in FITS order."""
        g = self.geometry
        x, y = g.x_offsets(), g.y_offsets()
        h = g.cell / 2
        return (x[0] + h, x[-1] - h, y[0] - h, y[-1] + h)


def read_cube(cube_path: str | Path, weight_path: str | Path) -> CubeData:
    """Load a cube and weight map written by ``lmtflow.io.cube``."""
    with fits.open(cube_path) as hdul:
        header = hdul[0].header.copy()
        cube = np.asarray(hdul[0].data, dtype=np.float32)
    weight = np.asarray(fits.getdata(weight_path), dtype=np.float32)
    chan = np.arange(cube.shape[0]) + 1 - float(header["CRPIX3"])
    velocity = (float(header["CRVAL3"]) + chan * float(header["CDELT3"])) / 1e3
    geometry = GridGeometry(
        cell=abs(float(header["CDELT2"])) * 3600.0,
        nx=int(header["NAXIS1"]),
        ny=int(header["NAXIS2"]),
        crpix_x=float(header["CRPIX1"]),
        crpix_y=float(header["CRPIX2"]),
    )
    return CubeData(cube, weight, header, velocity, geometry)


def channel_masks(velocity: NDArray, b_regions: Any) -> tuple[NDArray, NDArray]:
    """``(window, line)`` channel masks: baseline windows, and every other channel."""
    window = window_mask(velocity, b_regions)
    return window, ~window


def interior_mask(weight: NDArray) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``(interior, edge)`` cell masks of a weight map (see :data:`INTERIOR_WEIGHT_FRACTION`)."""
    filled = np.isfinite(weight) & (weight > 0)
    if not filled.any():
        return filled, filled.copy()
    interior = filled & (weight >= INTERIOR_WEIGHT_FRACTION * np.median(weight[filled]))
    return interior, filled & ~interior


def noise_snr(data: CubeData, planes: dict[str, NDArray], b_regions: Any) -> NDArray:
    """S/N of the baseline-window voxels of the interior cells: value / the cell's expected
    (radiometer) noise. Pure noise gives a unit Gaussian."""
    window, _ = channel_masks(data.velocity, b_regions)
    interior, _ = interior_mask(data.weight)
    expected = planes["radiometer"]
    cells = interior & np.isfinite(expected) & (expected > 0)
    snr = data.cube[window][:, cells] / expected[cells]
    return snr[np.isfinite(snr)]


def moment_planes(data: CubeData, b_regions: Any) -> dict[str, NDArray]:
    """mom0 (K km/s) and peak (K) over the line window, rms (K) over the baseline windows,
    and mom1/mom2 (km/s) masked by the S/N rule of :data:`MOMENT_PEAK_SNR` and
    :data:`MOMENT_RUN_SNR`. Cells without data are NaN in every plane; no warning is raised.
    """
    window, line = channel_masks(data.velocity, b_regions)
    cube = data.cube
    shape = cube.shape[1:]
    filled = np.isfinite(cube).any(axis=0)
    planes = {k: np.full(shape, np.nan, np.float32) for k in ("mom0", "mom1", "mom2", "peak",
                                                              "rms")}  # fmt: skip
    if not filled.any():
        return planes
    cells = cube[:, filled]  # (nchan, ncell): blank cells never enter a reduction
    has_window = np.isfinite(cells[window]).any(axis=0)
    rms = np.full(cells.shape[1], np.nan)
    if has_window.any():
        rms[has_window] = np.nanstd(cells[window][:, has_window], axis=0)
    seg = cells[line]
    has_line = np.isfinite(seg).any(axis=0)
    seg = np.where(np.isfinite(seg), seg, -np.inf)
    peak = np.where(has_line, seg.max(axis=0), np.nan)
    mom0 = np.where(has_line, np.sum(np.where(np.isfinite(seg), seg, 0.0), axis=0), np.nan)
    mom1, mom2 = _masked_moments(seg, data.velocity[line], peak, rms)
    for name, values in (("mom0", mom0 * data.dv), ("mom1", mom1), ("mom2", mom2),
                         ("peak", peak), ("rms", rms)):  # fmt: skip
        planes[name][filled] = values
    return planes


def _masked_moments(
    seg: NDArray, velocity: NDArray, peak: NDArray, rms: NDArray
) -> tuple[NDArray, NDArray]:
    """Moment 1 and 2 (km/s) of each column of ``seg`` (line channels x cells, -inf blanks)
    over the run of channels around the peak channel whose smoothed values stay above
    ``MOMENT_RUN_SNR`` times their noise; NaN where the peak is below ``MOMENT_PEAK_SNR * rms``."""
    ncell = seg.shape[1]
    mom1 = np.full(ncell, np.nan)
    mom2 = np.full(ncell, np.nan)
    with np.errstate(invalid="ignore"):
        detected = (rms > 0) & (peak >= MOMENT_PEAK_SNR * rms)
    if not detected.any():
        return mom1, mom2
    s = seg[:, detected]
    finite = np.where(np.isfinite(s), s, 0.0)
    smooth = uniform_filter1d(finite, MOMENT_SMOOTH, axis=0, mode="constant")
    above = smooth > MOMENT_RUN_SNR * rms[detected] / np.sqrt(MOMENT_SMOOTH)
    chan = np.arange(s.shape[0])[:, None]
    top = np.argmax(s, axis=0)
    start = np.max(np.where(~above & (chan < top), chan, -1), axis=0) + 1
    stop = np.min(np.where(~above & (chan > top), chan, s.shape[0]), axis=0)
    t = np.where((chan >= start) & (chan < stop), finite, 0.0)
    v = velocity[:, None]
    total = t.sum(axis=0)  # > 0: the run holds the peak, above MOMENT_PEAK_SNR * rms > 0
    m1 = (t * v).sum(axis=0) / total
    m2 = np.sqrt(np.maximum((t * (v - m1) ** 2).sum(axis=0) / total, 0.0))
    mom1[detected], mom2[detected] = m1, m2
    return mom1, mom2


@dataclass
class GriddedInputs:
    """The spectra of one or more baselined SDFITS as the gridder sees them, one entry per
    spectrum (row): ObsNum, offsets on the shared map (arcsec, x east), beam, selection
    (``pix_list`` of its ObsNum, rms cut), weight ``rho`` and radiometer noise (K)."""

    obsnum: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    beam: NDArray[np.int64]
    rms: NDArray[np.float64]
    keep: NDArray[np.bool_]
    rho: NDArray[np.float64]
    sigma: NDArray[np.float64]


def gridded_inputs(
    base_sdfits: str | Path | Sequence[str | Path], grid_params: dict[str, Any]
) -> GriddedInputs:
    """Read the baselined SDFITS of an ObsNum or of every member of a combination as
    :func:`lmtflow.pipeline.grid.grid_products` grids them: sorted by ObsNum, offsets shifted
    to the first one's source position (or a mosaic's centre), each ObsNum selected by its
    own ``pix_list``."""
    paths = [base_sdfits] if isinstance(base_sdfits, str | Path) else list(base_sdfits)
    parts = []
    for path in paths:
        with SDFITSReader(path) as r:
            cols = r.columns(["FDNUM", "LMTXOFF", "LMTYOFF", "RMS", "TSYS", "EXPOSURE"])
            parts.append((r.header.copy(), cols, abs(float(r.header["DFDC"]))))
    parts.sort(key=lambda part: int(part[0]["OBSNUM"]))
    noise_sigma = int(grid_params.get("noise_sigma", 1)) == 1
    fields: dict[str, list] = {f: [] for f in GriddedInputs.__dataclass_fields__}
    for header, cols, df in parts:
        obsnum = int(header["OBSNUM"])
        keep = grid_selection(cols["RMS"], cols["FDNUM"], grid_params, obsnum)
        rms = np.where(keep, cols["RMS"], 1.0).astype(np.float64)
        rho = 1.0 / rms**2 if noise_sigma else np.ones_like(rms)
        dx, dy = source_shift(header, map_origin(parts[0][0], grid_params))
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma = cols["TSYS"] / np.sqrt(df * cols["EXPOSURE"])
        values = (np.full(keep.size, obsnum), cols["LMTXOFF"] + dx, cols["LMTYOFF"] + dy,
                  cols["FDNUM"], cols["RMS"], keep, np.where(keep, rho, 0.0),
                  np.where(keep, sigma, 0.0))  # fmt: skip
        for name, value in zip(fields, values, strict=True):
            fields[name].append(np.asarray(value))
    return GriddedInputs(**{k: np.concatenate(v) for k, v in fields.items()})


def radiometer_plane(
    inputs: str | Path | Sequence[str | Path] | GriddedInputs,
    grid_params: dict[str, Any],
    geometry: GridGeometry,
) -> NDArray[np.float32]:
    """Expected noise (K) per cell for the gridder's weights and each spectrum's
    ``Tsys / sqrt(channel width * dump time)``; ``inputs`` are the baselined SDFITS of one
    ObsNum or of every member of a combination (or :func:`gridded_inputs` of them)."""
    if not isinstance(inputs, GriddedInputs):
        inputs = gridded_inputs(inputs, grid_params)
    kernel = Kernel.from_otf_select(
        int(grid_params["otf_select"]), grid_params["otf_a"], grid_params["otf_b"],
        grid_params["otf_c"],
    )  # fmt: skip
    noise = expected_noise_map(
        inputs.x, inputs.y, inputs.rho, inputs.sigma, geometry, float(grid_params["resolution"]),
        kernel, float(grid_params["rmax"]), int(grid_params["edge"]),
    )  # fmt: skip
    return np.asarray(noise, dtype=np.float32)


def selection_numbers(inputs: GriddedInputs, grid_params: dict[str, Any]) -> dict[str, Any]:
    """How many spectra the gridder used and rejected (and why), in total and per ObsNum."""
    pix = grid_params.get("pix_list")
    in_list = np.ones(inputs.keep.size, bool)
    for obsnum in np.unique(inputs.obsnum) if pix is not None else ():
        mine = inputs.obsnum == obsnum
        in_list[mine] = np.isin(inputs.beam[mine], list(for_obsnum(pix, obsnum)))
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(inputs.rms) & (inputs.rms > 0)
    per_obsnum = [{"obsnum": int(n), "total": int((inputs.obsnum == n).sum()),
                   "used": int(inputs.keep[inputs.obsnum == n].sum())}
                  for n in np.unique(inputs.obsnum)]  # fmt: skip
    return {
        "total": int(inputs.keep.size),
        "used": int(inputs.keep.sum()),
        "rejected": int((~inputs.keep).sum()),
        "rejected_pix_list": int((~in_list).sum()),
        "rejected_nonfinite": int((in_list & ~finite).sum()),
        "rejected_rms_cut": int((in_list & finite & ~inputs.keep).sum()),
        "per_obsnum": per_obsnum,
    }


def write_planes(data: CubeData, planes: dict[str, NDArray], paths: dict[str, str | Path]) -> None:
    """Write each plane of ``planes`` named in ``paths`` as a 2-D FITS map with the cube's WCS."""
    h = data.header
    frame = "GALACTIC" if str(h["CTYPE1"]).startswith("GLON") else "RADEC"
    beam = float(h["BMAJ"]) * 3600.0 if "BMAJ" in h else None
    for name, path in paths.items():
        write_plane(
            path, planes[name], data.geometry, center_lon_deg=float(h["CRVAL1"]),
            center_lat_deg=float(h["CRVAL2"]), bunit=PLANES[name], frame=frame,
            beam_fwhm_arcsec=beam, instrument=h.get("INSTRUME"), object_name=h.get("OBJECT"),
            date_obs=h.get("DATE-OBS"), history=[f"lmtflow QA {name} map of the cube"],
            extra={"OBSNUMS": h.get("OBSNUMS", "")},
        )  # fmt: skip


@dataclass
class MapQA:
    """What the map plots draw: the cube, its planes (incl. ``radiometer``), the baseline
    windows and a label for titles (``bank 0``)."""

    data: CubeData
    planes: dict[str, NDArray]
    b_regions: list
    label: str
    inputs: GriddedInputs | None = None  # the gridded spectra (coverage of a combination)
