"""The LMT SDFITS profile: column schema, defaults, OBSMODE names and spectral-axis helpers.

One row is one spectrum (dump x beam x pol x band). Columns follow GBT's SDFITS layout so that
dysh's ``GBTFITSLoad`` and gbtgridder read the files (``DATA`` is column 7, at least two
columns of every numeric type); the LMT columns ``BUFPOS``, ``LMTXOFF``, ``LMTYOFF``, ``RMS`` and
``UTCTIME`` follow. See ``reference/sdfits_cubes_gridders.md`` section 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..spectral import SpectralAxis


@dataclass(frozen=True)
class ColumnSpec:
    """One fixed-width column: FITS name, TFORM code and width, unit."""

    name: str
    code: str  # FITS TFORM letter: A, I, J, E, D (DATA is nE)
    width: int = 1  # characters for 'A', else 1
    unit: str = ""
    doc: str = ""

    @property
    def tform(self) -> str:
        return f"{self.width}{self.code}"

    @property
    def dtype(self) -> np.dtype:
        """Big-endian numpy dtype as stored in the file."""
        if self.code == "A":
            return np.dtype(f"S{self.width}")
        return np.dtype(_BIG[self.code])


_BIG = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "L": "S1"}

DATA_COLUMN = 7
"""1-based position of ``DATA``: dysh and GBT tools expect column 7."""

# Order matters: DATA must be the 7th column.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("OBJECT", "A", 32, "", "source name"),
    ColumnSpec("BANDWID", "D", 1, "Hz", "|CDELT1| * nchan"),
    ColumnSpec("DATE-OBS", "A", 22, "", "UTC start of the dump, YYYY-MM-DDThh:mm:ss.ss"),
    ColumnSpec("DURATION", "D", 1, "s", "dump length"),
    ColumnSpec("EXPOSURE", "D", 1, "s", "effective integration time"),
    ColumnSpec("TSYS", "D", 1, "K", "system temperature"),
    # column 7: DATA (nchan E), inserted by data_column()
    ColumnSpec("TUNIT7", "A", 6, "", "unit of DATA, read by gbtgridder"),
    ColumnSpec("CTYPE1", "A", 8, "", "FREQ-OBS"),
    ColumnSpec("CRVAL1", "D", 1, "Hz", "topocentric sky frequency at CRPIX1"),
    ColumnSpec("CRPIX1", "D", 1, "", "1-based reference pixel"),
    ColumnSpec("CDELT1", "D", 1, "Hz", "signed channel step"),
    ColumnSpec("CTYPE2", "A", 8, "", "RA, GLON, AZ"),
    ColumnSpec("CRVAL2", "D", 1, "deg", "longitude of this beam"),
    ColumnSpec("CTYPE3", "A", 8, "", "DEC, GLAT, EL"),
    ColumnSpec("CRVAL3", "D", 1, "deg", "latitude of this beam"),
    ColumnSpec("CRVAL4", "I", 1, "", "polarization code (-5 XX, -6 YY, -1 RR, -2 LL)"),
    ColumnSpec("SCAN", "J", 1, "", "ObsNum"),
    ColumnSpec("OBSMODE", "A", 32, "", "PROC:OBSTYPE:SUBOBSMODE"),
    ColumnSpec("FRONTEND", "A", 16, "", "receiver"),
    ColumnSpec("OBSERVER", "A", 32, "", "observer (telescope operator) from the raw header"),
    ColumnSpec("TCAL", "E", 1, "K", "noise-diode temperature (0: none)"),
    ColumnSpec("VELDEF", "A", 8, "", "velocity definition, RADI-LSR"),
    ColumnSpec("VFRAME", "D", 1, "m/s", "velocity of the VELDEF frame w.r.t. the telescope"),
    # VFRAME is Header.Sky.ObsVel (lmtslr: v_sky = ObsVel + V_lsr): the LMT sets its LO once
    # per ObsNum from it, so the topocentric axis and VFRAME agree row by row. GBT tools get
    # the LSR frequency of a channel as f_topo * sqrt((1 + b) / (1 - b)), b = VFRAME / c.
    ColumnSpec("RVSYS", "D", 1, "m/s", "VELOCITY + VFRAME"),
    ColumnSpec("OBSFREQ", "D", 1, "Hz", "sky frequency at the centre of the spectrum"),
    ColumnSpec("LST", "D", 1, "s", "local mean sidereal time at the LMT (lmtflow.sidereal)"),
    ColumnSpec("AZIMUTH", "D", 1, "deg", "telescope azimuth"),
    ColumnSpec("ELEVATIO", "D", 1, "deg", "telescope elevation"),
    ColumnSpec("RESTFREQ", "D", 1, "Hz", "line rest frequency"),
    ColumnSpec("FREQRES", "D", 1, "Hz", "channel resolution"),
    ColumnSpec("EQUINOX", "D", 1, "", "equinox of CRVAL2/3"),
    ColumnSpec("RADESYS", "A", 8, "", "FK5, ICRS"),
    ColumnSpec("VELOCITY", "D", 1, "m/s", "source velocity"),
    ColumnSpec("FEED", "I", 1, "", "beam, 1-based"),
    ColumnSpec("SIDEBAND", "A", 1, "", "U or L"),
    ColumnSpec("PROCSEQN", "I", 1, "", "scan sequence number in the procedure"),
    ColumnSpec("PROCSIZE", "I", 1, "", "scans in the procedure"),
    ColumnSpec("SIG", "A", 1, "", "T"),
    ColumnSpec("CAL", "A", 1, "", "F: no noise diode"),
    ColumnSpec("IFNUM", "I", 1, "", "band (bank), 0-based"),
    ColumnSpec("PLNUM", "I", 1, "", "polarization, 0-based"),
    ColumnSpec("FDNUM", "I", 1, "", "beam, 0-based"),
    ColumnSpec("INTNUM", "J", 1, "", "dump index in the ObsNum"),
    ColumnSpec("TSCALE", "A", 8, "", "Raw (counts) or Ta* (K)"),
    ColumnSpec("BUFPOS", "I", 1, "", "raw BufPos: 0 ON, 1 REF, 2 SKY, 3 HOT, >=100 grid"),
    ColumnSpec("LMTXOFF", "D", 1, "arcsec", "beam offset from the source, map x"),
    ColumnSpec("LMTYOFF", "D", 1, "arcsec", "beam offset from the source, map y"),
    ColumnSpec("RMS", "E", 1, "K", "baseline rms (0 before baselining)"),
    ColumnSpec("UTCTIME", "D", 1, "s", "UTC start of the dump, unix seconds"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
SPEC: dict[str, ColumnSpec] = {c.name: c for c in COLUMNS}

DEFAULTS: dict[str, Any] = {
    "CTYPE1": "FREQ-OBS",
    "CTYPE2": "RA",
    "CTYPE3": "DEC",
    "TCAL": 0.0,
    "OBSERVER": "",
    "VELDEF": "RADI-LSR",
    "EQUINOX": 2000.0,
    "RADESYS": "FK5",
    "PROCSEQN": 1,
    "PROCSIZE": 1,
    "SIG": "T",
    "CAL": "F",
    "RMS": 0.0,
}
"""Values used for columns that neither the block nor the writer's constants give."""

