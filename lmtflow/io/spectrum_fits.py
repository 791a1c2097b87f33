"""Write and read a 1-D spectrum product: FITS with a spectral WCS, and an ASCII table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from .. import __version__
from .atomic import atomic_path


def spectrum_header(
    velo0_kms: float,
    dv_kms: float,
    rest_freq_hz: float,
    specsys: str,
    extra: dict[str, Any],
    freq_axis: bool = False,
) -> fits.Header:
    """Header of a 1-D spectrum: VRAD axis in m/s, K, rest frequency, frame.

    ``freq_axis``: a FREQ axis instead (``velo0_kms`` / ``dv_kms`` are then the first
    frequency and the step in Hz; no rest frequency if ``rest_freq_hz`` is 0), as for RSR.
    """
    h = fits.Header()
    if freq_axis:
        h["CTYPE1"] = "FREQ"
        h["CUNIT1"] = "Hz"
        h["CRVAL1"] = (velo0_kms, "Hz")
        h["CDELT1"] = (dv_kms, "Hz")
    else:
        h["CTYPE1"] = "VRAD"
        h["CUNIT1"] = "m/s"
        h["CRVAL1"] = (velo0_kms * 1e3, "m/s")
        h["CDELT1"] = (dv_kms * 1e3, "m/s")
    h["CRPIX1"] = 1.0
    if rest_freq_hz:
        h["RESTFRQ"] = (rest_freq_hz, "Hz")
    h["SPECSYS"] = specsys
    if not freq_axis:
        h["VELREF"] = 257 if specsys == "LSRK" else 258
    h["BUNIT"] = ("K", "Ta*")
    h["TELESCOP"] = "LMT"
    h["ORIGIN"] = f"lmtflow {__version__}"
    for key, value in extra.items():
        h[key] = value
    return h


def write_spectrum_fits(
    path: str | Path,
    spectrum: NDArray,
    header: fits.Header,
    tables: dict[str, dict[str, NDArray]],
    params: dict[str, Any] | None = None,
) -> Path:
    """Primary HDU = the final spectrum; each of ``tables`` a binary-table extension."""
    primary = fits.PrimaryHDU(np.asarray(spectrum, np.float32), header=header)
    if params is not None:
        primary.header.add_history(
            "lmtflow parameters (JSON): " + json.dumps(params, sort_keys=True)
        )
    hdus = [primary]
    for name, cols in tables.items():
        columns = []
        for key, values in cols.items():
            arr = np.asarray(values)
            fmt = f"{arr.shape[1]}E" if arr.ndim == 2 else ("J" if arr.dtype.kind in "iu" else "D")
            columns.append(
                fits.Column(key, fmt, array=arr.astype(np.float32) if arr.ndim == 2 else arr)
            )
        hdus.append(fits.BinTableHDU.from_columns(columns, name=name))
    with atomic_path(path) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)
    return Path(path)


def velocity_axis(header: fits.Header, n: int) -> NDArray[np.float64]:
    """Velocity (km/s) of every channel of a 1-D spectrum written here."""
    return (header["CRVAL1"] + (np.arange(n) + 1 - header["CRPIX1"]) * header["CDELT1"]) / 1e3


def write_spectrum_ascii(
    path: str | Path,
    velocity: NDArray,
    spectrum: NDArray,
    tsys: float,
    beams: dict[str, NDArray],
    comments: list[str],
) -> Path:
    """Columns: velocity (km/s), Ta* (K), Tsys (K), then one column per beam (K)."""
    columns = {"vlsr_kms": velocity, "ta_k": spectrum, "tsys_k": np.full(len(velocity), tsys)}
    return write_table_ascii(path, {**columns, **beams}, comments)


def write_table_ascii(
    path: str | Path, columns: dict[str, NDArray], comments: list[str], fmt: str = "%.6f"
) -> Path:
    """An ASCII table: ``#`` comments, a ``#`` line of column names, one row per channel."""
    table = np.column_stack(list(columns.values()))
    head = "\n".join([*comments, "  ".join(columns)])
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, fmt=fmt, header=head)
    return Path(path)
