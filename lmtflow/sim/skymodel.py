"""Sky model of the simulator: Gaussian sources with one Gaussian line each, seen by the LMT beam.

Schema (a ``sky:`` mapping of a simulator config; see :mod:`lmtflow.sim.presets`)::

    source_name: IRC+10216      # Header.Source.SourceName (and roach file names)
    coord_sys: equatorial       # or galactic (then give l_deg/b_deg; Header.Source.CoordSys 2)
    ra_deg: 146.989193          # tracking centre (map centre); galactic: l_deg, b_deg
    dec_deg: 13.278767
    velocity_kms: -20.0         # Header.Source.Velocity (LSR, radio); centres the spectral axis
    ref_offset_arcsec: [600, 0] # Az/El offset of the REF (off) position (Header.Sky.AzOff/ElOff[1])
    sources:                    # any number; one line each (repeat a position for more lines)
      - name: core
        dx_arcsec: 0.0          # offset from the centre in the sky frame: (dRA cos Dec0, dDec) or
        dy_arcsec: 0.0          #   (dl cos b0, db); or absolute ra_deg/dec_deg (l_deg/b_deg)
        fwhm_arcsec: 20.0       # intrinsic Gaussian size; 0 = point source
        peak_k: 3.0             # peak Ta* (K): intrinsic if extended; as seen by the beam if point
        vlsr_kms: -20.0         # line centre (LSR, radio convention w.r.t. rest_freq_ghz)
        fwhm_kms: 25.0          # line FWHM
        rest_freq_ghz: 115.271204

The beam is a circular Gaussian of FWHM ``1.2 * lambda / 50 m`` at the bank's sky frequency.
A source of size ``s`` seen by a beam ``b`` is a Gaussian of FWHM ``sqrt(s^2 + b^2)`` and peak
``peak_k * s^2 / (s^2 + b^2)`` (point sources: ``peak_k``, FWHM ``b``). The line profile is a
Gaussian in the bank's LSR radio velocity evaluated at channel centres; a line of rest frequency
``f`` seen in a bank of rest frequency ``fb`` sits at ``c (1 - f/fb (1 - v/c))`` with width
``fwhm_kms * f / fb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lmtflow.constants import C_KMS
from lmtflow.errors import ConfigError
from lmtflow.kernels import lmt_beam_fwhm
from lmtflow.spectral import SpectralAxis

from . import astro

BEAM_FACTOR = 1.2
FOUR_LN2 = 4.0 * math.log(2.0)


def beam_fwhm_arcsec(sky_freq_hz: float) -> float:
    """Gaussian beam FWHM (arcsec) the simulator uses: 1.2 lambda / 50 m."""
    return lmt_beam_fwhm(sky_freq_hz, BEAM_FACTOR)


@dataclass(frozen=True)
class Source:
    """One Gaussian source with one Gaussian line; position as an offset from the centre."""

    name: str
    dx_arcsec: float
    dy_arcsec: float
    fwhm_arcsec: float
    peak_k: float
    vlsr_kms: float
    fwhm_kms: float
    rest_freq_ghz: float

    def observed(self, beam_arcsec: float) -> tuple[float, float]:
        """``(peak_k, fwhm_arcsec)`` of the source as seen through the beam."""
        s2, b2 = self.fwhm_arcsec**2, beam_arcsec**2
        if self.fwhm_arcsec <= 0:
            return self.peak_k, beam_arcsec
        return self.peak_k * s2 / (s2 + b2), math.sqrt(s2 + b2)

    def bank_velocity(self, bank_rest_ghz: float) -> tuple[float, float]:
        """Line centre and FWHM (km/s) on the LSR radio axis of a bank with another rest freq."""
        ratio = self.rest_freq_ghz / bank_rest_ghz
        return C_KMS * (1.0 - ratio * (1.0 - self.vlsr_kms / C_KMS)), self.fwhm_kms * ratio


@dataclass
class SkyModel:
    """The tracking centre, systemic velocity, REF offset and the sources."""

    source_name: str
    coord_sys: str  # "equatorial" | "galactic"
    ra_deg: float  # equatorial position of the centre (also for galactic models)
    dec_deg: float
    l_deg: float
    b_deg: float
    velocity_kms: float
    ref_offset_arcsec: tuple[float, float]
    sources: list[Source] = field(default_factory=list)

    @property
    def galactic(self) -> bool:
        return self.coord_sys == "galactic"

    @property
    def lon0_deg(self) -> float:
        """Longitude of the centre in the sky frame of the sources."""
        return self.l_deg if self.galactic else self.ra_deg

    @property
    def lat0_deg(self) -> float:
        return self.b_deg if self.galactic else self.dec_deg

    def source_abs(self, src: Source) -> tuple[float, float]:
        """Absolute (lon, lat) deg of a source, inverting lmtslr's flat offset formula."""
        lon = self.lon0_deg + src.dx_arcsec / 3600.0 / math.cos(math.radians(self.lat0_deg))
        return lon, self.lat0_deg + src.dy_arcsec / 3600.0

    def spatial(self, x: NDArray, y: NDArray, beam_arcsec: float) -> NDArray[np.float32]:
        """Beam-convolved brightness of every source at sky-frame offsets: (*x.shape, nsrc)."""
        out = np.empty((*np.shape(x), len(self.sources)), dtype=np.float32)
        for k, src in enumerate(self.sources):
            peak, fwhm = src.observed(beam_arcsec)
            r2 = (x - src.dx_arcsec) ** 2 + (y - src.dy_arcsec) ** 2
            out[..., k] = peak * np.exp(-FOUR_LN2 * r2 / fwhm**2)
        return out

    def profiles(self, axis: SpectralAxis) -> NDArray[np.float32]:
        """Unit-peak line profiles of every source on the channels of a bank: (nsrc, nchan)."""
        v = axis.velocity()
        out = np.zeros((len(self.sources), axis.nchan), dtype=np.float32)
        for k, src in enumerate(self.sources):
            vc, w = src.bank_velocity(axis.rest_freq_hz / 1e9)
            out[k] = np.exp(-FOUR_LN2 * ((v - vc) / w) ** 2)
        return out


