"""ObsNum metadata carried from stage to stage in the SDFITS table header.

The raw SDFITS records what later steps need from the raw headers (spectral axis, source
position, map system, ObsNums); later steps copy these keywords forward and rebuild the
spectral axis from them, so no step after ingest needs the raw files.
"""

from __future__ import annotations

from typing import Any

from ..io.ifproc import IfProcHeader
from ..spectral import SpectralAxis

CARRIED = (
    "OBSNUM", "CALOBSN", "OBSPGM", "OBSGOAL", "BANK", "MAPCOORD", "SRCNAME", "SRCXPOS",
    "SRCYPOS", "VSOURCE", "VELSYS", "RESTFRQ", "SKYFREQ", "DFDC", "LINEOFF", "NCHAN0",
    "CHAN0", "DUMPTIME", "TRACKBM", "ELDES", "OBSSTART", "XLENGTH", "YLENGTH", "BSBEAMS",
    "NOFILEBM", "BADTSYBM",
)  # fmt: skip
"""``NOFILEBM``: beams of the bank without data (their roach file is missing), written at ingest;
``BADTSYBM``: beams dropped at calibration for a missing, zero, negative or NaN Tsys. Both
comma lists, present only when not empty; the QA reports them as missing beams."""


def obs_keywords(
    header: IfProcHeader, bank: int, axis: SpectralAxis, map_coord: int
) -> dict[str, Any]:
    """Table keywords describing an ObsNum and bank (values with comments)."""
    # Az/El maps are labelled with the source RA/Dec, as LMT's cubes are (reference §8.6).
    xpos, ypos = header.center(map_coord if map_coord else 1)
    return {
        "OBSNUM": (header.obsnum, "LMT ObsNum"),
        "CALOBSN": (header.calobsnum, "ObsNum of the HOT/SKY calibration"),
        "OBSPGM": (header.obspgm, "observing program"),
        "OBSGOAL": (header.obsgoal, ""),
        "BANK": (bank, "spectrometer bank"),
        "MAPCOORD": (map_coord, "0 Az/El, 1 Ra/Dec, 2 galactic offsets"),
        "SRCNAME": (header.source, "source name"),
        "SRCXPOS": (xpos, "[deg] source longitude (RA or l)"),
        "SRCYPOS": (ypos, "[deg] source latitude (Dec or b)"),
        "VSOURCE": (header.vsource_kms, "[km/s] source velocity"),
        "VELSYS": (header.velsys, "0 LSR, 1 barycentric"),
        "RESTFRQ": (axis.rest_freq_hz, "[Hz] line rest frequency"),
        "SKYFREQ": (axis.sky_freq_hz, "[Hz] sky frequency of channel (nchan0-1)/2"),
        "DFDC": (axis.dfdc, "[Hz] signed channel step"),
        "LINEOFF": (axis.line_offset_hz, "[Hz] line frequency offset"),
        "NCHAN0": (axis.nchan, "channels of the spectrometer"),
        "CHAN0": (0, "first original channel in DATA"),
        "DUMPTIME": (header.dump_time_s, "[s] spectrometer dump time"),
        "TRACKBM": (header.tracking_beam, "tracking beam (-1 array centre)"),
        "ELDES": (header.el_deg, "[deg] commanded elevation"),
        "OBSSTART": (header.date_obs, "UTC start of the observation"),
        "XLENGTH": (header.map_x_length_arcsec, "[arcsec] map length in x"),
        "YLENGTH": (header.map_y_length_arcsec, "[arcsec] map length in y"),
        "BSBEAMS": (",".join(map(str, header.bs_beams)), "Bs: beam on source in ON, in REF"),
    }


def carried_keywords(table_header: Any, **changes: Any) -> dict[str, Any]:
    """The carried keywords of an input SDFITS header, with some values changed."""
    out = {k: (table_header[k], table_header.comments[k]) for k in CARRIED if k in table_header}
    for key, value in changes.items():
        comment = out.get(key, (None, ""))[1]
        out[key] = (value, comment)
    return out


def axis_from_keywords(hdr: Any) -> SpectralAxis:
    """The full-band spectral axis recorded in a table header."""
    dfdc = float(hdr["DFDC"])
    nchan0 = int(hdr["NCHAN0"])
    return SpectralAxis(
        nchan=nchan0,
        bandwidth_hz=abs(dfdc) * nchan0,
        rest_freq_hz=float(hdr["RESTFRQ"]),
        sky_freq_hz=float(hdr["SKYFREQ"]),
        sideband=1 if dfdc < 0 else 0,
        vsource_kms=float(hdr["VSOURCE"]),
        velsys=int(hdr["VELSYS"]),
        line_offset_hz=float(hdr["LINEOFF"]),
    )
