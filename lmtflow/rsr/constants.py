"""RSR instrument constants: boards, slots, channel frequencies, corr_cal, diffsat.

Reference: ``rsr_raw_and_algorithms.md`` §2.4 (boards), §2.7 (corr_cal), §3.2-3.3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

NCHASSIS = 4
NBOARD = 6
NLAG = 256
SLOTS = (5, 8, 11, 14, 17, 20)
BANDS = (1, 3, 2, 4, 6, 5)
CHAN_GHZ = 0.03125
SAMPLES_PER_S = 48124.0
"""AccSamples per second of integration."""
BLANK = -32767.0
FREQ_ORDER = (0, 2, 1, 3, 5, 4)
"""Boards in increasing sky frequency."""

LO1_LOW, LO1_HIGH = 93.4, 112.296  # Rsfend LOs (GHz)
LO2_LOW, LO2_HIGH = 15.4, 21.7  # chassis (backend) LOs (GHz)

IF_GHZ = 0.01953125 + CHAN_GHZ * np.arange(NLAG)
"""IF centre (GHz) of lag-transform channel k."""
USABLE = (IF_GHZ >= 1.3) & (IF_GHZ <= 7.9)
"""Channels kept by makespectrum (k = 41..252)."""

MERGE_F0 = 71.71953125
MERGE_NCHAN = 1297
"""The composite grid: MERGE_F0 + 0.03125 j GHz, j < 1297 (§3.10)."""


def board_offsets(
    lo1: tuple[float, float] = (LO1_LOW, LO1_HIGH), lo2: tuple[float, float] = (LO2_LOW, LO2_HIGH)
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(x0, sign) per board index: sky = x0 + sign * IF (table in §2.4)."""
    lo, hi = lo1
    low2, high2 = lo2
    x0 = np.array([lo - high2, lo, lo - low2, hi - high2, hi, hi - low2])
    sign = np.array([1.0, -1.0, 1.0, 1.0, -1.0, 1.0])
    return x0, sign


def sky_freq_ghz(
    lo1: tuple[float, float] = (LO1_LOW, LO1_HIGH), lo2: tuple[float, float] = (LO2_LOW, LO2_HIGH)
) -> NDArray[np.float64]:
    """(6, 256) sky frequency (GHz) of every board channel."""
    x0, sign = board_offsets(lo1, lo2)
    return x0[:, None] + sign[:, None] * IF_GHZ[None, :]


def synthetic_corr_cal() -> NDArray[np.float64]:
    """(256, 256) lag -> channel matrix C[k, j] = c_j cos(pi j (k + 0.625) / 256) (§2.7)."""
    k = np.arange(NLAG)[:, None]
    j = np.arange(NLAG)[None, :]
    c = np.where(j == 0, 1.0, 2.0)
    return c * np.cos(np.pi * j * (k + 0.625) / NLAG)


# Tsys nonlinearity ("diffsat") coefficients p0, p1, p2 (factor = p0 + p1 f + p2 f^2, f the sky
# frequency in GHz), per chassis (0..3 = A..D) and board (0..5); the instrument's values as
# dreampy3's calibration uses them (reference §3.3 asks for them verbatim).
DIFFSAT = np.array(
    [
        [[7.34152079e00, -1.79580840e-01, 1.24253497e-03],
         [7.93315138e00, -1.60071049e-01, 9.02031498e-04],
         [2.80288506e01, -6.53401895e-01, 3.91676190e-03],
         [1.22405665e02, -2.55689766e00, 1.34491661e-02],
         [1.10510165e01, -1.65585867e-01, 6.59110670e-04],
         [3.98872506e01, -7.78625325e-01, 3.88134224e-03]],
        [[3.24748980e01, -8.32696797e-01, 5.48390685e-03],
         [1.79916438e01, -3.87490619e-01, 2.18600744e-03],
         [-1.06681896e01, 2.84144909e-01, -1.73839248e-03],
         [3.21421487e01, -6.53854850e-01, 3.41765455e-03],
         [2.37064758e01, -4.17595082e-01, 1.90348556e-03],
         [4.63857755e01, -9.12545568e-01, 4.56504927e-03]],
        [[-4.76731687e-01, 1.53251650e-02, 2.77181514e-05],
         [6.86855779e01, -1.50843761e00, 8.37623012e-03],
         [1.90276497e01, -4.46213606e-01, 2.73114576e-03],
         [9.13517445e01, -1.91474237e00, 1.01294210e-02],
         [6.57368094e01, -1.18706618e00, 5.42288265e-03],
         [6.65131276e01, -1.31728143e00, 6.59743826e-03]],
        [[1.60296400e01, -4.01648845e-01, 2.65939840e-03],
         [2.41446468e01, -5.18848756e-01, 2.88828948e-03],
         [2.27700502e01, -5.33397060e-01, 3.24635137e-03],
         [6.13163689e01, -1.25404142e00, 6.50543794e-03],
         [-1.84163344e01, 3.61224637e-01, -1.69379621e-03],
         [2.39658059e01, -4.74742570e-01, 2.43468229e-03]],
    ]
)  # fmt: skip


def diffsat_factor(chassis: int, freq_ghz: NDArray) -> NDArray[np.float64]:
    """(6, nchan) Tsys correction factor of one chassis at the sky frequencies ``freq_ghz``."""
    p = DIFFSAT[chassis]
    return p[:, 0:1] + p[:, 1:2] * freq_ghz + p[:, 2:3] * freq_ghz**2


def demod_sign(chassis: int) -> float:
    """-1 for chassis 1 and 2 (opposite demodulation), +1 otherwise."""
    return -1.0 if chassis in (1, 2) else 1.0