DERIVED: tuple[str, ...] = ("DATE-OBS", "FEED", "BANDWID", "FREQRES", "TSCALE", "TUNIT7")
"""Columns the writer fills itself when not given (from UTCTIME, FDNUM, CDELT1, tscale)."""

REQUIRED_FOR_READ: tuple[str, ...] = (
    "DATA",
    "DATE-OBS",
    "SCAN",
    "IFNUM",
    "PLNUM",
    "FDNUM",
    "CRVAL1",
    "CRPIX1",
    "CDELT1",
    "TSYS",
    "EXPOSURE",
)
"""Columns the reader insists on by default (a file dysh wrote from ours has them too)."""

TSCALE_UNITS = {"Raw": "", "Ta*": "K", "Ta": "K", "Tmb": "K"}
"""TSCALE value -> TUNIT of DATA (blank means counts for dysh)."""


def data_column_spec(nchan: int, unit: str) -> ColumnSpec:
    """The ``DATA`` column of an ``nchan``-channel file."""
    return ColumnSpec("DATA", "E", int(nchan), unit, "spectrum")


FLAGS_COLUMN = "FLAGS"
"""Optional last column: one byte per channel, non-zero = flagged (dysh reads it as flags;
the bits say which origin flagged it, lmtflow.flags.resolve.ORIGIN_BITS). DATA stays as is."""


def table_columns(nchan: int, unit: str, flags: bool = False) -> tuple[ColumnSpec, ...]:
    """All columns in file order, ``DATA`` at position 7 (``FLAGS`` last when asked for)."""
    k = DATA_COLUMN - 1
    extra = (ColumnSpec(FLAGS_COLUMN, "B", int(nchan), "", "flag bits"),) if flags else ()
    return (*COLUMNS[:k], data_column_spec(nchan, unit), *COLUMNS[k:], *extra)


def row_dtype(columns: tuple[ColumnSpec, ...]) -> np.dtype:
    """Packed big-endian structured dtype of one table row."""
    fields = []
    for c in columns:
        if c.name == "DATA":
            fields.append((c.name, ">f4", (c.width,)))
        elif c.name == FLAGS_COLUMN:
            fields.append((c.name, "u1", (c.width,)))
        else:
            fields.append((c.name, c.dtype))
    return np.dtype(fields)


# --- OBSMODE -----------------------------------------------------------------------------

_OBSPGM = {"Map": ("OTF", "MAP"), "Ps": ("OnOff", "PSWITCHON"), "Bs": ("Nod", "BSWITCH")}


