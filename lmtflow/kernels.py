"""Convolution kernels of the OTF gridder and the effective resolution they give.

The kernels are those of lmtslr's ``spec_driver_fits`` (``otf_select``), written as functions
of ``x = r / resolution``:

* 1 ``jinc``: ``2 J1(z1)/z1 * exp(-(2x/b)**c) * 2 J1(z2)/z2`` with ``z1 = 2 pi x / a`` and
  ``z2 = 3.831706 x / rmax`` (the second factor tapers the kernel to 0 at ``rmax``);
* 2 ``gauss``: ``exp(-4 ln2 (x/b)**2)`` (FWHM ``b * resolution``), cut at ``rmax``;
* 3 ``triangle``: ``1 - x`` for ``x <= 1``;
* 4 ``box``: 1 for ``x <= 1``;
* 0 ``cellbox``: 1 for ``r <= cell/2``.

Differences from the reference (deliberate): the reference tabulates the kernel at 256 radii
and takes the value of the step below (``table[floor(r/dr)]``); we evaluate the kernel exactly
(``gauss``, ``triangle``, boxes) or, for ``jinc``, interpolate linearly in ``r**2`` on a
16385-point table built from ``scipy.special.j1`` (maximum error < 1e-6 of the peak; the
reference's polynomial J1 approximation differs from the true J1 by ~1e-8).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constants import ARCSEC_PER_RAD, LMT_DIAMETER_M

KINDS = {1: "jinc", 2: "gauss", 3: "triangle", 4: "box", 0: "cellbox"}
JINC_TAPER_ZERO = 3.831706
"""First zero of J1, as the reference writes it."""
_TABLE_SIZE = 16385
C_M_S = 299792458.0


@dataclass(frozen=True)
class Kernel:
    """A radially symmetric gridding kernel (``kind`` one of ``KINDS.values()``)."""

    kind: str = "jinc"
    a: float = 1.1
    b: float = 4.75
    c: float = 2.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS.values():
            raise ValueError(
                f"unknown kernel kind {self.kind!r}; use one of {list(KINDS.values())}"
            )

    @classmethod
    def from_otf_select(
        cls, otf_select: int, a: float = 1.1, b: float = 4.75, c: float = 2.0
    ) -> Kernel:
        """The kernel ``spec_driver_fits -f otf_select`` uses (unknown codes -> ``cellbox``)."""
        return cls(KINDS.get(int(otf_select), "cellbox"), float(a), float(b), float(c))

    @classmethod
    def coerce(cls, spec: Kernel | int | tuple | str) -> Kernel:
        """Accept a ``Kernel``, an ``otf_select`` int, a kind name or ``(kind, a, b, c)``."""
        if isinstance(spec, Kernel):
            return spec
        if isinstance(spec, int | np.integer):
            return cls.from_otf_select(int(spec))
        if isinstance(spec, str):
            return cls(spec)
        kind, *params = spec
        if kind == "gauss" and len(params) == 1:
            return cls(kind, b=float(params[0]))
        return cls(kind, *map(float, params))

    def support(self, resolution: float, rmax: float, cell: float) -> float:
        """Radius (same unit as ``resolution``) beyond which the kernel is 0."""
        if self.kind in ("jinc", "gauss"):
            return rmax * resolution
        if self.kind == "cellbox":
            return 0.5 * cell
        return min(1.0, rmax) * resolution

    def values(self, r: ArrayLike, resolution: float, rmax: float, cell: float) -> NDArray:
        """Exact kernel values (float64) at radii ``r`` (same unit as ``resolution``)."""
        r = np.abs(np.asarray(r, dtype=float))
        x = r / resolution
        inside = r <= self.support(resolution, rmax, cell)
        if self.kind == "jinc":
            k = _two_jinc(2 * np.pi * x / self.a) * np.exp(-((2 * x / self.b) ** self.c))
            k = k * _two_jinc(JINC_TAPER_ZERO * x / rmax)
        elif self.kind == "gauss":
            k = np.exp(-4 * np.log(2) * (x / self.b) ** 2)
        elif self.kind == "triangle":
            k = 1.0 - x
        else:
            k = np.ones_like(x)
        return np.where(inside, k, 0.0)

    def reference_bmaj(self, resolution: float) -> float:
        """The BMAJ lmtslr writes (1.15 res for jinc, 1.15 res b for gauss, else res)."""
        if self.kind == "jinc":
            return 1.15 * resolution
        if self.kind == "gauss":
            return 1.15 * resolution * self.b
        return resolution


def _two_jinc(z: NDArray) -> NDArray:
    """``2 J1(z)/z`` with the limit 1 at ``z = 0``."""
    from scipy import special  # here: importing scipy costs ~0.2 s, most callers need none

    z = np.asarray(z, dtype=float)
    safe = np.where(z == 0, 1.0, z)
    return np.where(z == 0, 1.0, 2 * special.j1(safe) / safe)


@functools.lru_cache(maxsize=16)
def _jinc_table(
    kernel: Kernel, resolution: float, rmax: float, cell: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Values and slopes of the kernel on ``_TABLE_SIZE`` squared radii up to its support
    (computed once per kernel and geometry: a map gridded in blocks asks many times)."""
    r2 = np.linspace(0.0, kernel.support(resolution, rmax, cell) ** 2, _TABLE_SIZE)
    tab = kernel.values(np.sqrt(r2), resolution, rmax, cell)
    tab[-1] = 0.0  # the taper is 0 at rmax; make the table end exactly there
    tab = np.concatenate([tab, [0.0, 0.0]])
    values, slopes = tab[:-1].astype(np.float32), np.diff(tab).astype(np.float32)
    values.flags.writeable = slopes.flags.writeable = False  # shared between evaluators
    return values, slopes


