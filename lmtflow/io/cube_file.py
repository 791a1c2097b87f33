"""A FITS cube written strip by strip of map rows, so the whole cube is never in memory.

The primary array is ``(nchan, ny, nx)`` float32: in the file each channel's plane is
contiguous, so a strip of rows ``j0:j1`` of every channel is ``nchan`` contiguous runs, one
``pwrite`` each (no memory map: nothing of the file counts in the writer's resident set).
The header is astropy's, byte for byte what ``PrimaryHDU.writeto`` writes for the same cube,
and the data are padded with zeros to the FITS block as astropy pads them; the file is written
under a temporary name and renamed on success (:func:`lmtflow.io.atomic.atomic_path`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from .atomic import atomic_path

FITS_BLOCK = 2880


class CubeFile:
    """An open cube file: write and read back strips of rows (all channels)."""

    def __init__(self, fd: int, shape: tuple[int, int, int], data_offset: int, path: Path):
        self.fd, self.shape, self.offset, self.path = fd, shape, data_offset, path
        self.written = np.zeros(shape[1], dtype=bool)  # rows written at least once

    def _runs(self, j0: int, j1: int) -> Iterator[tuple[int, int]]:
        """``(channel, file offset)`` of each channel's rows ``j0:j1``."""
        nchan, ny, nx = self.shape
        if not 0 <= j0 < j1 <= ny:
            raise ValueError(f"rows {j0}:{j1} are outside the cube's {ny}")
        for k in range(nchan):
            yield k, self.offset + 4 * (k * ny * nx + j0 * nx)

    def write_rows(self, j0: int, strip: NDArray) -> None:
        """Write ``strip`` ``(nchan, h, nx)`` as rows ``j0:j0+h`` of every channel."""
        nchan, ny, nx = self.shape
        if strip.ndim != 3 or strip.shape[0] != nchan or strip.shape[2] != nx:
            raise ValueError(f"a strip must be ({nchan}, h, {nx}), not {strip.shape}")
        big = np.ascontiguousarray(strip, dtype=">f4")
        for k, pos in self._runs(j0, j0 + strip.shape[1]):
            view = memoryview(big[k]).cast("B")
            done = 0
            while done < len(view):
                done += os.pwrite(self.fd, view[done:], pos + done)
        self.written[j0 : j0 + strip.shape[1]] = True

    def read_rows(self, j0: int, j1: int) -> NDArray[np.float32]:
        """Rows ``j0:j1`` of every channel, ``(nchan, j1 - j0, nx)`` native float32."""
        nchan, _, nx = self.shape
        big = np.empty((nchan, j1 - j0, nx), dtype=">f4")
        for k, pos in self._runs(j0, j1):
            view = memoryview(big[k]).cast("B")
            done = 0
            while done < len(view):
                n = os.preadv(self.fd, [view[done:]], pos + done)
                if n == 0:
                    raise OSError(f"{self.path}: short read at byte {pos + done}")
                done += n
        return big.astype(np.float32)


@contextlib.contextmanager
def cube_file(
    path: str | os.PathLike, header: fits.Header, shape: tuple[int, int, int]
) -> Iterator[CubeFile]:
    """Open a float32 cube ``shape`` ``(nchan, ny, nx)`` with ``header`` for writing by strips;
    on leaving the block (without an error, and every row written) the file appears at
    ``path``, flushed to disk; after an error nothing does."""
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"a cube shape is (nchan, ny, nx) > 0, not {shape}")
    # astropy fills in SIMPLE, BITPIX, NAXISn from a (never allocated) array of the shape
    hdu = fits.PrimaryHDU(data=np.broadcast_to(np.float32(0), shape), header=header)
    head = hdu.header.tostring().encode("ascii")
    nbytes = 4 * shape[0] * shape[1] * shape[2]
    padded = -(-nbytes // FITS_BLOCK) * FITS_BLOCK
    with atomic_path(path, fsync=True) as tmp:
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.pwrite(fd, head, 0)
            os.ftruncate(fd, len(head) + padded)  # zeros: the padding, and rows to come
            cube = CubeFile(fd, shape, len(head), Path(path))
            yield cube
            if not cube.written.all():
                missing = np.flatnonzero(~cube.written)
                raise RuntimeError(f"{path}: rows {missing[:5].tolist()}... never written")
        finally:
            os.close(fd)
