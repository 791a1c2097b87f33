"""The flag-file format: rules over ``data[time, beam, pol, band, chan]`` (+ RSR lags).

A flag file (YAML) holds ``version``, ``auto`` (detector policies), ``fill`` and ``rules``.
A rule is an AND of selection keys; the rules of a file are ORed; ``action: unflag`` rules
veto the flags of earlier rules (optionally only one ``origin`` or the rules whose ``id``
matches, glob patterns allowed). Every rule has a ``reason``. An omitted key selects all.

Values are normalised here into one canonical form, so that two spellings of the same rule
give the same per-step parameter file (and re-run nothing):

* index keys (obsnum, bank, beam, pol, dump, chan, chassis, board, lag): a number, a list of
  numbers and ``[a, b]`` inclusive ranges, or a string ``"a-b"``/``"a,b"``; ``beam`` also
  takes LMTOY's pix_list strings (``"-0,5"`` = all beams but 0 and 5, ``"0..3"``).
  Normalised to sorted, merged ``[[lo, hi], ...]`` (0-based, inclusive).
* unit keys (time, time_s, sky_ghz, vlsr_kms, freq_ghz): one interval ``[a, b]`` or a list
  of intervals; time takes UTC ISO strings. Normalised to sorted ``[[lo, hi], ...]``.
* ``where``: ``{tsys_k: [lo, hi], elevation_deg: [lo, hi]}``, ``null`` = open end.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

INDEX_KEYS = ("obsnum", "bank", "beam", "pol", "dump", "chan", "chassis", "board", "lag")
UNIT_KEYS = ("time", "time_s", "sky_ghz", "vlsr_kms", "freq_ghz")
WHERE_KEYS = ("tsys_k", "elevation_deg")
META_KEYS = ("action", "reason", "id", "origin", "metric")
RULE_KEYS = (*META_KEYS, *INDEX_KEYS, *UNIT_KEYS, "where")
ORIGINS = ("user", "auto", "param")
DETECTORS = ("bad_beams", "birdies", "spikes", "bad_time", "rsr_badlags", "rsr_badcb")
POLICIES = ("apply", "suggest", "off")
THRESHOLDS = {"bad_beams": ("nsigma", "min_ratio"), "birdies": ("nsigma", "grow"),
              "spikes": ("nsigma",), "bad_time": ("nsigma", "min_dumps"),
              "rsr_badlags": ("bc_hi", "bc_lo", "spike", "min_chan", "short_min", "short_hi"),
              "rsr_badcb": ("rms_min", "rms_max")}  # fmt: skip
"""The thresholds each detector takes (lmtflow.flags.auto; RSR: lmtflow.rsr.badlags)."""
FILE_KEYS = ("version", "auto", "fill", "rules")
REASON = re.compile(r"^[A-Za-z0-9_.-]+$")
NPIX = 16  # beams a pix_list string ranges over (SEQUOIA); 1MM beams 0..3 are inside it


class FlagFileError(ConfigError):
    """A flag file (or one of its rules) is invalid; the message names the file and rule."""


def _near(key: str, valid: tuple[str, ...] | list[str]) -> str:
    near = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=0.5)
    return f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(valid)}"


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what}: {value!r} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not an integer") from None


def merge_intervals(pairs: list[list]) -> list[list]:
    """Sorted, overlapping/adjacent-integer intervals merged (inclusive ends)."""
    out: list[list] = []
    for lo, hi in sorted(pairs):
        if lo > hi:
            raise ValueError(f"range [{lo}, {hi}] is empty (start after end)")
        integer = isinstance(lo, int) and isinstance(hi, int)
        if out and lo <= out[-1][1] + (1 if integer else 0):
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def _pix_list_string(text: str) -> list[list[int]]:
    body = text.replace(" ", "")
    remove = body.startswith("-") and not re.fullmatch(r"-\d+-\d+", body)
    body = body[1:] if remove else body
    chosen: set[int] = set()
    for part in filter(None, body.split(",")):
        if ".." in part:
            lo, hi = (int(x) for x in part.split(".."))
            chosen.update(range(lo, hi + 1))
        else:
            chosen.add(int(part))
    beams = sorted(set(range(NPIX)) - chosen) if remove else sorted(chosen)
    return [[b, b] for b in beams]


def index_set(value: Any, key: str) -> list[list[int]]:
    """Normalise an index key (see module doc) to merged inclusive ``[[lo, hi], ...]``."""
    if isinstance(value, str):
        text = value.strip()
        if key == "beam" and (text.startswith("-") or ".." in text):
            pairs = _pix_list_string(text)
            if not pairs:
                raise ValueError(f"{key}: {value!r} selects nothing")
            return merge_intervals(pairs)
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = re.fullmatch(r"(\d+)\s*(?:-|\.\.)\s*(\d+)", part)
            if m:
                pairs.append([int(m[1]), int(m[2])])
            else:
                n = _int(part, key)
                pairs.append([n, n])
        if not pairs:
            raise ValueError(f"{key}: {value!r} selects nothing")
        return merge_intervals(pairs)
    items = value if isinstance(value, list) else [value]
    pairs = []
    for item in items:
        if isinstance(item, list):
            if len(item) != 2:
                raise ValueError(f"{key}: range {item!r} needs [first, last]")
            pairs.append([_int(item[0], key), _int(item[1], key)])
        elif isinstance(item, str):
            pairs += index_set(item, key)
        else:
            n = _int(item, key)
            pairs.append([n, n])
    if not pairs:
        raise ValueError(f"{key}: an empty list selects nothing (omit the key to select all)")
    if any(lo < 0 for lo, _ in pairs):
        raise ValueError(f"{key}: {value!r} has a negative index (indices are 0-based)")
    return merge_intervals(pairs)


def _utc(value: Any) -> float:
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            problem = "is not a UTC ISO date (2018-11-16T09:41:10)"
            raise ValueError(f"time: {value!r} {problem}") from None
    else:
        raise ValueError(f"time: {value!r} is not a UTC ISO date string")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return round(moment.timestamp(), 6)


def unit_set(value: Any, key: str) -> list[list[float]]:
    """Normalise a unit key: one ``[a, b]`` or a list of them -> sorted ``[[lo, hi], ...]``
    (time -> unix seconds)."""
    conv = _utc if key == "time" else None
    if not isinstance(value, list) or not value:
        raise ValueError(f"{key}: {value!r} is not an interval [first, last] or a list of them")
    intervals = value if isinstance(value[0], list) else [value]
    pairs = []
    for iv in intervals:
        if not isinstance(iv, list) or len(iv) != 2:
            raise ValueError(f"{key}: {iv!r} is not an interval [first, last]")
        if conv is not None:
            pairs.append([conv(iv[0]), conv(iv[1])])
        else:
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in iv):
                raise ValueError(f"{key}: interval {iv!r} must hold two numbers")
            pairs.append([float(iv[0]), float(iv[1])])
    return merge_intervals(pairs)


def where_set(value: Any) -> dict[str, list]:
    """``where: {tsys_k: [lo, hi], elevation_deg: [lo, hi]}`` with ``null`` open ends."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"where: {value!r} is not a mapping of {', '.join(WHERE_KEYS)}")
    out = {}
    for k, iv in value.items():
        if k not in WHERE_KEYS:
            raise ValueError(f"where: unknown key {k!r}{_near(k, WHERE_KEYS)}")
        ok = (
            isinstance(iv, list)
            and len(iv) == 2
            and all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in iv
            )
        )
        if not ok:
            raise ValueError(f"where.{k}: {iv!r} is not [low, high] (null = open)")
        out[k] = [None if v is None else float(v) for v in iv]
    return dict(sorted(out.items()))


