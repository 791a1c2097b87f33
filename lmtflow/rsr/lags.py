"""Lags -> spectra through the corr_cal matrices (reference §3.2), whole arrays."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .constants import USABLE

DC_LAG0 = 65
"""The demodulated ACF's DC offset is the mean of lags 65..255 (§3.2 step 2)."""


def makespectrum(
    acf: NDArray, corr_cal: NDArray, bad: NDArray | None = None, g_norm: NDArray | None = None
) -> NDArray[np.float64]:
    """Spectra (..., 6, 256) of normalised ACFs (..., 6, 256).

    ``corr_cal`` (6, 256, 256); ``bad`` (6, 256) bad-lag mask (those lags count as 0);
    ``g_norm`` (6, 256) for demodulated ACFs: the DC offset (mean of lags 65..255 of
    ACF x g_norm) is removed. Channels with IF outside 1.3-7.9 GHz are NaN.
    """
    r = np.array(acf, dtype=np.float64)
    if bad is not None:
        r[..., bad] = np.nan
    if g_norm is not None:
        rg = r * g_norm
        dc = np.nanmean(rg[..., DC_LAG0:], axis=-1, keepdims=True)
        r = (rg - dc) / g_norm
    spec = np.einsum("bkj,...bj->...bk", corr_cal, np.nan_to_num(r, nan=0.0))
    spec[..., ~USABLE] = np.nan
    return spec
