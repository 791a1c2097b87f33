"""Signal-to-noise advice: where averaging the data down would raise S/N, by how much, and
which parameter (or tool) does it, computed from the product's own numbers.

The gains assume noise that averages down as white noise (independent channels, dumps and
polarisations), which the radiometer-limited products here are (QA rms / radiometer ~ 1):

* smoothing a spectrum by ``k`` channels: ``sqrt(k)``; advised only while the line stays
  resolved, ``k <= FWHM / 3`` channels, and only for a detected line (peak > 5 rms);
* gridding at a ``f`` times coarser resolution: ``f`` (each cell averages ``f**2`` times more
  independent samples), for emission extended on that scale;
* averaging two polarisations or banks that cover the same line, or adding an ObsNum of the
  same source and setup: ``sqrt(1 + (s1 / s2)**2)`` for noises ``s1`` (this product) and
  ``s2`` (the other), the inverse-variance weighted mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

DETECTION = 5.0  # peak / rms above which a line is there to be measured
CHANNELS_PER_FWHM = 3  # keep at least this many channels across a line after smoothing


def line_fwhm_channels(spectrum: NDArray, rms: float) -> float | None:
    """FWHM (channels) of the brightest line: the contiguous run above half its peak around
    the peak channel; None when no line is detected (peak <= DETECTION * rms)."""
    s = np.asarray(spectrum, dtype=float)
    if not np.isfinite(s).any() or not rms or rms <= 0:
        return None
    peak = int(np.nanargmax(s))
    if s[peak] <= DETECTION * rms:
        return None
    above = np.nan_to_num(s, nan=-np.inf) > 0.5 * s[peak]
    lo = peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    hi = peak
    while hi < s.size - 1 and above[hi + 1]:
        hi += 1
    return float(hi - lo + 1)


def smoothing_advice(spectrum: NDArray, rms: float, channel_kms: float) -> dict[str, Any] | None:
    """Smooth by ``k`` channels: gain ``sqrt(k)`` while the line keeps 3 channels per FWHM."""
    fwhm = line_fwhm_channels(spectrum, rms)
    if fwhm is None:
        return None
    k = int(fwhm // CHANNELS_PER_FWHM)
    if k < 2:
        return None
    gain = math.sqrt(k)
    dv = abs(channel_kms)
    text = (f"the line is {fwhm:.0f} channels ({fwhm * dv:.1f} km/s) wide: smoothing by {k} "
            f"channels ({k * dv:.2f} km/s) raises S/N by {gain:.2f} (boxcar and decimate, "
            f"e.g. dysh Spectrum.smooth('box', {k}))")
    return {"kind": "smooth", "k": k, "gain": gain, "line_fwhm_channels": fwhm, "text": text}


def resolution_advice(resolution: float, factor: float = 2.0) -> dict[str, Any]:
    """Grid at ``factor`` times the resolution: noise down by ``factor`` (extended emission)."""
    new = resolution * factor
    return {"kind": "resolution", "parameter": "grid.resolution", "value": new, "gain": factor,
            "text": f"gridding at {new:g}\" instead of {resolution:g}\" (grid.resolution: "
                    f"{new:g}) lowers the noise by {factor:g} for emission extended on that "
                    "scale"}  # fmt: skip


def average_gain(noise_this: float, noise_other: float) -> float:
    """Noise of this product over that of its inverse-variance mean with another."""
    return math.sqrt(1.0 + (noise_this / noise_other) ** 2)


def pair_advice(what: str, noise_this: float, noise_other: float, parameter: str
                ) -> dict[str, Any]:  # fmt: skip
    """Average with ``what`` (another polarisation, bank or ObsNum) of noise ``noise_other``."""
    gain = average_gain(noise_this, noise_other)
    return {"kind": "average", "with": what, "parameter": parameter, "gain": gain,
            "text": f"{what} covers the same line (noise {noise_other:.4g} vs {noise_this:.4g}):"
                    f" averaging them ({parameter}) raises S/N by {gain:.2f}"}  # fmt: skip


def same_line_banks(banks: Mapping[int, Mapping[str, Any]], channel_ghz: float
                    ) -> list[tuple[int, int]]:  # fmt: skip
    """Pairs of banks whose sky frequencies agree within a channel (1MM: the two
    polarisations are two banks on one line)."""
    keys = sorted(banks)
    out = []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            fa, fb = banks[a].get("skyfreq_GHz"), banks[b].get("skyfreq_GHz")
            if fa and fb and abs(fa - fb) <= abs(channel_ghz):
                out.append((a, b))
    return out


def product_advice(numbers: Mapping[str, Any], spectrum: NDArray | None = None,
                   others: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:  # fmt: skip
    """Advice for one product from its QA numbers (and spectrum, for Ps/Bs): smoothing,
    coarser gridding (maps), and averaging with ``others`` (QA numbers of other banks or
    ObsNums of the same source and setup that are not yet in a combination with it)."""
    out = []
    obs = numbers.get("observation", {})
    chan = obs.get("channel_kms") or 0.0
    if "spectrum" in numbers and spectrum is not None:
        rms = (numbers["spectrum"].get("rms_mK") or 0) / 1e3
        s = smoothing_advice(spectrum, rms, chan)
        if s:
            out.append(s)
    if "cube" in numbers:
        res = (numbers.get("params", {}).get("grid") or {}).get("resolution")
        if res:
            out.append(resolution_advice(float(res)))
    noise = product_noise(numbers)
    for other in others:
        n2 = product_noise(other)
        if noise and n2:
            what = other.get("label", "another product")
            out.append(pair_advice(what, float(noise), float(n2), other.get("parameter", "")))
    return out


C_KMS = 299792.458


def product_noise(numbers: Mapping[str, Any]) -> float | None:
    """The noise (mK) of a product's QA numbers: its spectrum's rms or its cube's."""
    this = numbers.get("spectrum") or numbers.get("cube") or {}
    value = this.get("rms_mK") or this.get("rms_center_mK") or this.get("rms_merged_mK")
    return float(value) if value else None