def normalise_rule(raw: Any, origin: str = "user") -> dict[str, Any]:
    """One rule in canonical form; ValueError names the key and the problem."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a rule is a mapping of keys, not {raw!r}")
    for key in raw:
        if key not in RULE_KEYS:
            raise ValueError(f"unknown key {key!r}{_near(key, RULE_KEYS)}")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not REASON.match(reason):
        raise ValueError(f"reason {reason!r}: every rule needs a reason made of "
                         "letters, digits, '_', '.' or '-' (no spaces)")  # fmt: skip
    action = raw.get("action", "flag")
    if action not in ("flag", "unflag"):
        raise ValueError(f"action {action!r}: flag or unflag")
    rule: dict[str, Any] = {"action": action, "reason": reason}
    if "origin" in raw:
        if raw["origin"] not in ORIGINS:
            raise ValueError(f"origin {raw['origin']!r}: one of {', '.join(ORIGINS)}")
        if action == "flag" and raw["origin"] != origin:
            raise ValueError(f"origin {raw['origin']!r}: only unflag rules name an origin")
    rule["origin"] = raw["origin"] if action == "unflag" and "origin" in raw else origin
    if action == "unflag" and "origin" not in raw:
        rule["origin"] = "any"
    if "id" in raw:
        rule["id"] = str(raw["id"])
    if "metric" in raw:
        rule["metric"] = raw["metric"]
    for key in INDEX_KEYS:
        if key in raw:
            rule[key] = index_set(raw[key], key)
    for key in UNIT_KEYS:
        if key in raw:
            rule[key] = unit_set(raw[key], key)
    if "where" in raw:
        rule["where"] = where_set(raw["where"])
    selects = set(rule) - set(META_KEYS)
    if action == "unflag" and not selects and "id" not in rule and rule["origin"] == "any":
        raise ValueError("an unflag rule without keys, origin or id would veto every flag")
    return dict(sorted(rule.items()))


def label(rule: Mapping[str, Any]) -> str:
    """How messages name a rule: its id or reason, and where it was written."""
    name = rule.get("id") or rule["reason"]
    at = rule.get("_where")
    return f"{rule['action']} rule {name!r}" + (f" ({at})" if at else "")


@dataclass
class FlagFile:
    """A loaded flag file: detector policies, fill mode and canonical rules (file order)."""

    path: str = ""
    auto: dict[str, dict[str, Any]] = field(default_factory=dict)
    fill: str = "blank"
    rules: list[dict[str, Any]] = field(default_factory=list)


def _rule_lines(text: str) -> list[int]:
    """1-based line of each item of the top-level ``rules`` list (for messages)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if k.value == "rules" and isinstance(v, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in v.value]
    return []


