"""Carry the per-row columns of an input SDFITS block into the next stage's writer."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Columns the writer derives itself, or that a stage always sets anew.
_DERIVED = {"DATA", "TSCALE", "TUNIT7", "FEED", "BANDWID", "FREQRES", "DATE-OBS", "FLAGS"}


def carry_columns(
    columns: dict[str, np.ndarray], rows: np.ndarray | slice, drop: Iterable[str] = ()
) -> dict[str, np.ndarray]:
    """The input columns for the selected rows, minus derived ones and ``drop``."""
    skip = _DERIVED | set(drop)
    return {k: v[rows] for k, v in columns.items() if k not in skip}


def per_dump(values: np.ndarray, rows_per_dump: int) -> np.ndarray:
    """One value per dump from a per-row column (rows are dump-major)."""
    return values[::rows_per_dump]
