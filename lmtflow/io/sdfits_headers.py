"""The headers of an LMT SDFITS file: the primary header and the ``SINGLE DISH`` table header
(site, receiver, data dimensions, parameters as JSON, HISTORY), with user cards checked."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from astropy.io import fits

from .. import __version__
from ..constants import LMT_SITE_ELEV_M, LMT_SITE_LAT_DEG, LMT_SITE_LONG_DEG
from .sdfits_columns import SPEC, TSCALE_UNITS, ColumnSpec, table_columns

SDFITS_VERSION = "lmtflow-sdfits-1"
"""Value of the primary ``SDFITVER`` keyword (profile version)."""

EXTNAME = "SINGLE DISH"

_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "TFIELDS")
_STRUCTURAL_PREFIX = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TNULL", "TSCAL", "TZERO")
_RESERVED = ("EXTNAME", "DATADIMS", "PARAMS", "CONTINUE", "END")


def _check_keyword(key: str) -> str:
    k = key.upper()
    if len(k) > 8:
        raise ValueError(f"header keyword {key!r} is longer than 8 characters")
    if k in _STRUCTURAL or k in _RESERVED or k.startswith(_STRUCTURAL_PREFIX):
        raise ValueError(f"header keyword {key!r} is reserved for the file structure")
    if k in SPEC or k == "DATA":
        raise ValueError(f"header keyword {key!r} is also a column; give it as a column")
    return k


def _as_cards(header: Mapping[str, Any] | Iterable[tuple] | None) -> list[tuple[str, Any, str]]:
    """Normalise ``{key: value | (value, comment)}`` or ``[(key, value[, comment])]``."""
    if header is None:
        return []
    items = header.items() if isinstance(header, Mapping) else header
    cards = []
    for item in items:
        if isinstance(header, Mapping):
            key, val = item
            val, comment = val if isinstance(val, tuple) else (val, "")
        else:
            key, val, comment = (*item, "")[:3]
        if isinstance(val, np.generic):
            val = val.item()
        cards.append((_check_keyword(key), val, comment))
    return cards


def build_headers(
    nrows: int,
    nchan: int,
    datadims: tuple[int, ...],
    *,
    tscale: str,
    projid: str,
    instrume: str,
    telescop: str = "LMT",
    backend: str = "WARES",
    header: Mapping[str, Any] | Iterable[tuple] | None = None,
    params: Mapping[str, Any] | None = None,
    history: Iterable[str] = (),
    flags: bool = False,
) -> tuple[fits.Header, fits.Header, tuple[ColumnSpec, ...]]:
    """Primary and ``SINGLE DISH`` table headers (NAXIS2 = ``nrows``) and the column list."""
    unit = TSCALE_UNITS[tscale]
    columns = table_columns(nchan, unit, flags)
    coldefs = [fits.Column(name=c.name, format=c.tform, unit=c.unit or None) for c in columns]
    table = fits.BinTableHDU.from_columns(coldefs, nrows=0).header
    table["NAXIS2"] = nrows
    table.set("EXTNAME", EXTNAME, "single-dish FITS convention")
    table.set("TELESCOP", telescop)
    table.set("PROJID", projid, "LMT project id")
    table.set("BACKEND", backend)
    table.set("INSTRUME", instrume, "receiver")
    table.set("SITELONG", LMT_SITE_LONG_DEG, "[deg] geodetic longitude of the site")
    table.set("SITELAT", LMT_SITE_LAT_DEG, "[deg] geodetic latitude of the site")
    table.set("SITEELEV", LMT_SITE_ELEV_M, "[m] height of the site")
    table.set("CTYPE4", "STOKES")
    dims = "(" + ",".join(str(int(d)) for d in datadims) + ")"
    table.set("DATADIMS", dims, "(ntime,nbeam,npol,nband,nchan), rows in C order")
    for key, val, comment in _as_cards(header):
        table.set(key, val, comment)
    if params is not None:
        text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
        table.set("PARAMS", text)  # long string (CONTINUE cards): no comment, astropy warns
    for line in history:
        table.add_history(line)

    primary = fits.Header()
    primary.set("SIMPLE", True, "conforms to FITS standard")
    primary.set("BITPIX", 8)
    primary.set("NAXIS", 0)
    primary.set("EXTEND", True)
    primary.set("TELESCOP", telescop)
    primary.set("INSTRUME", instrume, "receiver")
    primary.set("ORIGIN", "lmtflow", f"lmtflow {__version__}")
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    primary.set("DATE", now, "UTC date the file was written")
    primary.set("SDFITVER", SDFITS_VERSION, "LMT SDFITS profile version")
    primary.set("FITSVER", "4.0", "FITS standard version")
    return primary, table, columns
