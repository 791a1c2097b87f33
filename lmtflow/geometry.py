"""Beam offsets of the SEQUOIA 4x4 array on the sky (lmtslr's convention).

Pixel ``p`` sits at ``RIGHT = p//4 - 1.5`` and ``UP = 1.5 - p%4`` (units of the 27.9" spacing)
in an array rotated by 46 deg; the offset seen in Az/El turns with elevation, and in RA/Dec
with the parallactic angle as well. lmtslr computes a sample's sky position as
``map offset - beam offset``; the simulator uses the same functions in the other direction.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import SEQUOIA_NPIX, SEQUOIA_ROTATION_DEG, SEQUOIA_SPACING_ARCSEC


def _array_coordinates(pixels: NDArray[np.int_]) -> tuple[NDArray, NDArray]:
    right = pixels // 4 - 1.5
    up = 1.5 - pixels % 4
    return right.astype(float), up.astype(float)


def beam_offsets_azel(
    elevation_rad: ArrayLike,
    tracking_beam: int = -1,
    pixels: ArrayLike | None = None,
    receiver: str = "Sequoia",
) -> tuple[NDArray, NDArray]:
    """Az/El offsets (arcsec) of each pixel from the tracking position.

    ``elevation_rad`` broadcasts against the pixels (a scalar or an array with a trailing axis).
    A tracking beam >= 0 is placed at (0, 0); -1 means offsets from the array centre. The
    single-pixel 1 mm receiver has no offsets.
    """
    pix = np.arange(SEQUOIA_NPIX) if pixels is None else np.asarray(pixels, dtype=int)
    if receiver != "Sequoia":
        zeros = np.zeros(np.broadcast_shapes(np.shape(elevation_rad), pix.shape))
        return zeros, zeros.copy()
    el = np.asarray(elevation_rad, dtype=float)
    theta = np.deg2rad(SEQUOIA_ROTATION_DEG) - el
    right, up = _array_coordinates(pix)
    s = SEQUOIA_SPACING_ARCSEC
    gaz = s * (right * np.cos(theta) - up * np.sin(theta))
    gel = s * (right * np.sin(theta) + up * np.cos(theta))
    if tracking_beam >= 0:
        rt, ut = _array_coordinates(np.array([tracking_beam]))
        gaz = gaz - s * (rt[0] * np.cos(theta) - ut[0] * np.sin(theta))
        gel = gel - s * (rt[0] * np.sin(theta) + ut[0] * np.cos(theta))
    return gaz, gel


def rotate_azel_to_sky(
    gaz: ArrayLike, gel: ArrayLike, angle_rad: ArrayLike
) -> tuple[NDArray, NDArray]:
    """Rotate Az/El offsets by the parallactic (plus galactic) angle into RA/Dec (or l/b)."""
    gaz = np.asarray(gaz, dtype=float)
    gel = np.asarray(gel, dtype=float)
    p = np.asarray(angle_rad, dtype=float)
    glon = -gaz * np.cos(p) + gel * np.sin(p)
    glat = gaz * np.sin(p) + gel * np.cos(p)
    return glon, glat


def beam_offsets_sky(
    elevation_rad: ArrayLike,
    angle_rad: ArrayLike,
    tracking_beam: int = -1,
    pixels: ArrayLike | None = None,
    receiver: str = "Sequoia",
) -> tuple[NDArray, NDArray]:
    """Offsets (arcsec) of each pixel in the equatorial (or galactic) frame.

    ``angle_rad`` is the parallactic angle (plus the galactic angle for l/b maps).
    """
    gaz, gel = beam_offsets_azel(elevation_rad, tracking_beam, pixels, receiver)
    return rotate_azel_to_sky(gaz, gel, angle_rad)
