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
    velo0_kms: float, dv_kms: float, rest_freq_hz: float, specsys: str, extra: dict[str, Any]
) -> fits.Header:
    """Header of a 1-D spectrum: VRAD axis in m/s, K, rest frequency, frame."""
    h = fits.Header()
    h["CTYPE1"] = "VRAD"
    h["CUNIT1"] = "m/s"
    h["CRVAL1"] = (velo0_kms * 1e3, "m/s")
    h["CDELT1"] = (dv_kms * 1e3, "m/s")
    h["CRPIX1"] = 1.0
    h["RESTFRQ"] = (rest_freq_hz, "Hz")
    h["SPECSYS"] = specsys
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
    names = ["vlsr_kms", "ta_k", "tsys_k", *beams]
    table = np.column_stack([velocity, spectrum, np.full(len(velocity), tsys), *beams.values()])
    head = "\n".join([*comments, "  ".join(names)])
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, fmt="%.6f", header=head)
    return Path(path)
