"""Tsys: the raw SDFITS of a Cal ObsNum -> Tsys spectra per beam and polarisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..calibration import tsys_spectrum
from ..constants import BufPos
from ..errors import ObsNumError, ProductError
from ..io.atomic import atomic_path
from ..io.sdfits_reader import SDFITSReader
from .sdfits_copy import per_dump


def make_tsys(raw_sdfits: str | Path, out: str | Path, bdrop: int = 50, edrop: int = 100) -> Path:
    """Write the Tsys spectra (nbeam, npol, nchan) of a Cal ObsNum's HOT/SKY dumps."""
    with SDFITSReader(raw_sdfits) as r:
        hdr = r.header
        obsnum = int(hdr["OBSNUM"])
        if str(hdr.get("OBSPGM", "")).strip() != "Cal":
            raise ObsNumError(obsnum, f"{raw_sdfits} is not a Cal ObsNum (ObsPgm {hdr['OBSPGM']})")
        per = r.rows_per_dump
        ntime, nbeam, npol, nband, nchan = r.datadims
        bufpos = per_dump(r.column("BUFPOS"), per)
        beams = r.column("FDNUM")[:per].reshape(nbeam, npol * nband)[:, 0]
        data = r.data().reshape(ntime, nbeam, npol, nband, nchan)
        hot, sky = data[bufpos == BufPos.HOT], data[bufpos == BufPos.SKY]
    if len(hot) == 0 or len(sky) == 0:
        raise ObsNumError(obsnum, f"Cal has {len(hot)} HOT and {len(sky)} SKY dumps; needs both")
    spectra, scalar = tsys_spectrum(hot[:, :, :, 0], sky[:, :, :, 0], bdrop, edrop)
    primary = fits.PrimaryHDU(spectra)
    h = primary.header
    h["BUNIT"] = "K"
    h["OBSNUM"] = (obsnum, "Cal ObsNum")
    h["BANK"] = int(hdr.get("BANK", 0))
    h["NHOT"], h["NSKY"] = len(hot), len(sky)
    h["PARAMS"] = json.dumps({"bdrop": bdrop, "edrop": edrop}, sort_keys=True)
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("BEAM", "I", array=beams.astype(np.int16)),
            fits.Column("TSYS", f"{npol}D", unit="K", array=scalar.reshape(nbeam, npol)),
        ],
        name="BEAMS",
    )
    with atomic_path(out) as tmp:
        fits.HDUList([primary, table]).writeto(tmp, overwrite=True)
    return Path(out)


def read_tsys(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beams (nbeam,), Tsys spectra (nbeam, npol, nchan) and scalars (nbeam, npol)."""
    try:
        with fits.open(path) as hdul:
            spectra = np.asarray(hdul[0].data, dtype=np.float32)
            beams = np.asarray(hdul["BEAMS"].data["BEAM"], dtype=int)
            scalar = np.asarray(hdul["BEAMS"].data["TSYS"], dtype=float).reshape(len(beams), -1)
    except (OSError, KeyError, TypeError) as exc:
        raise ProductError(f"{path}: not a Tsys file ({exc})") from exc
    return beams, spectra, scalar
