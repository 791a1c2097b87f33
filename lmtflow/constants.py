"""Physical constants, LMT facts and raw-data codes shared by the simulator and the pipeline."""

from __future__ import annotations

from enum import IntEnum

C_KMS = 299792.458
"""Speed of light in km/s."""

ARCSEC_PER_RAD = 206264.80624709636

T_AMBIENT_K = 280.0
"""Hot-load temperature lmtslr assumes for HOT/SKY calibration (hard-coded there too)."""

LMT_DIAMETER_M = 50.0

# LMT site (Volcan Sierra Negra, Mexico): geodetic longitude and latitude in degrees, height in m.
LMT_SITE_LONG_DEG = -97.31481
LMT_SITE_LAT_DEG = 18.98578
LMT_SITE_ELEV_M = 4640.0

SEQUOIA_NPIX = 16
SEQUOIA_SPACING_ARCSEC = 27.9
SEQUOIA_ROTATION_DEG = 46.0

ROACH_TIME_OFFSET_S = -0.03
"""lmtslr adds this to (time - read_time) of every roach dump."""

# nchan -> total bandwidth in MHz of the WARES spectrometer modes.
SEQUOIA_BANDWIDTH_MHZ = {2048: 800.0, 4096: 400.0, 8192: 200.0}


class BufPos(IntEnum):
    """Codes of ``Data.TelescopeBackend.BufPos``; values >= 100 are map grid points (ON)."""

    ON = 0
    REF = 1
    SKY = 2
    HOT = 3


RECEIVERS = ("Sequoia", "Msip1mm")
