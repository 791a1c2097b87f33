"""Combinations of ObsNums: which sets the config names, and a collision-free name for each.

A combination is a set: its name comes from the sorted ObsNums, so the order in the config
does not matter, and two different sets never share a name (long sets get a hash of the full
list). Excluded ObsNums are removed before naming.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from .errors import ConfigError

MAX_LISTED = 6


def combo_name(obsnums: Iterable[int]) -> str:
    """Directory name of a set of ObsNums: ``a_b_c`` or ``lo-hi_nN_<hash>`` for long sets."""
    nums = sorted({int(n) for n in obsnums})
    if len(nums) < 2:
        raise ConfigError(f"a combination needs at least two ObsNums, got {nums}")
    if len(nums) <= MAX_LISTED:
        return "_".join(map(str, nums))
    digest = hashlib.sha1(",".join(map(str, nums)).encode()).hexdigest()[:8]
    return f"{nums[0]}-{nums[-1]}_n{len(nums)}_{digest}"


COMBO_PATTERN = r"\d+(_\d+)+|\d+-\d+_n\d+_[0-9a-f]{8}"


def configured_obsnums(config: dict) -> list[int]:
    """Every science ObsNum the config names (top level, sources, combinations)."""
    nums = {int(n) for n in config.get("obsnums", [])}
    for src in config.get("sources", {}).values():
        nums.update(int(n) for n in src.get("obsnums", []))
        for combo in src.get("combinations", []):
            nums.update(int(n) for n in combo["obsnums"] if n not in combo.get("exclude", []))
    return sorted(nums)


def configured_combinations(config: dict) -> list[tuple[int, ...]]:
    """The distinct ObsNum sets to combine (sorted tuples), exclusions applied."""
    sets = set()
    for name, src in config.get("sources", {}).items():
        for combo in src.get("combinations", []):
            nums = set(combo["obsnums"]) - set(combo.get("exclude", []))
            if len(nums) < 2:
                raise ConfigError(
                    f"sources.{name}.combinations: {sorted(combo['obsnums'])} minus the excluded "
                    f"{sorted(combo.get('exclude', []))} leaves fewer than two ObsNums"
                )
            sets.add(tuple(sorted(nums)))
    return sorted(sets)


def combination_values(config: dict, obsnums: Iterable[int], step: str) -> dict:
    """The ``step`` values (``grid``) a config gives the combination of ``obsnums`` itself;
    two entries of one ObsNum set with different values are an error."""
    nums, found = tuple(sorted({int(n) for n in obsnums})), []
    for src in config.get("sources", {}).values():
        for combo in src.get("combinations", []):
            if tuple(sorted(set(combo["obsnums"]) - set(combo.get("exclude", [])))) == nums:
                found.append(combo.get(step) or {})
    if any(f != found[0] for f in found):
        raise ConfigError(f"combination {combo_name(nums)}: {step} values differ between its "
                          f"entries: {found}")  # fmt: skip
    return dict(found[0]) if found else {}


def check_members(name: str, infos: list) -> list[int]:
    """Banks a combination can be made for; its ObsNums must be of one kind and receiver."""
    kinds = {("map" if i.is_map else "spectrum", i.header.receiver) for i in infos}
    if len(kinds) > 1:
        listing = ", ".join(f"{i.obsnum} ({i.header.obspgm}, {i.header.receiver})" for i in infos)
        raise ConfigError(f"combination {name} mixes kinds of observation: {listing}")
    banks = sorted(set.intersection(*(set(i.banks) for i in infos)))
    if not banks:
        raise ConfigError(f"combination {name}: its ObsNums share no bank")
    return banks


def joint_field(
    centres: list[tuple[float, float]], extents: list[float]
) -> tuple[tuple[float, float] | None, float]:
    """Centre (deg, ``None`` when every member shares the first one's) and extent (arcsec, the
    half-size) of a map that holds every member's own map: a mosaic's joint cube.

    ``centres`` are the members' source positions (lon, lat: the positions their offsets refer
    to), ``extents`` their own half-sizes. Tiles observed at different positions (LMT mosaics:
    one source position per tile) get the centre of their bounding box and the half-size that
    reaches every member's own map edge; members of one field keep the first one's centre and
    the largest extent, as before.
    """
    lon0, lat0 = centres[0]
    cosl = math.cos(math.radians(lat0))
    dx = [((lon - lon0 + 180.0) % 360.0 - 180.0) * cosl * 3600.0 for lon, _ in centres]
    dy = [(lat - lat0) * 3600.0 for _, lat in centres]
    if max(map(abs, dx + dy)) < 1e-3:  # one field (a milliarcsecond is no mosaic)
        return None, max(extents)
    cx, cy = 0.5 * (min(dx) + max(dx)), 0.5 * (min(dy) + max(dy))
    half = max(max(abs(x - cx), abs(y - cy)) + e for x, y, e in zip(dx, dy, extents, strict=True))
    centre = ((lon0 + cx / 3600.0 / cosl) % 360.0, lat0 + cy / 3600.0)
    return centre, half
