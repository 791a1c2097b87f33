"""The simulated receiver + spectrometer of one session: roach inputs, Tsys, gains, faults.

Schema (``instrument:`` and ``faults:`` mappings of a session)::

    instrument:
      receiver: Sequoia          # or Msip1mm
      nchan: 2048                # 2048 / 4096 / 8192 -> 800 / 400 / 200 MHz
      line_freq_ghz: [115.271204]   # rest frequency per bank; two values -> two banks
      dump_time_s: 0.1           # spectrometer dump time (= dump cadence)
      tsys_k: [150, 250]         # range: distinct per-input values spread over it (or a list)
      gain_counts_per_k: [2000, 8000]   # range of the per-input counts/K scale (log-uniform)
      ripple_amplitude: 0.05     # multiplicative sinusoidal gain ripple across channels
      ripple_period_channels: 317
      bandpass_edge: 0.05        # fraction of the band rolling off at each edge
      dtype: float32             # roach Data dtype (float32 as the real files since 2021/22)
      tracking_beam: 10          # Header.<rx>.BeamSelected (Sequoia); 0 for Msip1mm
      roach_block_margin_s: null # null: the spectrometer dumps through slews too; a number:
                                 # only from that long before to after each block (the real
                                 # Cal 79447 and Map 79448 spectra counts imply ~0.18 s:
                                 # REAL_ROACH_BLOCK_MARGIN_S, set by every SEQUOIA/1MM preset)
    faults:
      dead_beams: [3]            # pixels whose counts are the constant dead_value (all banks)
      dead_value: 0.0
      noisy_beams: {5: 3.0}      # pixel -> radiometer-noise factor
      noisy_pols:                # Msip1mm: one polarisation of one bank (input bank + 2*pol)
        - {bank: 0, pol: 1, factor: 3.0}
      birdies:                   # narrow spurious signals, in every spectrum of the pixels
                                 # (period_s, duty: on for a duty fraction of each period)
        - {channels: [1200], amplitude_k: 2.0, pixels: all, banks: [0]}
      spikes: {per_file: 3, factor: 1000.0}  # random single (row, channel) values x factor
      bad_intervals:             # noise x factor on some beams for a while (seconds after start)
        - {obsnum: 79448, beams: [5, 6], t0_s: 20, t1_s: 30, factor: 4}
      missing_roach: [{obsnum: 79448, roach: 2}]  # file simply not written

Roach ``N`` input ``k`` carries pixel ``4*(N mod 4)+k`` of bank ``N//4`` (Sequoia) or pixel
``k`` of bank ``k mod 2`` (Msip1mm: bank 0 = inputs 0,2 (two polarisations), bank 1 = 1,3).
Counts = gain(ch) * T * (1 + n / sqrt(dnu * t_dump)) with T = Tsys + load + Ta*, so
280 SKY/(HOT - SKY) = Tsys and Tsys (ON - REF)/REF = Ta* in expectation.
A birdie adds ``gain * amplitude_k * (1 + 0.5 sin(2 pi t / 47 s))`` to its channels (the slow
drift makes it survive ON - REF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lmtflow.constants import SEQUOIA_BANDWIDTH_MHZ, SEQUOIA_NPIX
from lmtflow.errors import ConfigError

BIRDIE_PERIOD_S = 47.0
REAL_ROACH_BLOCK_MARGIN_S = 0.18
"""How long before and after an ifproc block the real spectrometer dumps (the spectra per roach
file of Cal 79447 and Map 79448, reference/data/real_lmt_counts.md); none mid-slew."""



def sequoia_instrument(line_freq_ghz: list[float]) -> dict[str, Any]:
    """The ``instrument`` section of a SEQUOIA preset session: 2048 channels, the given lines,
    the real spectrometer timing (:data:`REAL_ROACH_BLOCK_MARGIN_S`)."""
    return {"receiver": "Sequoia", "nchan": 2048, "line_freq_ghz": list(line_freq_ghz),
            "roach_block_margin_s": REAL_ROACH_BLOCK_MARGIN_S}  # fmt: skip


INSTRUMENT_DEFAULTS: dict[str, Any] = {
    "receiver": "Sequoia",
    "nchan": 2048,
    "line_freq_ghz": [115.271204],
    "dump_time_s": 0.1,
    "tsys_k": [150.0, 250.0],
    "gain_counts_per_k": [2000.0, 8000.0],
    "ripple_amplitude": 0.05,
    "ripple_period_channels": 317.0,
    "bandpass_edge": 0.05,
    "dtype": "float32",
    "tracking_beam": None,
    "roach_block_margin_s": None,
}
FAULT_KEYS = {"dead_beams", "dead_value", "noisy_beams", "birdies", "spikes", "missing_roach",
              "bad_intervals", "noisy_pols"}  # fmt: skip


@dataclass(frozen=True)
class RoachInput:
    roach: int
    input: int
    pixel: int
    bank: int


@dataclass
class Faults:
    dead_beams: set[int] = field(default_factory=set)
    dead_value: float = 0.0
    noisy_beams: dict[int, float] = field(default_factory=dict)
    birdies: list[dict[str, Any]] = field(default_factory=list)
    spikes_per_file: int = 0
    spike_factor: float = 1000.0
    missing_roach: set[tuple[int, int]] = field(default_factory=set)
    bad_intervals: list[dict[str, Any]] = field(default_factory=list)
    """``{obsnum, beams, t0_s, t1_s, factor}``: the radiometer noise of those beams is
    ``factor`` times higher from ``t0_s`` to ``t1_s`` after the ObsNum's first sample."""

    noisy_pols: list[dict[str, Any]] = field(default_factory=list)
    """``{bank, pol, factor}`` (Msip1mm): folded into ``noisy_beams`` by input number."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "noisy_pols": self.noisy_pols,
            "dead_beams": sorted(self.dead_beams),
            "dead_value": self.dead_value,
            "noisy_beams": {str(k): v for k, v in sorted(self.noisy_beams.items())},
            "birdies": self.birdies,
            "birdie_model": "gain*amplitude_k*(1+0.5*sin(2*pi*t/47 s)) added to the counts",
            "spikes_per_file": self.spikes_per_file,
            "spike_factor": self.spike_factor,
            "bad_intervals": self.bad_intervals,
        }


def parse_faults(d: dict[str, Any] | None, npix: int, nbanks: int) -> Faults:
    d = dict(d or {})
    bad = set(d) - FAULT_KEYS
    if bad:
        raise ConfigError(f"faults: unknown key(s) {sorted(bad)}; valid: {sorted(FAULT_KEYS)}")
    birdies = []
    for b in d.get("birdies", []):
        pix = b.get("pixels", "all")
        birdies.append(
            {
                "channels": [int(c) for c in b["channels"]],
                "amplitude_k": float(b["amplitude_k"]),
                "pixels": list(range(npix)) if pix == "all" else [int(p) for p in pix],
                "banks": [int(x) for x in b.get("banks", range(nbanks))],
                # intermittent: on for the first duty fraction of every period_s (0 = steady)
                **({"period_s": float(b["period_s"]), "duty": float(b.get("duty", 0.5))}
                   if b.get("period_s") else {}),
            }
        )
    spikes = d.get("spikes", {}) or {}
    return Faults(
        dead_beams={int(p) for p in d.get("dead_beams", [])},
        dead_value=float(d.get("dead_value", 0.0)),
        noisy_beams={int(k): float(v) for k, v in (d.get("noisy_beams") or {}).items()},
        birdies=birdies,
        spikes_per_file=int(spikes.get("per_file", 0)),
        spike_factor=float(spikes.get("factor", 1000.0)),
        missing_roach={(int(m["obsnum"]), int(m["roach"])) for m in d.get("missing_roach", [])},
        noisy_pols=[{"bank": int(p["bank"]), "pol": int(p["pol"]),
                     "factor": float(p.get("factor", 3.0))}
                    for p in d.get("noisy_pols", [])],  # fmt: skip
        bad_intervals=[{"obsnum": int(b["obsnum"]), "beams": [int(x) for x in b["beams"]],
                        "t0_s": float(b["t0_s"]), "t1_s": float(b["t1_s"]),
                        "factor": float(b.get("factor", 3.0))}
                       for b in d.get("bad_intervals", [])],  # fmt: skip
    )


@dataclass
class Instrument:
    """Everything about the receiver chain that stays fixed during a session."""

    receiver: str
    nchan: int
    bandwidth_mhz: float
    line_freq_ghz: list[float]
    dump_time_s: float
    dtype: str
    tracking_beam: int
    inputs: list[RoachInput]
    tsys_k: NDArray[np.float64]  # (ninputs,) in the order of ``inputs``
    gain_scale: NDArray[np.float64]  # (ninputs,) counts/K at the band centre
    gain: NDArray[np.float32]  # (ninputs, nchan)
    volts_per_k: NDArray[np.float64]  # (ninputs,) IFProc total-power scale
    faults: Faults
    roach_block_margin_s: float | None = None

    @property
    def nbanks(self) -> int:
        return len(self.line_freq_ghz)

    @property
    def npix(self) -> int:
        return SEQUOIA_NPIX if self.receiver == "Sequoia" else 4

    @property
    def roaches(self) -> list[int]:
        return sorted({ri.roach for ri in self.inputs})

    def roach_inputs(self, roach: int) -> list[int]:
        """Indices into ``inputs`` of the 4 inputs of a roach, ordered by input number."""
        return [i for i, ri in enumerate(self.inputs) if ri.roach == roach]

    @property
    def channel_width_hz(self) -> float:
        return self.bandwidth_mhz * 1e6 / self.nchan

    @property
    def noise_per_sqrt(self) -> float:
        """1/sqrt(dnu * t_dump): radiometer noise of one dump in units of T."""
        return 1.0 / math.sqrt(self.channel_width_hz * self.dump_time_s)

    def ifproc_indices(self) -> list[int]:
        """Indices into ``inputs`` of the IFProc total-power channels (bank 0 for Sequoia)."""
        if self.receiver == "Sequoia":
            return [i for i, ri in enumerate(self.inputs) if ri.bank == 0]
        return list(range(len(self.inputs)))


def _range_or_list(value: Any, n: int, rng: np.random.Generator, name: str) -> NDArray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == n:
        return arr
    if arr.size != 2:
        raise ConfigError(f"instrument: {name} must be a [lo, hi] range or {n} values")
    lo, hi = arr
    # distinct values spread evenly over the range, shuffled, with a small jitter
    base = np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])
    step = (hi - lo) / max(n - 1, 1)
    return rng.permutation(base) + rng.uniform(-0.2, 0.2, n) * step


def build_instrument(
    d: dict[str, Any] | None, faults: dict[str, Any] | None, rng: np.random.Generator
) -> Instrument:
    """Resolve an ``instrument:`` mapping (schema in the module docstring) with a seeded rng."""
    d = dict(d or {})
    bad = set(d) - set(INSTRUMENT_DEFAULTS)
    if bad:
        raise ConfigError(
            f"instrument: unknown key(s) {sorted(bad)}; valid: {sorted(INSTRUMENT_DEFAULTS)}"
        )
    p = {**INSTRUMENT_DEFAULTS, **d}
    receiver = str(p["receiver"])
    nchan = int(p["nchan"])
    if nchan not in SEQUOIA_BANDWIDTH_MHZ:
        raise ConfigError(f"instrument: nchan {nchan} not one of {sorted(SEQUOIA_BANDWIDTH_MHZ)}")
    freqs = [float(f) for f in np.atleast_1d(p["line_freq_ghz"])]
    if receiver == "Sequoia":
        if len(freqs) not in (1, 2):
            raise ConfigError("instrument: line_freq_ghz needs 1 or 2 values (banks)")
        inputs = [
            RoachInput(roach=4 * b + r, input=k, pixel=4 * r + k, bank=b)
            for b in range(len(freqs))
            for r in range(4)
            for k in range(4)
        ]
        tb = 10 if p["tracking_beam"] is None else int(p["tracking_beam"])
    elif receiver == "Msip1mm":
        if len(freqs) == 1:
            freqs = freqs * 2
        if len(freqs) != 2:
            raise ConfigError("instrument: Msip1mm has two banks (line_freq_ghz: [f0, f1])")
        inputs = [RoachInput(roach=0, input=k, pixel=k, bank=k % 2) for k in range(4)]
        tb = 0 if p["tracking_beam"] is None else int(p["tracking_beam"])
    else:
        raise ConfigError(f"instrument: receiver {receiver!r} is not 'Sequoia' or 'Msip1mm'")
    n = len(inputs)
    tsys = _range_or_list(p["tsys_k"], n, rng, "tsys_k")
    g = np.atleast_1d(np.asarray(p["gain_counts_per_k"], dtype=float))
    scale = g if g.size == n else np.exp(rng.uniform(np.log(g[0]), np.log(g[-1]), n))
    u = np.arange(nchan) / (nchan - 1)
    edge = float(p["bandpass_edge"])
    if edge > 0:
        w = edge / 3.0
        bandpass = 0.2 + 0.8 * 0.25 * (1 + np.tanh((u - edge) / w)) * (
            1 + np.tanh((1 - edge - u) / w)
        )
    else:
        bandpass = np.ones(nchan)
    phase = rng.uniform(0, 2 * np.pi, n)
    ch = np.arange(nchan)
    ripple = 1.0 + float(p["ripple_amplitude"]) * np.sin(
        2 * np.pi * ch[None, :] / float(p["ripple_period_channels"]) + phase[:, None]
    )
    gain = (scale[:, None] * bandpass[None, :] * ripple).astype(np.float32)
    volts = rng.uniform(0.004, 0.012, n)
    npix = SEQUOIA_NPIX if receiver == "Sequoia" else 4
    margin = p["roach_block_margin_s"]
    parsed = parse_faults(faults, npix, len(freqs))
    for np_ in parsed.noisy_pols:  # Msip1mm input k: bank k % 2, polarisation k // 2
        if receiver != "Msip1mm" or np_["bank"] not in (0, 1) or np_["pol"] not in (0, 1):
            raise ConfigError(f"faults: noisy_pols {np_}: Msip1mm only, bank and pol 0 or 1 "
                              "(Sequoia has one polarisation: use noisy_beams)")  # fmt: skip
        parsed.noisy_beams[np_["bank"] + 2 * np_["pol"]] = np_["factor"]
    return Instrument(
        receiver=receiver,
        nchan=nchan,
        bandwidth_mhz=SEQUOIA_BANDWIDTH_MHZ[nchan],
        line_freq_ghz=freqs,
        dump_time_s=float(p["dump_time_s"]),
        dtype=str(p["dtype"]),
        tracking_beam=tb,
        inputs=inputs,
        tsys_k=tsys,
        gain_scale=scale,
        gain=gain,
        volts_per_k=volts,
        faults=parsed,
        roach_block_margin_s=None if margin is None else float(margin),
    )
