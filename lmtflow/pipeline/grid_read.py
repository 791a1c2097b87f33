"""The baselined spectra the grid step needs, read from the SDFITS inputs with ``pread``.

Rows are read into reused buffers and converted straight into the block of spectra the
gridder takes (no memory map: nothing of the inputs counts in the step's resident set);
channel flags of the grid step are blanked on the way (:func:`lmtflow.flags.apply.blank_flagged`).
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from ..errors import ProductError
from ..flags.apply import blank_flagged
from ..io.sdfits_reader import SDFITSReader

GAP_ROWS = 16  # needed rows at most this far apart are read with one pread (gap included)
WINDOW_BYTES = 4 << 20  # largest single pread


class DataRows:
    """``DATA`` rows of one SDFITS file read with ``pread`` into reused buffers (no memory
    map: no page faults, nothing of the file in the resident set)."""

    def __init__(self, reader: SDFITSReader):
        sub, offset = reader.dtype.fields["DATA"][:2]
        self.path, self.nrows, self.nchan = reader.path, reader.nrows, reader.nchan
        self.dtype, self.rowbytes = sub.base, reader.dtype.itemsize
        self.offset = reader.data_offset + offset
        self.size = self.offset + (self.nrows - 1) * self.rowbytes + self.nchan * sub.base.itemsize
        # FLAGS (lmtflow.flags) is the last column: a row's span then ends after its flags
        fields = reader.dtype.fields
        self.flags_at = fields["FLAGS"][1] - offset if "FLAGS" in fields else None
        self.fd = os.open(reader.path, os.O_RDONLY)
        self.mask = getattr(reader, "flag_mask", None)  # channel flags of the grid step
        self.fill = getattr(reader, "flag_fill", "blank")  # blank (NaN) or interpolate

    def close(self) -> None:
        os.close(self.fd)

    def read(self, a: int, b: int, buf: NDArray[np.uint8]) -> NDArray:
        """Rows ``a:b`` as a strided view (file byte order) into ``buf``."""
        nbytes = (b - a - 1) * self.rowbytes + self.nchan * self.dtype.itemsize
        if self.flags_at is not None:
            nbytes = (b - a - 1) * self.rowbytes + self.flags_at + self.nchan
        view, done, pos = memoryview(buf[:nbytes]), 0, self.offset + a * self.rowbytes
        while done < nbytes:
            n = os.preadv(self.fd, [view[done:]], pos + done)
            if n == 0:
                raise ProductError(f"{self.path}: truncated (rows {a}:{b} are not all there)")
            done += n
        strides = (self.rowbytes, self.dtype.itemsize)
        data = np.ndarray((b - a, self.nchan), self.dtype, buf, 0, strides)
        flags = None
        if self.flags_at is not None:
            flags = np.ndarray((b - a, self.nchan), np.uint8, buf, self.flags_at,
                               (self.rowbytes, 1))  # fmt: skip
        if self.mask is not None:
            own = self.mask.rows(a, b)
            flags = own if flags is None else flags | own
        return blank_flagged(data, flags, self.fill)


def gather(
    files: list[DataRows], starts: NDArray, rows: NDArray, out: NDArray, buf: NDArray[np.uint8]
) -> None:
    """``DATA`` of the ascending global ``rows`` of the concatenated inputs into ``out``.

    Runs of needed rows (gaps up to ``GAP_ROWS`` included) are read with one ``pread`` each
    into ``buf`` (``WINDOW_BYTES``, or one row if larger) and converted straight into
    ``out``; only partly needed windows take a gathered copy.
    """
    which = np.searchsorted(starts, rows, side="right") - 1
    done = 0
    for k, f in enumerate(files):
        local = rows[which == k] - starts[k]
        if local.size == 0:
            continue
        step = max(1, WINDOW_BYTES // f.rowbytes)
        breaks = np.flatnonzero(np.diff(local) > GAP_ROWS) + 1  # a window never spans these
        ends = np.append(breaks, local.size)
        i = 0
        for e in ends.tolist():
            while i < e:
                a = int(local[i])
                j = min(e, int(np.searchsorted(local, a + step, side="left", sorter=None)))
                b = int(local[j - 1]) + 1
                block = f.read(a, b, buf)
                dest = out[done + i : done + j]
                if j - i == b - a:
                    dest[...] = block
                else:
                    dest[...] = block[local[i:j] - a]
                i = j
        done += local.size
