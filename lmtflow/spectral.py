"""The spectral axis of one bank, as lmtslr defines it from the ifproc header.

Channel ``ch`` (0-based) of an ``nchan``-channel spectrum has topocentric sky frequency
``fsky + (ch - ch0) * dfdc`` and radio LSR (or barycentric) velocity
``v0 + (ch - ch0) * dvdc`` with ``ch0 = (nchan - 1) / 2``. ``dfdc`` is ``-bw/nchan`` when
``SideBand1Lo == 1`` and ``+bw/nchan`` otherwise (lmtslr's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import C_KMS


@dataclass(frozen=True)
class SpectralAxis:
    """Frequency and velocity of every channel of one bank."""

    nchan: int
    bandwidth_hz: float
    rest_freq_hz: float
    sky_freq_hz: float
    sideband: int
    vsource_kms: float
    velsys: int = 0
    bary_vel_kms: float = 0.0
    obs_vel_kms: float = 0.0
    line_offset_hz: float = 0.0

    @property
    def ch0(self) -> float:
        return (self.nchan - 1) / 2.0

    @property
    def dfdc(self) -> float:
        """Frequency step per channel, Hz (signed)."""
        step = self.bandwidth_hz / self.nchan
        return -step if self.sideband == 1 else step

    @property
    def dvdc(self) -> float:
        """Radio velocity step per channel, km/s (signed)."""
        return -self.dfdc / self.rest_freq_hz * C_KMS

    @property
    def voff(self) -> float:
        return -self.line_offset_hz / self.rest_freq_hz * C_KMS

    @property
    def v0(self) -> float:
        """Velocity of channel ch0 in the axis frame (LSR for VelSys 0, barycentric for 1)."""
        if self.velsys == 0:
            return self.vsource_kms + self.voff
        if self.velsys == 1:
            return self.vsource_kms + self.voff
        raise ValueError(f"VelSys {self.velsys} is not 0 (LSR) or 1 (barycentric)")

    @property
    def frame(self) -> str:
        return "LSRK" if self.velsys == 0 else "BARYCENT"

    @property
    def channel_width_hz(self) -> float:
        return abs(self.dfdc)

    def velocity(self, channels: ArrayLike | None = None) -> NDArray[np.float64]:
        """Velocity (km/s) of the given channels (all channels by default)."""
        ch = np.arange(self.nchan) if channels is None else np.asarray(channels, dtype=float)
        return (ch - self.ch0) * self.dvdc + self.v0

    def sky_frequency(self, channels: ArrayLike | None = None) -> NDArray[np.float64]:
        """Topocentric sky frequency (Hz) of the given channels."""
        ch = np.arange(self.nchan) if channels is None else np.asarray(channels, dtype=float)
        return (ch - self.ch0) * self.dfdc + self.sky_freq_hz

    def channel_of_velocity(self, v_kms: ArrayLike) -> NDArray[np.float64]:
        """Fractional channel of a velocity (km/s)."""
        return (np.asarray(v_kms, dtype=float) - self.v0) / self.dvdc + self.ch0

    def v2c(self, v_kms: ArrayLike) -> NDArray[np.int_]:
        """Nearest channel of a velocity, as lmtslr's ``v2c`` (round half to even)."""
        return np.round(self.channel_of_velocity(v_kms)).astype(int)


def sky_frequency_for(rest_freq_hz: float, vsource_kms: float, obs_vel_kms: float) -> float:
    """Doppler-tracked sky frequency (Hz) of a line at ``vsource`` seen with ``obs_vel``.

    Radio convention, matching lmtslr's ``v0_sky = ObsVel + Velocity``.
    """
    return rest_freq_hz * (1.0 - (obs_vel_kms + vsource_kms) / C_KMS)