def bank_advice(numbers: Sequence[Mapping[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Per bank of one ObsNum (the QA numbers of each bank): averaging with another bank on
    the same line (1MM: the two polarisations are two banks) by the inverse-variance mean.
    lmtflow has no parameter that merges banks: the advice names the operation."""
    obs = {int(n["observation"]["bank"]): n for n in numbers
           if n.get("observation", {}).get("bank") is not None}  # fmt: skip
    if len(obs) < 2:
        return {}
    chan_ghz = max(abs(float(n["observation"].get("channel_kms") or 0.0))
                   * float(n["observation"].get("skyfreq_GHz") or 0.0) / C_KMS
                   for n in obs.values())  # fmt: skip
    out: dict[int, list[dict[str, Any]]] = {}
    pairs = same_line_banks({b: n["observation"] for b, n in obs.items()}, chan_ghz)
    for a, b in pairs:
        na, nb = product_noise(obs[a]), product_noise(obs[b])
        if na and nb:
            how = "their 1/rms^2 weighted mean, e.g. dysh average of the two spectra"
            out.setdefault(a, []).append(pair_advice(f"bank {b}", na, nb, how))
            out.setdefault(b, []).append(pair_advice(f"bank {a}", nb, na, how))
    return out


def _setup(obs: Mapping[str, Any]) -> tuple:
    rest = obs.get("restfreq_GHz")
    return (obs.get("source"), obs.get("receiver"), obs.get("mode"), obs.get("bank"),
            None if rest is None else round(float(rest), 6))  # fmt: skip


def combination_advice(products: Sequence[Mapping[str, Any]]
                       ) -> dict[tuple[int, int], dict[str, Any]]:  # fmt: skip
    """For each ObsNum and bank of a project (``products``: QA numbers of its ObsNums and
    combinations, as on the project index): the ObsNums of the same source and setup (source,
    receiver, mode, bank, rest frequency) that are in no combination with it, and what
    combining them all would gain (the noise of their inverse-variance mean against this
    one's), with the project-file entry that makes the combination."""
    singles: dict[tuple[int, int], Mapping[str, Any]] = {}
    together: set[tuple[int, int, int]] = set()  # (a, b, bank) in one combination
    for n in products:
        o = n.get("observation", {})
        nums = [int(x) for x in n.get("obsnums") or [o.get("obsnum")] if x is not None]
        if len(nums) == 1 and o.get("bank") is not None:
            singles[(nums[0], int(o["bank"]))] = n
        for a in nums:
            together.update((a, b, o.get("bank")) for b in nums)
    out = {}
    for (num, bank), n in sorted(singles.items()):
        key, noise = _setup(n["observation"]), product_noise(n)
        peers = [(m, product_noise(q)) for (m, b), q in sorted(singles.items())
                 if b == bank and m != num and _setup(q["observation"]) == key
                 and (num, m, bank) not in together]  # fmt: skip
        peers = [(m, s) for m, s in peers if s]
        if not peers or not noise:
            continue
        others = sum(s**-2 for _, s in peers) ** -0.5
        gain = average_gain(noise, others)
        nums = sorted([num, *(m for m, _ in peers)])
        source = n["observation"].get("source")
        text = (f"ObsNum {num} bank {bank}: ObsNums {', '.join(str(m) for m, _ in peers)} "
                f"(same source and setup) are in no combination with it: combining them "
                f"(project file: sources: {source}: combinations: [{{obsnums: {nums}}}]) "
                f"raises S/N by {gain:.2f}")  # fmt: skip
        out[(num, bank)] = {"kind": "combine", "obsnums": nums, "gain": gain,
                            "parameter": "sources.<source>.combinations", "text": text}
    return out
