"""SDFITS input/output following the LMT SDFITS profile.

One row per spectrum (dump x beam x pol x band), rows in C order of the logical array
``data[ntime, nbeam, npol, nband, nchan]`` (table keyword ``DATADIMS``), so a block of dumps
is a contiguous row range. :class:`SDFITSWriter` streams rows atomically into a file;
:class:`SDFITSReader` reads row ranges from a memory map. The schema is in
:mod:`lmtflow.io.sdfits_columns`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .sdfits_columns import (
    COLUMN_NAMES,
    COLUMNS,
    DEFAULTS,
    channel_frequencies,
    iso_dateobs,
    obsmode,
    spectral_axis_columns,
)
from .sdfits_errors import SDFITSError
from .sdfits_reader import SDFITSBlock, SDFITSReader
from .sdfits_writer import SDFITSWriter

__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "DEFAULTS",
    "SDFITSBlock",
    "SDFITSError",
    "SDFITSReader",
    "SDFITSWriter",
    "channel_frequencies",
    "iso_dateobs",
    "obsmode",
    "read_sdfits",
    "spectral_axis_columns",
    "write_sdfits",
]


def write_sdfits(
    path: str | os.PathLike,
    columns: Mapping[str, ArrayLike] | np.ndarray,
    data: ArrayLike,
    **kwargs: Any,
) -> None:
    """Write a whole SDFITS file at once; ``kwargs`` as for :class:`SDFITSWriter`."""
    data = np.asarray(data)
    nchan = data.shape[-1]
    with SDFITSWriter(path, data.size // nchan, nchan, **kwargs) as w:
        w.append(columns, data)


def read_sdfits(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Read a whole (small) SDFITS file: all columns but ``DATA``, and ``DATA`` (nrows, nchan)."""
    with SDFITSReader(path) as r:
        return r.columns(), r.data()
