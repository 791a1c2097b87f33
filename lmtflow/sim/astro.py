"""Site, time and frame helpers of the simulator (LMT site, unix UTC seconds, radians).

Hour angle, elevation, azimuth and parallactic angle use closed spherical-astronomy formulas
with GMST from the IAU linear expression (good to ~0.1 s of time; ample for a simulator and
vectorised over the 125 Hz series). Observatory/barycentric velocities use astropy (offline,
no IERS download); if astropy fails they fall back to fixed plausible values, recorded in the
truth file as ``velocity_model``.
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lmtflow.constants import LMT_SITE_ELEV_M, LMT_SITE_LAT_DEG, LMT_SITE_LONG_DEG
from lmtflow.sidereal import gmst_rad

# Standard J2000 solar apex of the kinematic LSR (20 km/s toward RA 18h03m50.29s, Dec +30d00m16.8s).
_LSR_APEX_RA_DEG = 270.959542
_LSR_APEX_DEC_DEG = 30.004667
_LSR_SPEED_KMS = 20.0

FALLBACK_OBS_VEL_KMS = 10.0
FALLBACK_BARY_VEL_KMS = 5.0


def parse_utc(text: str) -> float:
    """Unix seconds of an ISO UTC time string like ``2018-11-16T09:30:00``."""
    dt = datetime.fromisoformat(text.replace("Z", ""))
    return calendar.timegm(dt.timetuple()) + dt.microsecond * 1e-6


def utc_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def fractional_year(t: float) -> float:
    """``Header.TimePlace.UTDate``: year + elapsed fraction of that year."""
    d = utc_datetime(t)
    y0 = calendar.timegm((d.year, 1, 1, 0, 0, 0))
    y1 = calendar.timegm((d.year + 1, 1, 1, 0, 0, 0))
    return d.year + (t - y0) / (y1 - y0)


def ut1_rad(t: float) -> float:
    """``Header.TimePlace.UT1``: time of day as an angle (rad); x 24/2pi gives hours."""
    return (t % 86400.0) / 86400.0 * 2.0 * math.pi


def horizontal(
    t: ArrayLike, ra_rad: float, dec_rad: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Azimuth (N through E), elevation and parallactic angle (rad) of a source at the LMT."""
    lat = math.radians(LMT_SITE_LAT_DEG)
    ha = gmst_rad(t) + math.radians(LMT_SITE_LONG_DEG) - ra_rad
    sin_el = math.sin(lat) * math.sin(dec_rad) + math.cos(lat) * math.cos(dec_rad) * np.cos(ha)
    el = np.arcsin(np.clip(sin_el, -1.0, 1.0))
    az = np.arctan2(
        -math.cos(dec_rad) * np.sin(ha),
        math.sin(dec_rad) * math.cos(lat) - math.cos(dec_rad) * np.cos(ha) * math.sin(lat),
    )
    par = np.arctan2(np.sin(ha), math.tan(lat) * math.cos(dec_rad) - math.sin(dec_rad) * np.cos(ha))
    return np.mod(az, 2 * np.pi), el, par


def _unit(ra_deg: float, dec_deg: float) -> NDArray[np.float64]:
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def observatory_velocities(ra_deg: float, dec_deg: float, t: float) -> tuple[float, float, str]:
    """``(ObsVel, BaryVel, model)`` in km/s for a source seen from the LMT at unix time t.

    lmtslr relations: ``v_sky = ObsVel + V_lsr`` and ``v_bary = V_lsr + BaryVel``. With
    astropy's barycentric correction ``bc`` (v_bary = v_topo + bc) and the projection ``s`` of
    the solar motion toward the source (v_lsr = v_bary + s): ObsVel = -(bc + s), BaryVel = -s.
    """
    s = _LSR_SPEED_KMS * float(_unit(_LSR_APEX_RA_DEG, _LSR_APEX_DEC_DEG) @ _unit(ra_deg, dec_deg))
    try:
        import astropy.units as u
        from astropy.coordinates import EarthLocation, SkyCoord
        from astropy.time import Time
        from astropy.utils import iers

        with iers.conf.set_temp("auto_download", False):
            loc = EarthLocation.from_geodetic(
                LMT_SITE_LONG_DEG * u.deg, LMT_SITE_LAT_DEG * u.deg, LMT_SITE_ELEV_M * u.m
            )
            coord = SkyCoord(ra_deg * u.deg, dec_deg * u.deg, frame="icrs")
            bc = coord.radial_velocity_correction(
                "barycentric", obstime=Time(t, format="unix"), location=loc
            )
            bc_kms = float(bc.to_value(u.km / u.s))
        return -(bc_kms + s), -s, "astropy barycentric correction + J2000 LSRK apex 20 km/s"
    except Exception:  # pragma: no cover - only without a working astropy
        return FALLBACK_OBS_VEL_KMS, FALLBACK_BARY_VEL_KMS, "fixed fallback values"


def equatorial_to_galactic(ra_deg: float, dec_deg: float) -> tuple[float, float]:
    from astropy.coordinates import SkyCoord

    g = SkyCoord(ra_deg, dec_deg, unit="deg", frame="icrs").galactic
    return float(g.l.deg), float(g.b.deg)


def galactic_to_equatorial(l_deg: float, b_deg: float) -> tuple[float, float]:
    from astropy.coordinates import SkyCoord

    c = SkyCoord(l_deg, b_deg, unit="deg", frame="galactic").icrs
    return float(c.ra.deg), float(c.dec.deg)


def galactic_angle(ra_deg: float, dec_deg: float) -> float:
    """``ActGalAng`` (rad) in lmtslr's convention.

    lmtslr turns Az/El offsets into l/b with the angle P+G, i.e. l/b offsets are the RA/Dec
    offsets rotated by G: ``dl = cos G dra + sin G ddec``, ``db = -sin G dra + cos G ddec``.
    Then galactic north has position angle -G (east of north), so G = -PA(galactic north).
    """
    from astropy.coordinates import SkyCoord

    c = SkyCoord(ra_deg, dec_deg, unit="deg", frame="icrs")
    g = c.galactic
    north = SkyCoord(g.l.deg, g.b.deg + 1e-3, unit="deg", frame="galactic").icrs
    pa = float(c.position_angle(north).rad)
    return float(math.remainder(-pa, 2 * math.pi))


def rotate_radec_to_lb(
    dra: ArrayLike, ddec: ArrayLike, gal_angle: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """RA/Dec offsets -> l/b offsets with lmtslr's galactic angle convention."""
    c, s = math.cos(gal_angle), math.sin(gal_angle)
    dra = np.asarray(dra, dtype=float)
    ddec = np.asarray(ddec, dtype=float)
    return c * dra + s * ddec, -s * dra + c * ddec


def rotate_lb_to_radec(
    dl: ArrayLike, db: ArrayLike, gal_angle: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    c, s = math.cos(gal_angle), math.sin(gal_angle)
    dl = np.asarray(dl, dtype=float)
    db = np.asarray(db, dtype=float)
    return c * dl - s * db, s * dl + c * db