def _auto_section(auto: Any, where: str) -> dict[str, dict[str, Any]]:
    if auto is None:
        return {}
    if not isinstance(auto, Mapping):
        raise FlagFileError(f"{where}: auto: must map detector names to settings")
    out = {}
    for name, setting in auto.items():
        if name not in DETECTORS:
            raise FlagFileError(f"{where}: auto: unknown detector {name!r}{_near(name, DETECTORS)}")
        setting = {"policy": setting} if isinstance(setting, str) else dict(setting or {})
        policy = setting.get("policy", "apply")
        if policy not in POLICIES:
            choices = ", ".join(POLICIES)
            raise FlagFileError(f"{where}: auto.{name}.policy {policy!r}: one of {choices}")
        for k, v in setting.items():
            if k != "policy" and k not in THRESHOLDS[name]:
                valid = ("policy", *THRESHOLDS[name])
                raise FlagFileError(f"{where}: auto.{name}: unknown key {k!r}{_near(k, valid)}")
            if k != "policy" and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise FlagFileError(f"{where}: auto.{name}.{k}: {v!r} is not a number")
        out[name] = {**setting, "policy": policy}
    return dict(sorted(out.items()))


def parse_flag_text(text: str, where: str = "<flags>", origin: str = "user") -> FlagFile:
    """Parse the YAML text of a flag file (``where`` names it in errors)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FlagFileError(f"{where}: not valid YAML: {exc}") from None
    if doc is None:
        return FlagFile(path=where)
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, Mapping):
        raise FlagFileError(f"{where}: a flag file is a mapping with {', '.join(FILE_KEYS)}")
    for key in doc:
        if key not in FILE_KEYS:
            raise FlagFileError(f"{where}: unknown key {key!r}{_near(key, FILE_KEYS)}")
    if doc.get("version", 1) != 1:
        raise FlagFileError(f"{where}: version {doc['version']!r}: only version 1 is known")
    fill = doc.get("fill", "blank")
    if fill not in ("blank", "interpolate"):
        raise FlagFileError(f"{where}: fill {fill!r}: blank or interpolate")
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list):
        raise FlagFileError(f"{where}: rules: must be a list of rules")
    lines = _rule_lines(text)
    rules = []
    for i, raw in enumerate(raw_rules):
        at = f"{where}:{lines[i]}" if i < len(lines) else f"{where} rule {i + 1}"
        try:
            rule = normalise_rule(raw, origin)
        except ValueError as exc:
            name = raw.get("reason", "") if isinstance(raw, Mapping) else ""
            named = f" ({name})" if name else ""
            raise FlagFileError(f"{at}: rule {i + 1}{named}: {exc}") from None
        rule["_where"] = at
        rules.append(rule)
    return FlagFile(path=where, auto=_auto_section(doc.get("auto"), where), fill=fill, rules=rules)


_CACHE: dict[tuple[str, int, int], FlagFile] = {}


def load_flag_file(path: str | Path, origin: str = "user") -> FlagFile:
    """Read and check a flag file (cached while it is unchanged); errors name the file."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise FlagFileError(f"flag file {p}: cannot be read ({exc.strerror})") from None
    key = (f"{p.resolve()}|{origin}", st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE[key] = parse_flag_text(p.read_text(), str(p), origin)
    return _CACHE[key]


def public(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule without its bookkeeping (``_where``): what per-step parameter files hold."""
    return {k: v for k, v in rule.items() if not k.startswith("_")}