def obsmode(obspgm: str, stage: str) -> str:
    """``OBSMODE`` for an LMT ObsPgm (``Map``, ``Ps``, ``Bs``) and a stage (``raw``, ``cal``...).

    Calibrated and later stages use dysh's procedure names (``OTF:MAP:NONE``,
    ``OnOff:PSWITCHON:NONE``, ``Nod:BSWITCH:NONE``); raw-count files use the procedure
    ``RAW`` (e.g. ``RAW:MAP:NONE``) so that nothing treats them as calibratable GBT scans.
    Calibrated files must be read with dysh ``gettp``, never ``getps``/``getnod`` (those would
    calibrate a second time).
    """
    try:
        proc, obstype = _OBSPGM[obspgm]
    except KeyError:
        raise ValueError(f"ObsPgm {obspgm!r} is not one of {sorted(_OBSPGM)}") from None
    if stage == "raw":
        proc = "RAW"
    return f"{proc}:{obstype}:NONE"


# --- times ----------------------------------------------------------------------------------


def iso_dateobs(unix_seconds: ArrayLike) -> NDArray[np.bytes_]:
    """``DATE-OBS`` strings (``YYYY-MM-DDThh:mm:ss.ss``, rounded to 10 ms) of unix times.

    Digits by integer arithmetic: only the few distinct days go through numpy's datetime
    formatting, which takes microseconds per string (0.6 s for a bench ObsNum's rows).
    """
    t = np.asarray(unix_seconds, dtype=np.float64)
    centis = np.round(t * 100.0).astype(np.int64).reshape(-1)
    day, rem = np.divmod(centis, 8_640_000)
    days, which = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype("S10")
    out = np.empty((centis.size, 22), dtype=np.uint8)
    out[:, :10] = dates.view(np.uint8).reshape(-1, 10)[which.reshape(-1)]
    out[:, 10], out[:, 13], out[:, 16], out[:, 19] = ord("T"), ord(":"), ord(":"), ord(".")
    fields = (rem // 360_000, rem // 6000 % 60, rem // 100 % 60, rem % 100)
    for col, value in zip((11, 14, 17, 20), fields, strict=True):
        out[:, col] = 48 + value // 10
        out[:, col + 1] = 48 + value % 10
    return out.view("S22").reshape(t.shape)


# --- spectral axis --------------------------------------------------------------------------


def spectral_axis_columns(
    axis: SpectralAxis | None = None,
    *,
    chan0: int = 0,
    nchan: int | None = None,
    sky_freq_hz: ArrayLike | None = None,
    dfdc_hz: float | None = None,
    ch0: float | None = None,
) -> dict[str, Any]:
    """Per-row axis columns of a spectrum holding original channels ``chan0 .. chan0+nchan-1``.

    Original channel ``ch`` has topocentric sky frequency ``sky_freq_hz + (ch - ch0) * dfdc_hz``.
    Give these either through ``axis`` (a :class:`~lmtflow.spectral.SpectralAxis`) or as plain
    numbers (``sky_freq_hz`` may be an array, one value per row). Returns ``CRVAL1`` (= the sky
    frequency of original channel ``ch0``), ``CRPIX1`` (its 1-based pixel in the slice,
    ``ch0 - chan0 + 1``), ``CDELT1`` (signed Hz), ``BANDWID``, ``FREQRES`` and ``OBSFREQ``
    (sky frequency at the centre of the slice).
    """
    if axis is not None:
        if sky_freq_hz is not None or dfdc_hz is not None or ch0 is not None:
            raise ValueError("give either a SpectralAxis or sky_freq_hz/dfdc_hz/ch0, not both")
        sky_freq_hz, dfdc_hz, ch0 = axis.sky_freq_hz, axis.dfdc, axis.ch0
        full = axis.nchan
        nchan = full - chan0 if nchan is None else nchan
        if chan0 < 0 or nchan < 1 or chan0 + nchan > full:
            raise ValueError(f"slice chan0={chan0}, nchan={nchan} is outside 0..{full - 1}")
    else:
        if sky_freq_hz is None or dfdc_hz is None or nchan is None:
            raise ValueError("without a SpectralAxis, sky_freq_hz, dfdc_hz and nchan are needed")
        if ch0 is None:
            raise ValueError("without a SpectralAxis, ch0 (reference channel) is needed")
    crval1 = np.asarray(sky_freq_hz, dtype=np.float64)
    crpix1 = float(ch0) - float(chan0) + 1.0
    cdelt1 = float(dfdc_hz)
    centre = crval1 + ((int(nchan) + 1) / 2.0 - crpix1) * cdelt1
    scalar = crval1.ndim == 0
    return {
        "CRVAL1": float(crval1) if scalar else crval1,
        "CRPIX1": crpix1,
        "CDELT1": cdelt1,
        "BANDWID": abs(cdelt1) * int(nchan),
        "FREQRES": abs(cdelt1),
        "OBSFREQ": float(centre) if scalar else centre,
    }


def channel_frequencies(
    crval1: float, cdelt1: float, crpix1: float, nchan: int
) -> NDArray[np.float64]:
    """Sky frequency (Hz) of every channel of a row: ``crval1 + (i + 1 - crpix1) * cdelt1``."""
    return crval1 + (np.arange(nchan, dtype=np.float64) + 1.0 - crpix1) * cdelt1
