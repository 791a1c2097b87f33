"""Sidereal time at the LMT, for the SDFITS ``LST`` column and the simulator's geometry.

GMST from the IAU linear expression in UT (UTC is used for UT1: |UT1-UTC| < 0.9 s, i.e. well
under the 0.1 s the column is read to by GBT tools, which only label with it). Whole arrays,
no astropy time scales (no IERS table needed offline).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import LMT_SITE_LONG_DEG

SECONDS_PER_SIDEREAL_DAY = 86400.0
"""``LST`` is in seconds of sidereal time, 0 .. 86400 (GBT SDFITS convention)."""


def gmst_rad(unix_seconds: ArrayLike) -> NDArray[np.float64]:
    """Greenwich mean sidereal time (rad, 0..2pi) of unix UTC times."""
    days = np.asarray(unix_seconds, dtype=float) / 86400.0 + 2440587.5 - 2451545.0
    hours = np.mod(18.697374558 + 24.06570982441908 * days, 24.0)
    return hours * (np.pi / 12.0)


def lst_seconds(
    unix_seconds: ArrayLike, longitude_deg: float = LMT_SITE_LONG_DEG
) -> NDArray[np.float64]:
    """Local mean sidereal time in seconds (0..86400) at ``longitude_deg`` (east positive)."""
    lst = gmst_rad(unix_seconds) + np.radians(longitude_deg)
    return np.mod(lst, 2 * np.pi) * (SECONDS_PER_SIDEREAL_DAY / (2 * np.pi))