class KernelEvaluator:
    """Fast float32 evaluation of a kernel from squared distances (arcsec**2)."""

    def __init__(self, kernel: Kernel, resolution: float, rmax: float, cell: float):
        self.kernel = kernel
        self.resolution = float(resolution)
        self.radius = kernel.support(resolution, rmax, cell)
        self.r2max = self.radius**2
        if kernel.kind == "jinc":
            self._scale = np.float32((_TABLE_SIZE - 1) / self.r2max)
            self._umax = np.float32(_TABLE_SIZE - 1)
            self._tab, self._slope = _jinc_table(
                kernel, float(resolution), float(rmax), float(cell)
            )

    def __call__(self, r2: NDArray[np.float32]) -> NDArray[np.float32]:
        """Kernel values for squared distances ``r2``; ``r2`` is overwritten (scratch)."""
        kind = self.kernel.kind
        if kind == "jinc":
            u = np.multiply(r2, self._scale, out=r2)
            np.minimum(u, self._umax, out=u)
            i = u.astype(np.intp)
            u -= i
            u *= self._slope[i]
            u += self._tab[i]
            return u
        if kind == "gauss":
            k = np.multiply(r2, np.float32(-4 * np.log(2) / (self.kernel.b * self.resolution) ** 2))
            out = np.exp(k, out=k)
            out[r2 > self.r2max] = 0.0
            return out
        if kind == "triangle":
            inside = r2 <= self.r2max
            k = np.sqrt(r2, out=r2)
            k *= np.float32(-1.0 / self.resolution)
            k += np.float32(1.0)
            k[~inside] = 0.0
            return k
        return (r2 <= np.float32(self.r2max)).astype(np.float32)


def lmt_beam_fwhm(freq_hz: float, factor: float = 1.2) -> float:
    """Telescope beam FWHM in arcsec, ``factor * lambda / D`` for the 50 m LMT."""
    return factor * C_M_S / freq_hz / LMT_DIAMETER_M * ARCSEC_PER_RAD


