"""Resolve the parameters of one reduction step for one ObsNum and bank.

Defaults come from the schema, then the config's ``defaults``, then the ObsNum's
``overrides``; derived values (baseline windows from vlsr/dv/dw, the resolution from the
sky frequency, the cell from the resolution, the map extent from the header) are computed
here and nowhere else. The result is what the per-step parameter file holds.
"""

from __future__ import annotations

import copy
from typing import Any

from .combination import combination_values, joint_field
from .errors import ConfigError
from .flags.steps import step_flags
from .grid_geometry import default_cell, default_resolution
from .io.ifproc import IfProcHeader

RSR_STEPS: dict[str, tuple[str, ...]] = {
    "rsr_badlags": ("bc_hi", "bc_lo", "spike", "min_chan", "rms_min", "rms_max", "shortlags"),
    "rsr_baseline": ("blo", "xlines", "badcb"),
    "rsr_spectrum": ("rthr", "cthr", "xlines"),
}
"""RSR steps and the keys of the config's ``rsr`` section each one uses."""
SELECT_KEYS = ("pix_list", "rms_cut")
"""The ``select`` pseudo-step: which spectra a map or spectrum uses (from ``grid`` or
``spectrum``). The per-beam QA reads only these, so other grid edits do not redo it."""
STEPS = ("calibrate", "baseline", "spectrum", "grid", "select", *RSR_STEPS)


def _number_list(value: str | list) -> list:
    """``"a,b,c"`` (LMTOY) or a list -> list of its items (strings stay strings)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def rsr_step_params(config: dict, obsnum: int, step: str) -> dict[str, Any]:
    """The keys of the ``rsr`` section ``step`` uses, resolved (lists, BadlagsParams names)."""
    merged = merged_step(config, obsnum, "rsr")
    p = {k: merged[k] for k in RSR_STEPS[step] if k in merged}
    if "xlines" in p:
        p["xlines"] = [float(v) for v in _number_list(p["xlines"])]
        if len(p["xlines"]) % 2:
            raise ConfigError(f"rsr.xlines {merged['xlines']!r}: needs (GHz, half-width) pairs")
    if "badcb" in p:
        p["badcb"] = sorted(str(v) for v in _number_list(p["badcb"]))
    if step == "rsr_badlags":
        short = p.pop("shortlags", None)
        if short is not None:
            p["short_min"], p["short_hi"] = int(short[0]), float(short[1])
    return p


def parse_pix_list(spec: str | list[int], npix: int = 16) -> list[int]:
    """Beams named by a pix_list: ``[0, 3]``, ``"0,3"``, ``"0..15"`` or ``"-0,5"`` (all but)."""
    if isinstance(spec, list):
        beams = sorted({int(p) for p in spec})
    else:
        text = spec.replace(" ", "")
        remove = text.startswith("-")
        body = text[1:] if remove else text
        beams_set: set[int] = set()
        for part in body.split(","):
            if ".." in part:
                lo, hi = (int(x) for x in part.split(".."))
                beams_set.update(range(lo, hi + 1))
            elif part:
                beams_set.add(int(part))
        beams = sorted(set(range(npix)) - beams_set) if remove else sorted(beams_set)
    bad = [p for p in beams if not 0 <= p < npix]
    if bad:
        raise ConfigError(f"pix_list {spec!r}: beams {bad} do not exist (0..{npix - 1})")
    if not beams:
        raise ConfigError(f"pix_list {spec!r} selects no beam")
    return beams


def combination_params(
    config: dict, headers: list[IfProcHeader], bank: int, step: str
) -> dict[str, Any]:
    """Parameters of gridding or averaging a set of ObsNums (first ObsNum's header).

    Gridding keeps each ObsNum's own spectrum selection (``pix_list``: bad beams stay out;
    ``rms_cut``) in per-ObsNum maps; the map holds every member's own map (a mosaic of tiles at
    different positions gets a ``center``: :func:`lmtflow.combination.joint_field`); the other
    values are the first ObsNum's, under the combination's own (``combinations: [{obsnums,
    grid}]``), which change the combination alone.
    """
    headers = sorted(headers, key=lambda h: h.obsnum)
    values = combination_values(config, [h.obsnum for h in headers], step)
    if values:  # the combination's own values, laid over each member's overrides
        overrides = dict(config.get("overrides", {}))
        for h in headers:
            mine = dict(overrides.get(str(h.obsnum), {}))
            mine[step] = {**mine.get(step, {}), **values}
            overrides[str(h.obsnum)] = mine
        config = {**config, "overrides": overrides}
    own = [step_params(config, h, bank, step) for h in headers]
    p = dict(own[0])
    if step == "grid":
        for key in SELECT_KEYS:
            p[key] = {str(h.obsnum): q[key] for h, q in zip(headers, own, strict=True)}
        if any("flags" in q for q in own):  # each member's own beam flags
            p["flags"] = {str(h.obsnum): q.get("flags") for h, q in zip(headers, own, strict=True)}
        centres = [h.center(h.map_coord() or 1) for h in headers]  # as SRCXPOS/SRCYPOS
        centre, p["extent"] = joint_field(centres, [q["extent"] for q in own])
        if centre is not None:  # a mosaic: the joint map is centred on all its tiles
            p["center"] = [round(centre[0], 9), round(centre[1], 9)]
    p["obsnum"] = [h.obsnum for h in headers]
    return dict(sorted(p.items()))


def spectrum_beams(header: IfProcHeader, bank: int, spec: str | list[int]) -> list[int]:
    """Beams of a Ps/Bs spectrum; ``"auto"`` follows LMTOY (tracking beam, Bs beams, 1MM bank)."""
    npix = 16 if header.receiver == "Sequoia" else 4
    if spec != "auto":
        return parse_pix_list(spec, npix)
    if header.obspgm == "Bs" and len(header.bs_beams) == 2 and min(header.bs_beams) >= 0:
        return list(header.bs_beams)
    if header.receiver != "Sequoia":
        return [0 if bank == 0 else 1]
    return [header.tracking_beam if header.tracking_beam >= 0 else 10]


def merged_step(config: dict, obsnum: int, step: str) -> dict[str, Any]:
    """Config values of ``step`` for ``obsnum``: defaults overlaid by the ObsNum's overrides."""
    values = copy.deepcopy(config["defaults"].get(step, {}))
    values.update(copy.deepcopy(config.get("overrides", {}).get(str(obsnum), {}).get(step, {})))
    return values


