"""Ready-made simulator configs (``lmtflow simulate --preset NAME``) and a YAML example.

* ``small``: tests. Sequoia 16 beams x 2048 ch: Cal 79447, Map 79448 (90"x90" Ra/Dec OTF, two
  ON blocks, ~250 ON dumps per beam), Ps 79449 (pixel 10), Bs 79450 (beams 10, 8), Map 79451
  (the same field scanned along Dec, ScanAngle 90, same Cal); then 1MM (Msip1mm, 4096 ch,
  banks CO 2-1 / 13CO 2-1): Cal 82479, Ps 82480 (four REF/ON pairs). ~145 MB, 2-3 s.
  Labels: cal, map, ps, bs, map2, cal_1mm, ps_1mm.
* ``demo``: the README demo: a rotating ring of clumps, 240"x240" map, Cal 91111 + Map 91112.
* ``bench``: ``bench2`` in float32 (~0.8 GB): Cal 79447 + Map 79448, 400"x400" Ra/Dec map, 40
  rows in 4 ON blocks of ~143 s between 5 REF blocks, ~5,700 ON dumps per beam; ``scale``
  multiplies the ON dumps.
* ``faults``: the small map (sky twice as bright) with a dead beam (3), a noisy beam (5, x3),
  birdies, spikes and a missing roach file (roach2 of the Map). Labels cal, map, ps.
* ``dualbank``: Sequoia with two banks (CO and 13CO, roach0..7): Cal 110398 + Map 110399.
* ``bench2``: shaped like the real LMTOY bench2 ObsNums 79447/79448 block by block, float64,
  ~1.6 GB (:mod:`lmtflow.sim.preset_bench2`).
* ``mosaic``: a survey-size project (:mod:`lmtflow.sim.mosaic`): N small OTF maps (``tiles``,
  default 4), each with its Cal, tiling a field with sources on the tile edges; dual bank is an
  option; the truth directory gains ``project.yaml`` (every map and their joint combination).
* ``rsr``: the Redshift Search Receiver (:mod:`lmtflow.sim.rsr`): Cal 33550 + Bs 33551 (bad
  lags and a bad chassis/board), Cal 33552 + Bs 33553; labels a, b.

Timing: every SEQUOIA/1MM preset follows the real pattern (``reference/data/real_lmt_counts.md``):
ifproc samples every 8 ms inside a block and none in slews and switches; the spectrometer dumps
only within :data:`~lmtflow.sim.instrument.REAL_ROACH_BLOCK_MARGIN_S` of a block; Cal HOT 2.62 s,
switch 2.49 s, SKY 2.64 s (79447); a Map is REF, then (slew, ON, slew, REF) per ON block, with
slews 3/4 of a REF (7.7 s vs 10.2 s in 79448); a Ps is REF, ON, REF, ON... of equal lengths
(82480); a Bs alternates BufPos 0 and 1.
``bench`` and ``bench2`` have the real block lengths. The small presets (small, faults, dualbank,
demo, mosaic) have shorter blocks but do not shorten the REF in proportion to the ON blocks
(143 s : 10 s): a REF's noise is shared by every dump of the ON blocks beside it, and a real REF
(~100 dumps) is long against the few dumps one cell of the map gets; a 2 s REF (20 dumps) keeps
that share of a small map's noise as small as in a real map, where a proportional 0.85 s REF
would not.

The config schema is documented in :mod:`lmtflow.sim.simulate` (top level and sessions),
:mod:`lmtflow.sim.skymodel` (``sky``), :mod:`lmtflow.sim.instrument` (``instrument``,
``faults``), :mod:`lmtflow.sim.observation` and :mod:`lmtflow.sim.scan` (observations and
their ``params``). :data:`EXAMPLE_YAML` is a complete, commented example.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from lmtflow.errors import ConfigError

from .constants_lines import CO10, CO13_10, CO13_21, CO21
from .example import EXAMPLE_YAML, example_config
from .instrument import REAL_ROACH_BLOCK_MARGIN_S, sequoia_instrument
from .mosaic import mosaic_config, simulate_mosaic
from .preset_bench2 import bench2
from .preset_demo import demo
from .rsr import rsr_preset, simulate_rsr
from .simulate import SimulationResult, simulate

__all__ = ["EXAMPLE_YAML", "PRESETS", "example_config", "preset_config", "simulate_preset"]

_IRC = {"source_name": "IRC+10216", "ra_deg": 146.989193, "dec_deg": 13.278767}


def _seq_small_session() -> dict[str, Any]:
    return {
        "name": "seq",
        "start_utc": "2018-11-16T09:30:00",
        "project_id": "2018-S1-MU-8",
        "instrument": sequoia_instrument([CO10]),
        "sky": {
            **_IRC,
            "velocity_kms": -20.0,
            "ref_offset_arcsec": [600.0, 0.0],
            "sources": [
                {
                    "name": "core",
                    "dx_arcsec": 0.0,
                    "dy_arcsec": 0.0,
                    "fwhm_arcsec": 20.0,
                    "peak_k": 5.0,
                    "vlsr_kms": -20.0,
                    "fwhm_kms": 28.0,
                    "rest_freq_ghz": CO10,
                },
                {
                    "name": "knot",
                    "dx_arcsec": 25.0,
                    "dy_arcsec": -15.0,
                    "fwhm_arcsec": 0.0,
                    "peak_k": 4.0,
                    "vlsr_kms": -5.0,
                    "fwhm_kms": 10.0,
                    "rest_freq_ghz": CO10,
                },
            ],
        },
        "observations": [
            {"kind": "Cal", "obsnum": 79447, "label": "cal"},
            {"kind": "Map", "obsnum": 79448, "label": "map", "gap_before_s": 15.0},
            {
                "kind": "Ps",
                "obsnum": 79449,
                "label": "ps",
                "gap_before_s": 20.0,
                "params": {"nrepeats": 2, "on_s": 3.0, "ref_s": 3.0, "switch_s": 1.0},
            },
            {
                "kind": "Bs",
                "obsnum": 79450,
                "label": "bs",
                "gap_before_s": 20.0,
                "params": {"beams": [10, 8], "nrepeats": 2, "block_s": 2.5, "switch_s": 0.5},
            },
            {
                "kind": "Map",
                "obsnum": 79451,
                "label": "map2",
                "gap_before_s": 20.0,
                "params": {"scan_angle_deg": 90.0},
            },
        ],
    }


def _onemm_session() -> dict[str, Any]:
    return {
        "name": "1mm",
        "start_utc": "2018-12-21T07:40:00",
        "project_id": "2018-S1-MU-46",
        "instrument": {
            "receiver": "Msip1mm",
            "nchan": 4096,
            "line_freq_ghz": [CO21, CO13_21],
            "tsys_k": [180.0, 320.0],
            "roach_block_margin_s": REAL_ROACH_BLOCK_MARGIN_S,
        },
        "sky": {
            "source_name": "OrionKL",
            "ra_deg": 83.809042,
            "dec_deg": -5.372639,
            "velocity_kms": 9.0,
            "ref_offset_arcsec": [0.0, 900.0],
            "sources": [
                {
                    "name": "co21",
                    "fwhm_arcsec": 0.0,
                    "peak_k": 8.0,
                    "vlsr_kms": 9.0,
                    "fwhm_kms": 6.0,
                    "rest_freq_ghz": CO21,
                },
                {
                    "name": "13co21",
                    "fwhm_arcsec": 0.0,
                    "peak_k": 2.0,
                    "vlsr_kms": 8.5,
                    "fwhm_kms": 4.0,
                    "rest_freq_ghz": CO13_21,
                },
            ],
        },
        "observations": [
            {"kind": "Cal", "obsnum": 82479, "label": "cal_1mm"},
            {
                "kind": "Ps",
                "obsnum": 82480,
                "label": "ps_1mm",
                "gap_before_s": 20.0,
                # four REF/ON pairs, as the real 82480 (blocks of ~21 s there)
                "params": {"nrepeats": 4, "on_s": 3.0, "ref_s": 3.0, "switch_s": 1.0},
            },
        ],
    }


def _small() -> dict[str, Any]:
    return {"sessions": [_seq_small_session(), _onemm_session()]}


def _bench(scale: float = 1.0) -> dict[str, Any]:
    """The bench map: bench2's ObsNums, sky and block timing in float32 (half bench2's size), two
    and a half hours earlier; ``scale`` multiplies its ON dumps (slower scan, same map and cube)."""
    cfg = bench2()
    sess = cfg["sessions"][0]
    sess["start_utc"] = "2018-11-16T09:00:00"
    del sess["instrument"]["dtype"]
    mp = next(o for o in sess["observations"] if o["kind"] == "Map")
    mp["params"]["scan_rate_arcsec_s"] /= scale
    return cfg


def _faults() -> dict[str, Any]:
    sess = _seq_small_session()
    sess["name"] = "seqfaults"
    # The real spectrometer timing (sequoia_instrument: no dumps mid-slew), as every SEQUOIA
    # preset. The sky is twice as bright as the small map's (core 10 K, knot 8 K, as a bright
    # CO 1-0 source's): a fault fixture must let a test tell a 2% flux bias left by the flags
    # from noise. With 5 K, the flux fit of tests/test_flags_seeds.py has a noise of 0.9-1.35%
    # over 8 seeds (0.8-1.25% with dumps through the slews, which the ingest drops anyway: the
    # same 238 ON and 58 REF dumps either way), too near its 1.2% bound; with 10 K, 0.4-0.7%.
    # The line stays clear of the birdies' channels (2-5 K).
    for src in sess["sky"]["sources"]:
        src["peak_k"] *= 2.0
    sess["observations"] = [
        {"kind": "Cal", "obsnum": 90001, "label": "cal"},
        {"kind": "Map", "obsnum": 90002, "label": "map", "gap_before_s": 15.0},
        {"kind": "Ps", "obsnum": 90003, "label": "ps", "gap_before_s": 20.0},
    ]
    sess["faults"] = {
        "dead_beams": [3],
        "noisy_beams": {5: 3.0},
        "birdies": [
            {"channels": [1200], "amplitude_k": 2.0, "pixels": "all"},
            {"channels": [700, 701], "amplitude_k": 5.0, "pixels": [12]},
        ],
        "spikes": {"per_file": 5, "factor": 1000.0},
        "missing_roach": [{"obsnum": 90002, "roach": 2}],
    }
    return {"sessions": [sess]}


def _dualbank() -> dict[str, Any]:
    sess = _seq_small_session()
    sess["name"] = "seqdual"
    sess["start_utc"] = "2023-04-20T05:00:00"
    sess["instrument"]["line_freq_ghz"] = [CO10, CO13_10]
    sess["sky"]["sources"].append(
        {
            "name": "core13",
            "fwhm_arcsec": 20.0,
            "peak_k": 0.6,
            "vlsr_kms": -20.0,
            "fwhm_kms": 26.0,
            "rest_freq_ghz": CO13_10,
        }
    )
    sess["observations"] = [
        {"kind": "Cal", "obsnum": 110398, "label": "cal"},
        {"kind": "Map", "obsnum": 110399, "label": "map", "gap_before_s": 15.0},
    ]
    return {"sessions": [sess]}


PRESETS = {
    "small": _small,
    "demo": demo,
    "bench": _bench,
    "faults": _faults,
    "dualbank": _dualbank,
    "rsr": rsr_preset,
    "bench2": bench2,
    "mosaic": mosaic_config,  # options (tiles, dual bank): simulate_preset
}


def preset_config(name: str, scale: float = 1.0) -> dict[str, Any]:
    """A fresh copy of a preset's config dict (``scale``: bench only, x the ON dumps)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown simulator preset {name!r}; valid: {sorted(PRESETS)}")
    if scale != 1.0:
        if name != "bench":
            raise ConfigError(f"preset {name!r} has no scale option (only 'bench')")
        return _bench(scale)
    return copy.deepcopy(PRESETS[name]())


def simulate_preset(
    name: str,
    out_dir: str | Path,
    seed: int = 0,
    truth_dir: str | Path | None = None,
    dtype: str | None = None,
    scale: float = 1.0,
    tiles: int | None = None,
    dual_bank: bool = False,
) -> SimulationResult:
    """Simulate a named preset into ``out_dir`` (truth in ``<out_dir>_truth`` by default);
    ``tiles`` and ``dual_bank``: the mosaic preset's size and banks (:mod:`.mosaic`)."""
    if name == "mosaic":
        return simulate_mosaic(out_dir, tiles or 4, seed=seed, truth_dir=truth_dir, dtype=dtype,
                               dual_bank=dual_bank)  # fmt: skip
    if tiles is not None or dual_bank:
        raise ConfigError(f"preset {name!r} has no tiles/dual-bank option (only 'mosaic')")
    if name == "rsr":
        return simulate_rsr(preset_config(name), out_dir, seed=seed, truth_dir=truth_dir)
    return simulate(
        preset_config(name, scale), out_dir, seed=seed, truth_dir=truth_dir, dtype=dtype, name=name
    )
