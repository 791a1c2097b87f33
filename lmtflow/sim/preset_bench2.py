"""The ``bench2`` simulator preset: shaped like the real LMTOY bench2, IRC+10216 Cal 79447 and
Map 79448 (SEQUOIA, 2018-11-16), from the counts printed from the real raw files
(``reference/data/real_lmt_counts.md``).

* Cal 79447: HOT 2.62 s, no samples for 2.49 s, SKY 2.64 s; the Map starts 14.65 s later.
* Map 79448: REF, then four times (slew, ON, slew, REF): REF ~10.2 s, slews ~7.7 s with no
  ifproc samples, ON blocks ~143.4 s (10 rows of a 400" x 400" Ra map: HPBW 16", XStep 1.0,
  YStep 0.7, 40 rows with the ramps); the spectrometer dumps every 0.1 s only within 0.18 s
  of a block, which gives the real ~6,280 dumps (25,1xx spectra) per map roach file and
  ~60 (2xx spectra) per Cal roach file.
* float64 roach data, as the 2018 files: about 1.6 GB in all, like the real set.
* Gridded with the defaults (resolution 11", cell 5.5", extent 400", slice -370..330 km/s),
  the cube is 147 x 147 x 689, as LMTOY's.

Not modelled: the real ifproc samples at 8 ms here (the simulator's rate); the reference's
sample counts per block (e.g. 263 for a 2.62 s HOT) imply 10 ms, so the simulated ifproc has
~25% more samples per block than the real one while the block lengths agree.
"""

from __future__ import annotations

from typing import Any

from .instrument import REAL_ROACH_BLOCK_MARGIN_S

CO10 = 115.271204

REAL_COUNTS = {
    "cal_spectra_per_roach": (236, 236, 240, 244),
    "map_spectra_per_roach": (25108, 25112, 25140, 25144),
    "cube_shape": (689, 147, 147),
    "map_arcsec": (400.0, 400.0),
    "block_seconds": {"hot": 2.62, "sky": 2.64, "ref": (10.12, 10.56, 10.11, 10.12, 10.12),
                      "on": (142.51, 143.26, 142.61, 144.99)},  # fmt: skip
    "slew_seconds": (6.75, 8.11, 7.12, 8.33, 7.21, 8.28, 7.28, 8.35),
    "cal_switch_s": 2.49,
    "cal_to_map_gap_s": 14.65,
}
"""The real 79447/79448 numbers (reference/data/real_lmt_counts.md) the preset is held to."""


def bench2() -> dict[str, Any]:
    """Simulator config of the ``bench2`` preset (about 1.6 GB of raw data)."""
    return {
        "sessions": [
            {
                "name": "seq",
                "start_utc": "2018-11-16T11:48:30.36",  # first TelTime 1542368910.3623
                "project_id": "2018-S1-MU-8",
                "instrument": {
                    "receiver": "Sequoia",
                    "nchan": 2048,
                    "line_freq_ghz": [CO10],
                    "dtype": "float64",
                    "roach_block_margin_s": REAL_ROACH_BLOCK_MARGIN_S,
                },
                "sky": {
                    "source_name": "IRC+10216",
                    "ra_deg": 146.989193,
                    "dec_deg": 13.278767,
                    "velocity_kms": -20.0,
                    "ref_offset_arcsec": [600.0, 0.0],
                    "sources": [
                        {"name": "core", "fwhm_arcsec": 20.0, "peak_k": 6.0, "vlsr_kms": -26.5,
                         "fwhm_kms": 28.0, "rest_freq_ghz": CO10},
                        {"name": "envelope", "fwhm_arcsec": 120.0, "peak_k": 1.5,
                         "vlsr_kms": -26.5, "fwhm_kms": 28.0, "rest_freq_ghz": CO10},
                        {"name": "arc", "dx_arcsec": -60.0, "dy_arcsec": 80.0,
                         "fwhm_arcsec": 30.0, "peak_k": 0.8, "vlsr_kms": -15.0, "fwhm_kms": 6.0,
                         "rest_freq_ghz": CO10},
                    ],  # fmt: skip
                },
                "observations": [
                    {"kind": "Cal", "obsnum": 79447, "label": "cal",
                     "params": {"hot_s": 2.62, "switch_s": 2.49, "sky_s": 2.64}},
                    {
                        "kind": "Map",
                        "obsnum": 79448,
                        "label": "map",
                        "gap_before_s": 14.65,
                        "params": {
                            "coord": "Ra",
                            "xlength_arcsec": 400,
                            "ylength_arcsec": 400,
                            "hpbw_arcsec": 16,
                            "xstep": 1.0,
                            "ystep": 0.7,
                            "xramp_arcsec": 20,
                            "yramp_arcsec": 20,
                            "scan_rate_arcsec_s": 36,
                            "rows_per_scan": 10,
                            "turnaround_s": 2.35,
                            "ref_s": 10.21,
                            "slew_s": 7.68,
                        },
                    },
                ],  # fmt: skip
            }
        ]
    }