def _float(d: dict[str, Any], key: str, default: float | None = None) -> float:
    if key in d:
        return float(d[key])
    if default is None:
        raise ConfigError(f"sky model: missing key {key!r}")
    return float(default)


def parse_sky(d: dict[str, Any]) -> SkyModel:
    """Build a :class:`SkyModel` from the ``sky:`` mapping (schema in the module docstring)."""
    known = {
        "source_name",
        "coord_sys",
        "ra_deg",
        "dec_deg",
        "l_deg",
        "b_deg",
        "velocity_kms",
        "ref_offset_arcsec",
        "sources",
    }
    unknown = set(d) - known
    if unknown:
        raise ConfigError(f"sky model: unknown key(s) {sorted(unknown)}; valid: {sorted(known)}")
    coord = str(d.get("coord_sys", "equatorial")).lower()
    if coord not in ("equatorial", "galactic"):
        raise ConfigError(f"sky model: coord_sys {coord!r} is not 'equatorial' or 'galactic'")
    if coord == "galactic":
        l0, b0 = _float(d, "l_deg"), _float(d, "b_deg")
        ra0, dec0 = astro.galactic_to_equatorial(l0, b0)
    else:
        ra0, dec0 = _float(d, "ra_deg"), _float(d, "dec_deg")
        l0, b0 = astro.equatorial_to_galactic(ra0, dec0)
    lon0, lat0 = (l0, b0) if coord == "galactic" else (ra0, dec0)
    ref = d.get("ref_offset_arcsec", [600.0, 0.0])
    sky = SkyModel(
        source_name=str(d.get("source_name", "SimSource")),
        coord_sys=coord,
        ra_deg=ra0,
        dec_deg=dec0,
        l_deg=l0,
        b_deg=b0,
        velocity_kms=_float(d, "velocity_kms", 0.0),
        ref_offset_arcsec=(float(ref[0]), float(ref[1])),
    )
    src_keys = {
        "name",
        "dx_arcsec",
        "dy_arcsec",
        "ra_deg",
        "dec_deg",
        "l_deg",
        "b_deg",
        "fwhm_arcsec",
        "peak_k",
        "vlsr_kms",
        "fwhm_kms",
        "rest_freq_ghz",
    }
    for i, s in enumerate(d.get("sources", [])):
        bad = set(s) - src_keys
        if bad:
            raise ConfigError(f"sky source {i}: unknown key(s) {sorted(bad)}")
        abs_keys = ("l_deg", "b_deg") if coord == "galactic" else ("ra_deg", "dec_deg")
        if abs_keys[0] in s:
            cosl = math.cos(math.radians(lat0))
            dx = (float(s[abs_keys[0]]) - lon0) * cosl * 3600.0
            dy = (float(s[abs_keys[1]]) - lat0) * 3600.0
        else:
            dx, dy = _float(s, "dx_arcsec", 0.0), _float(s, "dy_arcsec", 0.0)
        sky.sources.append(
            Source(
                name=str(s.get("name", f"src{i}")),
                dx_arcsec=dx,
                dy_arcsec=dy,
                fwhm_arcsec=_float(s, "fwhm_arcsec", 0.0),
                peak_k=_float(s, "peak_k"),
                vlsr_kms=_float(s, "vlsr_kms", sky.velocity_kms),
                fwhm_kms=_float(s, "fwhm_kms"),
                rest_freq_ghz=_float(s, "rest_freq_ghz"),
            )
        )
    return sky
