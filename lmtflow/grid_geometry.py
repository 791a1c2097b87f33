"""The output grid of a map: LMTOY's default resolution and cell, the cell geometry in FITS
order (east is column 0, CDELT1 < 0), and the gridded result (:class:`GriddedCube`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import ARCSEC_PER_RAD, LMT_DIAMETER_M
from .kernels import C_M_S


def default_resolution(sky_freq_hz: float) -> float:
    """LMTOY's resolution: ``ceil(lambda / 50 m)`` in whole arcsec."""
    return float(math.ceil(C_M_S / sky_freq_hz / LMT_DIAMETER_M * ARCSEC_PER_RAD))


def default_cell(resolution: float, nppb: float = 2.0) -> float:
    """LMTOY's cell: ``resolution / nppb`` (arcsec)."""
    return resolution / nppb


@dataclass(frozen=True)
class GridGeometry:
    """Cell size (arcsec), map size and 1-based reference pixels of the output grid.

    FITS column ``i`` (0-based) is at offset ``x = -(i + 1 - crpix_x) * cell`` (east is
    column 0), row ``j`` at ``y = (j + 1 - crpix_y) * cell``; the reference point is the map
    centre (offset 0).
    """

    cell: float
    nx: int
    ny: int
    crpix_x: float
    crpix_y: float

    @classmethod
    def from_extent(
        cls, extent_arcsec: float, cell_arcsec: float, y_extent_arcsec: float | None = None
    ) -> GridGeometry:
        """Reference geometry: ``n = 2 floor((extent + cell/2) / cell) + 1``, ``crpix`` central.

        ``extent_arcsec`` is the x half-size (``y_extent_arcsec`` defaults to it).
        """
        ey = extent_arcsec if y_extent_arcsec is None else y_extent_arcsec
        if cell_arcsec <= 0 or extent_arcsec < 0 or ey < 0:
            raise ValueError("cell must be > 0 and extents >= 0")
        nx = 2 * math.floor((extent_arcsec + cell_arcsec / 2) / cell_arcsec) + 1
        ny = 2 * math.floor((ey + cell_arcsec / 2) / cell_arcsec) + 1
        return cls(float(cell_arcsec), nx, ny, (nx - 1) / 2 + 1, (ny - 1) / 2 + 1)

    @property
    def crpix(self) -> tuple[float, float]:
        """``(CRPIX1, CRPIX2)``."""
        return (self.crpix_x, self.crpix_y)

    @property
    def shape(self) -> tuple[int, int]:
        """Numpy shape ``(ny, nx)`` of a plane."""
        return (self.ny, self.nx)

    def x_offsets(self) -> NDArray[np.float64]:
        """Offset (arcsec, east positive) of every column; decreasing."""
        return -(np.arange(self.nx) + 1 - self.crpix_x) * self.cell

    def y_offsets(self) -> NDArray[np.float64]:
        """Offset (arcsec, north positive) of every row; increasing."""
        return (np.arange(self.ny) + 1 - self.crpix_y) * self.cell

    def nearest_cell(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray, NDArray]:
        """0-based ``(column, row)`` of the nearest cell; may lie outside the map.

        The reference's ``floor(x / cell + crpix - 0.5)`` on its unreversed x axis, mirrored.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        crpix_ref = self.nx + 1 - self.crpix_x
        ix_ref = np.floor(x / self.cell + crpix_ref - 0.5)
        col = (self.nx - 1 - ix_ref).astype(np.int64)
        row = np.floor(y / self.cell + self.crpix_y - 0.5).astype(np.int64)
        return col, row


@dataclass
class GriddedCube:
    """Result of ``grid_spectra``; all planes ``(ny, nx)`` in FITS order (east = column 0).

    ``cube``: ``(nchan, ny, nx)`` float32, NaN where blank. ``weight``: ``sum w`` (the
    reference's weight map, units of ``rho``). ``sum_w2``: ``sum w**2``. ``hits``: number of
    used spectra whose nearest cell is the cell (the reference's flag ``M`` is ``hits > 0``).
    ``valid``: cells with data (``weight > 0`` and, for ``edge=0``, ``hits > 0``). ``noise``:
    expected noise ``sqrt(sum w**2 sigma**2) / sum w`` when ``sigma`` was given, else None.
    """

    cube: NDArray[np.float32]
    weight: NDArray[np.float64]
    sum_w2: NDArray[np.float64]
    hits: NDArray[np.int32]
    valid: NDArray[np.bool_]
    geometry: GridGeometry
    n_used: int
    noise: NDArray[np.float64] | None = None
    params: dict = field(default_factory=dict)