def step_params(config: dict, header: IfProcHeader, bank: int, step: str) -> dict[str, Any]:
    """The resolved, derived parameters of ``step`` for one ObsNum and bank (JSON-ready)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; steps are {STEPS}")
    if step == "select":
        used = step_params(config, header, bank, "grid" if header.obspgm == "Map" else "spectrum")
        return {k: used[k] for k in (*SELECT_KEYS, "obsnum", "bank", "flags") if k in used}
    if step in RSR_STEPS:
        p = rsr_step_params(config, header.obsnum, step)
    else:
        p = merged_step(config, header.obsnum, step)
    if step == "baseline":
        vlsr = header.vsource_kms if p.get("vlsr") is None else float(p["vlsr"])
        dv, dw = float(p["dv"]), float(p["dw"])
        p["vlsr"] = vlsr
        if p.get("b_regions") is None:
            p["b_regions"] = [[vlsr - dv - dw, vlsr - dv], [vlsr + dv, vlsr + dv + dw]]
        if p.get("slice") is None:
            p["slice"] = [vlsr - dv - dw, vlsr + dv + dw]
        p["birdies"] = sorted(int(c) for c in p.get("birdies", []))
    elif step == "spectrum":
        p["pix_list"] = spectrum_beams(header, bank, p.get("pix_list", "auto"))
        p["b_regions"] = step_params(config, header, bank, "baseline")["b_regions"]
    elif step == "grid":
        if p.get("resolution") is None:
            p["resolution"] = default_resolution(header.sky_freq_ghz[bank] * 1e9)
        if p.get("cell") is None:
            p["cell"] = default_cell(p["resolution"], p["nppb"])
        if not p.get("extent"):
            length = max(header.map_x_length_arcsec, header.map_y_length_arcsec)
            p["extent"] = length if length > 0 else 10 * p["resolution"]
        npix = 16 if header.receiver == "Sequoia" else 4
        p["pix_list"] = parse_pix_list(p["pix_list"], npix)
    flags = step_flags(config, header.obsnum, bank, _kind(header, step), step)
    if flags is not None:  # only then: a config without flags writes the same files as before
        p["flags"] = flags
    p["obsnum"] = header.obsnum
    p["bank"] = bank
    return dict(sorted(p.items()))


def _kind(header: IfProcHeader, step: str) -> str:
    """Product kind of an ObsNum (map, spectrum, rsr) as lmtflow.attempts.kind_of names it."""
    return "rsr" if step in RSR_STEPS else "map" if header.obspgm == "Map" else "spectrum"