def _beam_profile(
    beam_fwhm: float,
    resolution: float,
    kernel: Kernel | int | tuple | str,
    rmax: float,
    cell: float | None,
    oversample: int,
) -> Callable[[NDArray], NDArray]:
    """``r -> (B * K)(r) / sum(K)`` along a grid axis, as :func:`smoothed_beam` defines it.

    The Gaussian beam is separable, so the sum over the fine 2-D grid of kernel samples is
    done once over one axis (``h``, one value per column); each radius then costs one sum of
    ``2n + 1`` terms instead of ``(2n + 1)**2``.
    """
    kern = Kernel.coerce(kernel)
    cell = resolution / 2 if cell is None else cell
    radius = kern.support(resolution, rmax, cell)
    step = min(resolution, 2 * radius) / oversample
    n = int(np.ceil(radius / step))
    g = np.arange(-n, n + 1) * step
    kv = kern.values(np.hypot(g[None, :], g[:, None]), resolution, rmax, cell)  # [y, x]
    two_sig2 = 2 * (beam_fwhm / np.sqrt(8 * np.log(2))) ** 2
    h = np.exp(-(g**2) / two_sig2) @ kv / kv.sum()  # per x column

    def profile(r: NDArray) -> NDArray:
        return np.exp(-((r[..., None] - g) ** 2) / two_sig2) @ h

    return profile


def smoothed_beam(
    r: ArrayLike,
    beam_fwhm: float,
    resolution: float,
    kernel: Kernel | int | tuple | str = 1,
    rmax: float = 3.0,
    cell: float | None = None,
    oversample: int = 40,
) -> NDArray:
    """Response at radius ``r`` to a unit point source: Gaussian beam convolved with the kernel.

    This is the gridded image of a point source for dense, uniform sampling: ``(B * K)(r) /
    sum(K)`` evaluated by a direct sum over a fine grid of kernel samples (spacing
    ``resolution / oversample``). All lengths in arcsec.
    """
    r = np.atleast_1d(np.asarray(r, dtype=float))
    return _beam_profile(beam_fwhm, resolution, kernel, rmax, cell, oversample)(r)


def effective_beam_fwhm(
    resolution: float,
    kernel: Kernel | int | tuple | str = 1,
    rmax: float = 3.0,
    beam_fwhm: float | None = None,
    cell: float | None = None,
) -> float:
    """FWHM (arcsec) of a point source in the gridded cube: the beam convolved with the kernel.

    ``beam_fwhm`` is the telescope beam (default ``1.2 * resolution``, i.e. ~1.2 lambda/D since
    the LMTOY resolution is ``ceil(lambda/D)``); pass ``lmt_beam_fwhm(freq)`` when the frequency
    is known. The half-power radius of ``smoothed_beam`` is found numerically (the first
    half-power crossing on a fine radial grid, then bisection to 1e-6 arcsec); finite sampling
    broadens real maps slightly more. For the default jinc kernel this is ~1.3x the beam,
    larger than the 1.15 x resolution lmtslr writes into BMAJ.
    """
    beam = 1.2 * resolution if beam_fwhm is None else float(beam_fwhm)
    profile = _beam_profile(beam, resolution, kernel, rmax, cell, 40)
    r = np.linspace(0.0, 3.0 * beam + resolution, 513)
    level = 0.5 * profile(np.zeros(1))[0]
    half = profile(r) - level
    k = int(np.argmax(half < 0))  # the first radius below half power
    if k == 0:
        raise ValueError(f"no half-power radius within {r[-1]:.1f} arcsec")
    lo, hi = r[k - 1], r[k]
    while hi - lo > 1e-6:
        mid = 0.5 * (lo + hi)
        above = profile(np.array([mid]))[0] > level
        lo, hi = (mid, hi) if above else (lo, mid)
    return float(lo + hi)  # 2 x the half-power radius
