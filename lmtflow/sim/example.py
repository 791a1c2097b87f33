"""A complete, commented simulator config (:data:`EXAMPLE_YAML`): the schema by example."""

from __future__ import annotations

from typing import Any

import yaml

EXAMPLE_YAML = """\
# lmtflow simulator config: one Sequoia session with a Cal and an OTF map.
start_utc: "2018-11-16T09:30:00"        # UT of the first ObsNum
sessions:
  - name: seq
    project_id: 2018-S1-MU-8
    instrument:
      receiver: Sequoia                 # or Msip1mm (roach0 only, banks = inputs 0,2 / 1,3)
      nchan: 2048                       # 2048 / 4096 / 8192 -> 800 / 400 / 200 MHz
      line_freq_ghz: [115.271204]       # one per bank; two values -> roach0..7
      dump_time_s: 0.1
      tsys_k: [150, 250]                # distinct per-beam Tsys spread over this range
      gain_counts_per_k: [2000, 8000]
      ripple_amplitude: 0.05
      dtype: float32
    faults:                             # all optional
      noisy_beams: {5: 2.0}
      birdies: [{channels: [1500], amplitude_k: 1.0, pixels: all}]
    sky:
      source_name: IRC+10216
      ra_deg: 146.989193
      dec_deg: 13.278767
      velocity_kms: -20.0
      ref_offset_arcsec: [600.0, 0.0]   # Az/El offset of the REF position
      sources:
        - {name: core, dx_arcsec: 0, dy_arcsec: 0, fwhm_arcsec: 20, peak_k: 3.0,
           vlsr_kms: -20, fwhm_kms: 28, rest_freq_ghz: 115.271204}
        - {name: knot, dx_arcsec: 25, dy_arcsec: -15, fwhm_arcsec: 0, peak_k: 1.5,
           vlsr_kms: -5, fwhm_kms: 8, rest_freq_ghz: 115.271204}
    observations:
      - {kind: Cal, obsnum: 79447}
      - kind: Map
        obsnum: 79448                   # CalObsNum defaults to the last Cal (79447)
        params: {coord: Ra, xlength_arcsec: 90, ylength_arcsec: 90, hpbw_arcsec: 14,
                 xstep: 1.0, ystep: 0.8, xramp_arcsec: 10, yramp_arcsec: 10,
                 scan_rate_arcsec_s: 60, rows_per_scan: 5, turnaround_s: 0.7,
                 ref_s: 2.0, slew_s: 1.5}
"""


def example_config() -> dict[str, Any]:
    """:data:`EXAMPLE_YAML` parsed."""
    return yaml.safe_load(EXAMPLE_YAML)
