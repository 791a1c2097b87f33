"""The ``demo`` preset: a rotating ring of CO clumps around a nucleus in a faint disk (a
nearby galaxy), mapped once by SEQUOIA (Cal 91111 + Map 91112, 240"x240")."""

from __future__ import annotations

import math
from typing import Any

from .constants_lines import CO10
from .instrument import sequoia_instrument


def _ring_sources(n: int = 12) -> list[dict[str, Any]]:
    vsys, vrot, incl, radius = 460.0, 180.0, math.radians(40.0), 60.0
    out = [
        {
            "name": "nucleus",
            "dx_arcsec": 0.0,
            "dy_arcsec": 0.0,
            "fwhm_arcsec": 10.0,
            "peak_k": 5.0,
            "vlsr_kms": vsys,
            "fwhm_kms": 120.0,
            "rest_freq_ghz": CO10,
        },
        {
            "name": "disk",
            "dx_arcsec": 0.0,
            "dy_arcsec": 0.0,
            "fwhm_arcsec": 150.0,
            "peak_k": 0.4,
            "vlsr_kms": vsys,
            "fwhm_kms": 200.0,
            "rest_freq_ghz": CO10,
        },
    ]
    for k in range(n):
        th = 2 * math.pi * k / n
        out.append(
            {
                "name": f"clump{k:02d}",
                "dx_arcsec": radius * math.cos(th),
                "dy_arcsec": radius * math.sin(th) * math.cos(incl),
                "fwhm_arcsec": 14.0,
                "peak_k": 3.0 + 1.5 * math.cos(3 * th) ** 2,
                "vlsr_kms": vsys + vrot * math.cos(th) * math.sin(incl),
                "fwhm_kms": 25.0,
                "rest_freq_ghz": CO10,
            }
        )
    return out


def demo() -> dict[str, Any]:
    return {
        "sessions": [
            {
                "name": "seq",
                "start_utc": "2020-02-20T07:30:00",
                "project_id": "2020-S1-DEMO-1",
                "instrument": sequoia_instrument([CO10]),
                "sky": {
                    "source_name": "SimGalaxy",
                    "ra_deg": 202.469575,
                    "dec_deg": 47.195258,
                    "velocity_kms": 460.0,
                    "ref_offset_arcsec": [720.0, 0.0],
                    "sources": _ring_sources(),
                },
                "observations": [
                    {"kind": "Cal", "obsnum": 91111, "label": "cal"},
                    {
                        "kind": "Map",
                        "obsnum": 91112,
                        "label": "map",
                        "gap_before_s": 20.0,
                        "params": {
                            "coord": "Ra",
                            "xlength_arcsec": 240,
                            "ylength_arcsec": 240,
                            "hpbw_arcsec": 14,
                            "xstep": 1.0,
                            "ystep": 0.7,
                            "xramp_arcsec": 15,
                            "yramp_arcsec": 15,
                            "scan_rate_arcsec_s": 60,
                            "rows_per_scan": 7,
                            "turnaround_s": 1.0,
                            "ref_s": 4.0,
                            "slew_s": 3.0,
                        },
                    },
                ],
            }
        ]
    }
