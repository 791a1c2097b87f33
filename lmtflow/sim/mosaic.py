"""The ``mosaic`` preset: N OTF maps tiling a field larger than one map (a survey-size project).

Each tile is one simulator session: a Cal and an OTF Map tracking the tile's own centre (the
way LMT mosaics are observed: one source position per tile, the gridder shifts every member
onto one map). Every session sees the whole sky model, whose sources sit on the edges and
corners between tiles, so a source is covered by the arrays of two to four tiles.

Layout: ``cols = ceil(sqrt(N))`` tiles a row, ``ceil(N / cols)`` rows, tile ``k`` at column
``k % cols`` and row ``k // cols``, centres ``spacing`` arcsec apart (RA east, Dec north) around
the field centre. Scanned maps of ``tile_arcsec`` a side with the 4x4 SEQUOIA array (~84" wide)
overlap their neighbours by roughly the array footprint when ``spacing == tile_arcsec``.

ObsNums: tile ``k`` has Cal ``FIRST_OBSNUM + 2k`` and Map ``FIRST_OBSNUM + 2k + 1``; labels
``cal<k>``, ``map<k>``. :func:`mosaic_project` gives the lmtflow project config (every Map and
their joint combination); :func:`simulate_mosaic` writes it to ``<truth>/project.yaml`` and adds
a ``mosaic`` section (field centre, tiles, spacing) to ``truth.json``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from lmtflow.errors import ConfigError

from . import scan, truth
from .instrument import sequoia_instrument
from .simulate import SimulationResult, simulate

CO10 = 115.271204
CO13_10 = 110.201354
FIRST_OBSNUM = 120000
PROJECT_ID = "2024-S1-MOSAIC-1"
SOURCE_NAME = "SimMosaic"
CENTER = (146.989193, 13.278767)  # RA, Dec (deg): up at the small preset's hours
VSYS = -20.0
START_UTC = "2018-11-16T09:30:00"
GAP_S = 10.0  # idle time between ObsNums
MAX_TILES = 400


def tile_layout(tiles: int) -> tuple[int, int]:
    """``(cols, rows)`` of a mosaic of ``tiles`` maps (rows filled left to right, bottom up)."""
    if not 1 <= tiles <= MAX_TILES:
        raise ConfigError(f"mosaic: tiles must be 1..{MAX_TILES}, got {tiles}")
    cols = math.ceil(math.sqrt(tiles))
    return cols, math.ceil(tiles / cols)


def tile_offsets(tiles: int, spacing: float) -> list[tuple[float, float]]:
    """Tile centres (arcsec, east and north of the field centre)."""
    cols, rows = tile_layout(tiles)
    return [
        ((k % cols - 0.5 * (cols - 1)) * spacing, (k // cols - 0.5 * (rows - 1)) * spacing)
        for k in range(tiles)
    ]


def _line(k: int, x: float, span: float) -> dict[str, float]:
    """Line of source ``k`` at ``x`` arcsec east: a velocity gradient across the field, widths
    and peaks that vary so that no two sources are alike."""
    return {
        # Bright enough that the fit's noise error is small beside the tolerances of the science
        # check (peak 5%): at 4-5.5 K the peak's scatter in a 64-tile cube was 1.1-1.4% and one
        # of 78 sources fell outside on noise alone (benchmarks/mosaic_science.py); at 8-9.5 K
        # it is ~0.7%, so 5% is ~7 sigma and the check measures the mosaicking, not the noise.
        "peak_k": 8.0 + 0.5 * (k % 4),
        "vlsr_kms": VSYS + 40.0 * x / max(span, 1.0),
        "fwhm_kms": 12.0 + 4.0 * (k % 3),
    }


def mosaic_sources(tiles: int, spacing: float) -> list[dict[str, Any]]:
    """Point sources on the tile edges and corners (dx/dy from the field centre, arcsec).

    One on the middle of each tile's east edge when it has an east neighbour, else on its
    north edge when it has a north neighbour, one on every fourth inner corner, and one in the
    middle of tile 0 (so a single tile still has a source).
    """
    cols, rows = tile_layout(tiles)
    centres = tile_offsets(tiles, spacing)
    span = 0.5 * cols * spacing
    points: list[tuple[str, float, float]] = [("tile0", *centres[0])]
    for k, (x, y) in enumerate(centres):
        if k % cols + 1 < cols and k + 1 < tiles:
            points.append((f"edge{k}e", x + 0.5 * spacing, y))
        elif k + cols < tiles:
            points.append((f"edge{k}n", x, y + 0.5 * spacing))
    for k, (x, y) in enumerate(centres):
        inner = k % cols + 1 < cols and k + cols + 1 < tiles
        if inner and k % 4 == 0:
            points.append((f"corner{k}", x + 0.5 * spacing, y + 0.5 * spacing))
    return [
        {"name": name, "dx_arcsec": round(x, 3), "dy_arcsec": round(y, 3), "fwhm_arcsec": 0.0,
         **_line(i, x, span), "rest_freq_ghz": CO10}  # fmt: skip
        for i, (name, x, y) in enumerate(points)
    ]


def _map_params(tile_arcsec: float) -> dict[str, Any]:
    return {**scan.MAP_DEFAULTS, "xlength_arcsec": tile_arcsec, "ylength_arcsec": tile_arcsec}


def _tile_seconds(tile_arcsec: float) -> float:
    """Length of one tile's Cal + Map (the same for every tile)."""
    cal = scan.cal_timeline(0.0, scan.with_defaults("Cal", None), (600.0, 0.0))
    mp, _ = scan.map_timeline(0.0, _map_params(tile_arcsec), (600.0, 0.0))
    return cal.t_end - cal.t_start + mp.t_end - mp.t_start + 2 * GAP_S


