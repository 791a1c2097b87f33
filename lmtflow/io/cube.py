"""FITS writers for gridded cubes and 2-D maps (weight, noise), modelled on LMT's ``Cube.c``.

The cube is ``(nchan, ny, nx)`` float32 with NaN blanks, axes RA/Dec (or GLON/GLAT) with the
SFL projection about the source position and ``CDELT1 < 0`` (column 0 is east), and a radio
velocity axis ``VRAD`` in m/s with ``SPECSYS``, ``RESTFRQ`` and ``VELREF`` so that
``spectral_cube.SpectralCube.read`` gets units, frame and beam right. Differences from
lmtslr: ``CRVAL1/2`` keep full double precision, ``DATE-OBS``/``DATE`` are UTC (plus
``MJD-OBS``), ``BMAJ/BMIN`` should be the effective resolution (``effective_beam_fwhm``), HISTORY
carries the parameters as JSON, and the weight/noise planes get a complete 2-D celestial header.
The source velocity goes to ``VLSR`` (km/s, LMT's keyword) and the standard ``ZSOURCE``
(``v/c``), not to ``VSOURCE``: that is a deprecated FITS-WCS keyword whose unit is m/s, so
LMT's km/s value would be misread (and wcslib warns about it). Files are written to a
temporary file in the target directory and renamed, so a killed job never leaves a complete-
looking product.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.time import Time
from numpy.typing import NDArray

from .. import __version__
from ..constants import C_KMS
from ..grid_geometry import GridGeometry
from ..kernels import effective_beam_fwhm, lmt_beam_fwhm
from .atomic import atomic_path

__all__ = [
    "SpectralWCS",
    "celestial_header",
    "cube_header",
    "effective_beam_fwhm",
    "lmt_beam_fwhm",
    "write_cube",
    "write_plane",
]

_FRAMES = {
    "RADEC": ("RA---SFL", "DEC--SFL"),
    "GALACTIC": ("GLON-SFL", "GLAT-SFL"),
}
_VELREF_FRAME = {"LSRK": 1, "BARYCENT": 2, "TOPOCENT": 3}


@dataclass(frozen=True)
class SpectralWCS:
    """Radio-velocity axis: value ``crval_ms`` (m/s) at 1-based channel ``crpix``."""

    crval_ms: float
    cdelt_ms: float
    rest_freq_hz: float
    crpix: float = 1.0
    specsys: str = "LSRK"


def celestial_header(
    geometry: GridGeometry,
    center_lon_deg: float,
    center_lat_deg: float,
    frame: str = "RADEC",
) -> fits.Header:
    """The 2-D celestial WCS cards of the map (SFL about the map centre, ``CDELT1 < 0``)."""
    frame = frame.upper()
    if frame not in _FRAMES:
        raise ValueError(f"frame must be one of {sorted(_FRAMES)}, not {frame!r}")
    c1, c2 = _FRAMES[frame]
    cdelt = geometry.cell / 3600.0
    h = fits.Header()
    h["CTYPE1"] = (c1, "east is column 1")
    h["CRVAL1"] = (float(center_lon_deg), "deg")
    h["CDELT1"] = (-cdelt, f"deg ({geometry.cell:g} arcsec)")
    h["CRPIX1"] = float(geometry.crpix_x)
    h["CUNIT1"] = "deg"
    h["CTYPE2"] = c2
    h["CRVAL2"] = (float(center_lat_deg), "deg")
    h["CDELT2"] = (cdelt, "deg")
    h["CRPIX2"] = float(geometry.crpix_y)
    h["CUNIT2"] = "deg"
    if frame == "RADEC":
        h["EQUINOX"] = 2000.0
        h["RADESYS"] = "FK5"
    return h


def _date_utc(value: str | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds")
    return str(value)


def _common_cards(
    h: fits.Header,
    telescope: str,
    instrument: str | None,
    object_name: str | None,
    date_obs: str | datetime | None,
) -> None:
    h["TELESCOP"] = telescope
    if instrument:
        h["INSTRUME"] = (instrument, "SEQUOIA, 1MM, or OMAYA")
    if object_name:
        h["OBJECT"] = object_name
    if date_obs is not None:
        iso = _date_utc(date_obs)
        h["DATE-OBS"] = (iso, "UTC")
        with contextlib.suppress(ValueError):  # a non-ISO date keeps only DATE-OBS
            h["MJD-OBS"] = (Time(iso, scale="utc").mjd, "UTC")
        h["TIMESYS"] = "UTC"
    h["ORIGIN"] = (f"lmtflow {__version__}", "software")


def _beam_cards(h: fits.Header, beam_fwhm_arcsec: float | None) -> None:
    if beam_fwhm_arcsec is None:
        return
    deg = float(beam_fwhm_arcsec) / 3600.0
    h["BMAJ"] = (deg, f"deg ({beam_fwhm_arcsec:.2f} arcsec) effective")
    h["BMIN"] = (deg, "deg")
    h["BPA"] = (0.0, "deg")


def _tail_cards(
    h: fits.Header,
    extra: Mapping[str, Any] | None,
    history: Iterable[str],
    params: Mapping[str, Any] | None,
) -> None:
    for key, value in (extra or {}).items():
        h[key.upper()] = value
    h["DATE"] = (datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"), "UTC")
    for line in history:
        h.add_history(str(line))
    if params is not None:
        h.add_history(
            "lmtflow parameters (JSON): " + json.dumps(params, sort_keys=True, default=str)
        )


def _write_atomic(path: str | os.PathLike, hdu: fits.PrimaryHDU) -> Path:
    with atomic_path(path, fsync=True) as tmp:
        hdu.writeto(tmp, overwrite=True)
    return Path(path)


def cube_header(
    geometry: GridGeometry,
    *,
    center_lon_deg: float,
    center_lat_deg: float,
    spectral: SpectralWCS,
    beam_fwhm_arcsec: float | None,
    frame: str = "RADEC",
    bunit: str = "K",
    telescope: str = "LMT",
    instrument: str | None = None,
    object_name: str | None = None,
    date_obs: str | datetime | None = None,
    vlsr_kms: float | None = None,
    vsource_kms: float | None = None,
    nchan0: int | None = None,
    chan0: int | None = None,
    obsnums: Iterable[int] = (),
    history: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> fits.Header:
    """The header of a cube (:func:`write_cube`) without its data-shape cards.

    ``beam_fwhm_arcsec`` goes to BMAJ/BMIN (use ``effective_beam_fwhm``); ``params`` is
    recorded as one JSON HISTORY entry, ``history`` as plain HISTORY lines, ``obsnums`` as
    ``OBSNUMS`` plus one ``COMMENT OBSNUM n`` each, ``extra`` as additional keywords.
    """
    h = fits.Header()
    _common_cards(h, telescope, instrument, object_name, date_obs)
    h["BUNIT"] = (bunit, "Ta*" if bunit == "K" else "")
    h.update(celestial_header(geometry, center_lon_deg, center_lat_deg, frame))
    h["CTYPE3"] = "VRAD"
    h["CRVAL3"] = (float(spectral.crval_ms), "m/s")
    h["CDELT3"] = (float(spectral.cdelt_ms), "m/s")
    h["CRPIX3"] = float(spectral.crpix)
    h["CUNIT3"] = "m/s"
    _beam_cards(h, beam_fwhm_arcsec)
    if vlsr_kms is not None:
        h["VLSR"] = (float(vlsr_kms), "km/s")
    if vsource_kms is not None:
        h["ZSOURCE"] = (float(vsource_kms) / C_KMS, "source velocity / c (Header.LineData.VSource)")
    h["RESTFRQ"] = (float(spectral.rest_freq_hz), "Hz")
    specsys = spectral.specsys.upper()
    h["VELREF"] = (256 + _VELREF_FRAME.get(specsys, 1), "radio velocity (AIPS convention)")
    h["SPECSYS"] = specsys
    h["SSYSOBS"] = "TOPOCENT"
    if nchan0 is not None:
        h["NCHAN0"] = (int(nchan0), "number of channels of original spectra")
    if chan0 is not None:
        h["CHAN0"] = (int(chan0), "first channel from original spectra")
    obsnums = [int(o) for o in obsnums]
    if obsnums:
        h["OBSNUMS"] = (",".join(map(str, obsnums)), "LMT observation numbers")
        h.add_comment("LMT observing numbers in this data:")
        for o in obsnums:
            h.add_comment(f"OBSNUM {o}")
    _tail_cards(h, extra, history, params)
    return h


def write_cube(
    path: str | os.PathLike, cube: NDArray, geometry: GridGeometry, **cards: Any
) -> Path:
    """Write ``cube`` ``(nchan, ny, nx)`` (FITS order, NaN blanks) atomically; return the path.
    ``cards``: the keywords of :func:`cube_header`. (A cube too large for memory is written
    strip by strip with :func:`lmtflow.io.cube_file.cube_file` and the same header.)"""
    data = np.asarray(cube, dtype=np.float32)
    if data.ndim != 3 or data.shape[1:] != geometry.shape:
        raise ValueError(f"cube shape {data.shape} does not match (nchan, {geometry.shape})")
    return _write_atomic(path, fits.PrimaryHDU(data=data, header=cube_header(geometry, **cards)))


def write_plane(
    path: str | os.PathLike,
    image: NDArray,
    geometry: GridGeometry,
    *,
    center_lon_deg: float,
    center_lat_deg: float,
    bunit: str,
    frame: str = "RADEC",
    beam_fwhm_arcsec: float | None = None,
    telescope: str = "LMT",
    instrument: str | None = None,
    object_name: str | None = None,
    date_obs: str | datetime | None = None,
    history: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a 2-D map ``(ny, nx)`` (weight, RMS, radiometer noise) atomically as float32."""
    data = np.asarray(image, dtype=np.float32)
    if data.shape != geometry.shape:
        raise ValueError(f"image shape {data.shape} does not match {geometry.shape}")
    h = fits.Header()
    _common_cards(h, telescope, instrument, object_name, date_obs)
    h["BUNIT"] = bunit
    h.update(celestial_header(geometry, center_lon_deg, center_lat_deg, frame))
    _beam_cards(h, beam_fwhm_arcsec)
    _tail_cards(h, extra, history, params)
    return _write_atomic(path, fits.PrimaryHDU(data=data, header=h))
