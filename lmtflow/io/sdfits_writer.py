"""Streaming, atomic writer of LMT SDFITS files.

The headers are written once; rows are packed block by block into one of two reusable
big-endian buffers, which a helper thread writes to a temporary file next to the target while
the next block is packed (the ``write`` releases the GIL: the kernel's work of giving the file
new pages overlaps the caller's computing). The file is renamed into place only when every
declared row has been written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .atomic import remove_stale_parts
from .sdfits_columns import (
    DEFAULTS,
    SPEC,
    TSCALE_UNITS,
    iso_dateobs,
    row_dtype,
)
from .sdfits_errors import SDFITSError
from .sdfits_headers import SDFITS_VERSION, build_headers

__all__ = ["SDFITS_VERSION", "SDFITSWriter", "build_headers"]


def _full_width(arr: np.ndarray) -> bool:
    """Every fixed-width byte string uses its full width (no ``ljust`` needed)."""
    if arr.size == 0 or arr.dtype.itemsize == 0:
        return True
    width = arr.dtype.itemsize
    return bool(np.ascontiguousarray(arr).reshape(-1).view(np.uint8)[width - 1 :: width].all())


def _preallocate(fd: int, size: int) -> None:
    """Reserve ``size`` bytes (block allocation during writes is the slow part on ext4)."""
    if size and hasattr(os, "posix_fallocate"):
        # not supported here (or no space: the writes will report it)
        with contextlib.suppress(OSError):
            os.posix_fallocate(fd, 0, size)


class SDFITSWriter:
    """Write an SDFITS file of ``nrows`` spectra of ``nchan`` channels, block by block.

    Use as a context manager; call :meth:`append` with consecutive blocks of rows. The file
    appears at ``path`` only after all ``nrows`` rows were written and the context exits
    without an exception; otherwise the temporary file is deleted.

    Column values come, in order of precedence, from the block, from ``constants`` (one value
    for every row), from values derived by the writer (``DATE-OBS`` from ``UTCTIME``, ``FEED``
    from ``FDNUM + 1``, ``BANDWID``/``FREQRES`` from ``CDELT1``, ``TSCALE``/``TUNIT7`` from
    ``tscale``), and from :data:`~lmtflow.io.sdfits_columns.DEFAULTS`. A column with none of
    these is an error.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        nrows: int,
        nchan: int,
        *,
        projid: str,
        instrume: str,
        datadims: tuple[int, ...] | None = None,
        tscale: str = "Ta*",
        constants: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | Iterable[tuple] | None = None,
        params: Mapping[str, Any] | None = None,
        history: Iterable[str] = (),
        telescop: str = "LMT",
        backend: str = "WARES",
        chunk_bytes: int = 8 << 20,
        preallocate: bool = True,
        fsync: bool = False,
        flags: bool = False,
    ) -> None:
        self.path = Path(path)
        self.flags = bool(flags)  # a FLAGS column (append(..., flags=...)) after the others
        self.nrows = int(nrows)
        self.nchan = int(nchan)
        if self.nrows < 0 or self.nchan < 1:
            raise ValueError(f"{self.path}: nrows={nrows} and nchan={nchan} must be >= 0 and >= 1")
        if tscale not in TSCALE_UNITS:
            raise ValueError(f"tscale {tscale!r} is not one of {sorted(TSCALE_UNITS)}")
        if datadims is None:
            datadims = (self.nrows, 1, 1, 1, self.nchan)
        datadims = tuple(int(d) for d in datadims)
        if len(datadims) != 5 or datadims[4] != self.nchan or np.prod(datadims[:4]) != self.nrows:
            raise ValueError(
                f"datadims {datadims} is not (ntime,nbeam,npol,nband,nchan) with "
                f"ntime*nbeam*npol*nband = nrows = {self.nrows} and nchan = {self.nchan}"
            )
        self.datadims = datadims
        self.tscale = tscale
        self._fsync = fsync
        primary, table, self._columns = build_headers(
            self.nrows,
            self.nchan,
            datadims,
            tscale=tscale,
            projid=projid,
            instrume=instrume,
            telescop=telescop,
            backend=backend,
            header=header,
            params=params,
            history=history,
            flags=self.flags,
        )
        self._dtype = row_dtype(self._columns)
        if self._dtype.itemsize != table["NAXIS1"]:  # pragma: no cover - schema invariant
            raise AssertionError("row dtype does not match NAXIS1")
        self._constants = self._convert_constants(constants or {})
        self._chunk_rows = max(1, int(chunk_bytes) // self._dtype.itemsize)
        nbuf = 2 if self.nrows > self._chunk_rows else 1
        self._raws = [np.empty(self._chunk_rows * self._dtype.itemsize, np.uint8)
                      for _ in range(nbuf)]  # fmt: skip
        self._pending: list[Future | None] = [None] * nbuf  # the write of each buffer
        self._chunks = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sdfits-write")
        self.rows_written = 0
        self._closed = True  # until the temporary file exists
        self._aborted = False

        if not self.path.parent.is_dir():
            raise SDFITSError(self.path, "the output directory does not exist")
        remove_stale_parts(self.path)
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part"
        )
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._closed = False
        try:
            head = primary.tostring().encode("ascii") + table.tostring().encode("ascii")
            if preallocate:
                nbytes = self.nrows * self._dtype.itemsize
                _preallocate(fd, len(head) + nbytes + (-nbytes) % 2880)
            self._write(head)
        except BaseException:
            self.abort()
            raise

    # -- column handling --------------------------------------------------------------------

    def _convert_constants(self, constants: Mapping[str, Any]) -> dict[str, np.ndarray]:
        merged: dict[str, Any] = dict(DEFAULTS)
        unit = TSCALE_UNITS[self.tscale]
        merged["TSCALE"] = self.tscale
        merged["TUNIT7"] = unit if unit else "counts"
        for key, val in constants.items():
            if key not in SPEC:
                raise ValueError(f"{self.path}: constant {key!r} is not an SDFITS column")
            if np.ndim(val) != 0:
                raise ValueError(f"{self.path}: constant {key!r} must be a scalar")
            merged[key] = val
        return {k: self._convert(k, v) for k, v in merged.items()}

    def _convert(self, name: str, value: Any) -> np.ndarray:
        """``value`` as an array of the column's stored dtype (strings blank-padded)."""
        spec = SPEC[name]
        arr = np.asarray(value)
        if spec.code == "A":
            if arr.dtype == spec.dtype and _full_width(arr):  # as stored (carried raw)
                return arr
            if arr.dtype.kind not in "SU":
                raise TypeError(f"{self.path}: column {name} needs strings, got {arr.dtype}")
            if arr.dtype.kind == "U":
                arr = np.strings.encode(arr, "ascii")
            if arr.dtype.itemsize > spec.width and np.any(np.strings.str_len(arr) > spec.width):
                raise ValueError(f"{self.path}: column {name} value longer than {spec.width}")
            return np.strings.ljust(arr, spec.width, b" ").astype(spec.dtype)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{self.path}: column {name} needs numbers, got {arr.dtype}")
        if spec.code in "IJK" and arr.dtype.kind == "f":
            raise TypeError(f"{self.path}: integer column {name} given floats ({arr.dtype})")
        return arr

    def _sources(self, cols: Mapping[str, Any], n: int) -> dict[str, Any]:
        src: dict[str, Any] = {}
        for key, val in cols.items():
            if key not in SPEC:
                raise ValueError(f"{self.path}: {key!r} is not an SDFITS column")
            arr = self._convert(key, val)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
                raise ValueError(
                    f"{self.path}: column {key} has shape {arr.shape}, block has {n} rows"
                )
            src[key] = arr
        missing = []
        for name in SPEC:
            if name in src:
                continue
            if name == "DATE-OBS" and "UTCTIME" in cols:
                src[name] = iso_dateobs(cols["UTCTIME"])
            elif name == "FEED" and "FDNUM" in src:
                src[name] = src["FDNUM"].astype(np.int16) + 1
            elif name == "FEED" and "FDNUM" in self._constants:
                src[name] = self._constants["FDNUM"] + 1
            elif name in self._constants:
                src[name] = self._constants[name]
            elif name in ("BANDWID", "FREQRES"):
                cdelt = cols.get("CDELT1", self._constants.get("CDELT1"))
                if cdelt is None:
                    missing.append(name)
                else:
                    step = np.abs(np.asarray(cdelt, dtype=np.float64))
                    src[name] = step * self.nchan if name == "BANDWID" else step
            else:
                missing.append(name)
        if missing:
            raise ValueError(f"{self.path}: no values for columns {missing}")
        return src

    # -- writing ----------------------------------------------------------------------------

    def append(
        self,
        columns: Mapping[str, ArrayLike] | np.ndarray,
        data: ArrayLike,
        flags: ArrayLike | None = None,
    ) -> None:
        """Write the next block of rows.

        ``columns`` maps column names to per-row arrays (or scalars) or is a structured array;
        ``data`` has shape ``(n, nchan)`` or any shape ending in ``nchan`` (e.g.
        ``(ndump, nbeam, npol, nband, nchan)``), rows in C order; ``flags`` (uint8, the
        shape of ``data``; None = none flagged) fills the ``FLAGS`` column of a writer made
        with ``flags=True``. Any error aborts the file.
        """
        if self._closed:
            raise SDFITSError(self.path, "append() after the writer was closed or aborted")
        try:
            self._append(columns, data, flags)
        except BaseException:
            self.abort()
            raise

    def _append(self, columns, data: ArrayLike, flags: ArrayLike | None = None) -> None:
        data = np.asarray(data)
        if data.ndim < 1 or data.shape[-1] != self.nchan:
            raise ValueError(f"{self.path}: data shape {data.shape} does not end in {self.nchan}")
        if data.dtype.kind != "f":
            raise TypeError(f"{self.path}: data must be floating point, got {data.dtype}")
        data = data.reshape(-1, self.nchan)
        n = data.shape[0]
        if n == 0:
            return
        if self.rows_written + n > self.nrows:
            raise SDFITSError(
                self.path, f"{self.rows_written + n} rows appended but only {self.nrows} declared"
            )
        if isinstance(columns, np.ndarray):
            columns = {name: columns[name] for name in columns.dtype.names or ()}
        src = self._sources(columns, n)
        if flags is not None:
            if not self.flags:
                raise ValueError(f"{self.path}: flags given to a writer without a FLAGS column")
            fl = np.asarray(flags, dtype=np.uint8).reshape(n, self.nchan)
        step = self._chunk_rows
        for i in range(0, n, step):
            k = min(step, n - i)
            slot = self._chunks % len(self._raws)
            self._wait(slot)  # that buffer's previous write is done
            raw = self._raws[slot][: k * self._dtype.itemsize]
            out = raw.view(self._dtype)
            for name, val in src.items():
                out[name] = val if val.ndim == 0 else val[i : i + k]
            out["DATA"] = data[i : i + k]
            if self.flags:
                out["FLAGS"] = 0 if flags is None else fl[i : i + k]
            self._pending[slot] = self._writer.submit(self._write, raw)
            self._chunks += 1
        self.rows_written += n

    def _wait(self, slot: int | None = None) -> None:
        """Wait for the pending write of buffer ``slot`` (of every buffer); raise its error."""
        for k in range(len(self._pending)) if slot is None else (slot,):
            job, self._pending[k] = self._pending[k], None
            if job is not None:
                job.result()

    def _write(self, raw: np.ndarray | bytes) -> None:
        view = memoryview(raw).cast("B")
        while view.nbytes:
            done = self._file.write(view)
            view = view[done:]

    def close(self) -> None:
        """Finish the file and move it to ``path``; error if fewer rows than declared."""
        if self._aborted:
            raise SDFITSError(self.path, "the write was aborted; no file was written")
        if self._closed:
            return
        if self.rows_written != self.nrows:
            self.abort()
            raise SDFITSError(
                self.path, f"only {self.rows_written} of {self.nrows} declared rows were written"
            )
        try:
            self._wait()
            pad = (-(self.nrows * self._dtype.itemsize)) % 2880
            if pad:
                self._write(b"\0" * pad)
            if self._fsync:
                os.fsync(self._file.fileno())
            self._file.close()
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmp, 0o666 & ~umask)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._writer.shutdown()

    def abort(self) -> None:
        """Discard the temporary file; nothing appears at ``path``."""
        self._closed = self._aborted = True
        try:
            self._writer.shutdown(wait=True)  # no write may land after the unlink
            self._file.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> SDFITSWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.abort()