def mosaic_config(
    tiles: int = 4, tile_arcsec: float = 60.0, spacing: float | None = None, dual_bank: bool = False
) -> dict[str, Any]:
    """Simulator config of a mosaic of ``tiles`` maps (``spacing`` defaults to ``tile_arcsec``)."""
    from . import astro

    spacing = float(tile_arcsec if spacing is None else spacing)
    if tile_arcsec <= 0 or spacing <= 0:
        raise ConfigError("mosaic: tile_arcsec and spacing must be > 0")
    ra0, dec0 = CENTER
    sources = mosaic_sources(tiles, spacing)
    lines = [CO10]
    if dual_bank:
        lines.append(CO13_10)
        sources += [{**s, "name": f"{s['name']}_13co", "peak_k": round(0.3 * s["peak_k"], 3),
                     "rest_freq_ghz": CO13_10} for s in sources]  # fmt: skip
    for s in sources:  # absolute positions: each tile's sky model has its own centre
        dx, dy = s.pop("dx_arcsec"), s.pop("dy_arcsec")
        s["ra_deg"] = ra0 + dx / 3600.0 / math.cos(math.radians(dec0))
        s["dec_deg"] = dec0 + dy / 3600.0
    t0, period = astro.parse_utc(START_UTC), _tile_seconds(tile_arcsec)
    sessions = []
    for k, (x, y) in enumerate(tile_offsets(tiles, spacing)):
        cal, obs = FIRST_OBSNUM + 2 * k, FIRST_OBSNUM + 2 * k + 1
        sessions.append({
            "name": f"tile{k}",
            "start_utc": astro.utc_datetime(t0 + k * period).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "project_id": PROJECT_ID,
            "instrument": sequoia_instrument(lines),
            "sky": {
                "source_name": SOURCE_NAME,
                "ra_deg": ra0 + x / 3600.0 / math.cos(math.radians(dec0)),
                "dec_deg": dec0 + y / 3600.0,
                "velocity_kms": VSYS,
                "ref_offset_arcsec": [600.0, 0.0],
                "sources": [dict(s) for s in sources],
            },
            "observations": [
                {"kind": "Cal", "obsnum": cal, "label": f"cal{k}"},
                {"kind": "Map", "obsnum": obs, "label": f"map{k}", "gap_before_s": GAP_S,
                 "params": _map_params(tile_arcsec)},  # fmt: skip
            ],
        })  # fmt: skip
    return {"start_utc": START_UTC, "sessions": sessions}


def map_obsnums(tiles: int) -> list[int]:
    """The Map ObsNums of a mosaic of ``tiles``."""
    return [FIRST_OBSNUM + 2 * k + 1 for k in range(tiles)]


def mosaic_project(
    maps: list[int], data_lmt: str | Path = "", work_lmt: str | Path = ""
) -> dict[str, Any]:
    """lmtflow project config: every Map ObsNum and (two or more) their joint combination."""
    maps = sorted(int(n) for n in maps)
    src: dict[str, Any] = {"obsnums": maps}
    if len(maps) > 1:
        src["combinations"] = [{"obsnums": list(maps)}]
    return {"data_lmt": str(data_lmt), "work_lmt": str(work_lmt), "sources": {SOURCE_NAME: src}}


def simulate_mosaic(
    out_dir: str | Path,
    tiles: int = 4,
    seed: int = 0,
    truth_dir: str | Path | None = None,
    dtype: str | None = None,
    dual_bank: bool = False,
    tile_arcsec: float = 60.0,
) -> SimulationResult:
    """Simulate a mosaic; the truth directory gains ``project.yaml`` and a ``mosaic`` section."""
    spacing = tile_arcsec
    res = simulate(mosaic_config(tiles, tile_arcsec, spacing, dual_bank), out_dir, seed=seed,
                   truth_dir=truth_dir, dtype=dtype, name="mosaic")  # fmt: skip
    cols, rows = tile_layout(tiles)
    res.truth["mosaic"] = {
        "tiles": tiles, "cols": cols, "rows": rows, "tile_arcsec": tile_arcsec,
        "spacing_arcsec": spacing, "ra_deg": CENTER[0], "dec_deg": CENTER[1],
        "maps": map_obsnums(tiles), "cals": [n - 1 for n in map_obsnums(tiles)],
        "offsets_arcsec": [list(o) for o in tile_offsets(tiles, spacing)],
    }  # fmt: skip
    truth.write_truth(res.truth, res.truth_dir)
    project = mosaic_project(map_obsnums(tiles), res.data_lmt)
    (res.truth_dir / "project.yaml").write_text(
        "# lmtflow project: every tile of the simulated mosaic and their joint cube.\n"
        + yaml.safe_dump(project, sort_keys=False)
    )
    return res
