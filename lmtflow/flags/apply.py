"""What the reduction steps call to apply flags: masks of a step, FLAGS columns, keywords.

A step's rules come from its parameter file (``flags`` key, lmtflow.flags.steps) plus the
automatic flags of the detectors its policy applies; a step without rules resolves nothing
and writes the same file as before (no FLAGS column, no keywords). Flags already in the input
(its ``FLAGS`` column) are carried and ORed with the step's own, so every later product
knows every earlier flag. Data are never changed: flagged channels are left out of fits and
sums, and marked in ``FLAGS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..io.sdfits_columns import FLAGS_COLUMN
from .resolve import FlagMask, RowMeta, flags_sha256, resolve, step_rules

STEP_TAGS = {"calibrate": "CAL", "baseline": "BAS", "grid": "SEL", "spectrum": "SEL",
             "rsr_baseline": "RSR"}
"""Keyword suffix of each step's flag provenance (FLGS<tag> sha256, FLGF<tag> fraction,
FLGR<tag> counts per reason as JSON)."""


def step_mask(
    params: Mapping[str, Any], reader: Any, t0: float | None = None,
    extra: Sequence[Mapping[str, Any]] = (),
) -> FlagMask | None:  # fmt: skip
    """The resolved flags of a step over an open SDFITSReader's data (None: no rules)."""
    rules = [*extra, *step_rules(params, int(reader.header["OBSNUM"]))]
    if not rules:
        return None
    return resolve(rules, RowMeta.from_sdfits(reader, t0))


def input_flags(reader: Any, start: int, stop: int, chans: slice | None = None
                ) -> NDArray[np.uint8] | None:  # fmt: skip
    """The ``FLAGS`` of rows ``start:stop`` of an input file (None: it has no FLAGS)."""
    if FLAGS_COLUMN not in reader.column_names:
        return None
    flags = reader.columns([FLAGS_COLUMN], start, stop)[FLAGS_COLUMN].reshape(stop - start, -1)
    return flags if chans is None else flags[:, chans]


def has_flags(reader: Any) -> bool:
    return FLAGS_COLUMN in reader.column_names


def flag_keywords(header: Any, mask: FlagMask | None, step: str) -> dict[str, Any]:
    """Provenance keywords: the input's ``FLG*`` keywords and this step's (sha256 of the
    resolved rules, fraction flagged, counts per reason)."""
    out = {k: (header[k], header.comments[k]) for k in header if str(k).startswith("FLG")}
    if mask is None:
        return out
    tag = STEP_TAGS[step]
    counts = mask.counts()
    rules = [t.rule for t in mask.terms]
    out[f"FLGS{tag}"] = flags_sha256(rules)  # 64 characters: no room for a comment
    out[f"FLGF{tag}"] = (round(counts["fraction"], 8), f"fraction of data the {step} flags mask")
    out[f"FLGR{tag}"] = json.dumps(counts["by_reason"], sort_keys=True, separators=(",", ":"))
    return out


def flag_summary(header: Any) -> dict[str, Any]:
    """The flag provenance of a product header: per step, sha256, fraction, counts."""
    out: dict[str, Any] = {}
    for step, tag in STEP_TAGS.items():
        if f"FLGS{tag}" in header and step not in out.values():
            out[step if tag != "SEL" else "select"] = {
                "sha256": str(header[f"FLGS{tag}"]), "fraction": float(header[f"FLGF{tag}"]),
                "by_reason": json.loads(str(header.get(f"FLGR{tag}", "{}")))}  # fmt: skip
    return out


def select_flags(
    reader: Any, params: Mapping[str, Any],
    auto_file: str | Path | Sequence[str | Path] | None = None,
) -> tuple[NDArray | None, FlagMask | None]:  # fmt: skip
    """Spectra a map or spectrum must leave out (beam, pol, where rules of the ``select``
    class, automatic flags of policy apply from ``auto_file`` (one file, or every member's of a
    combination: the rules found in this ObsNum and bank are taken), and spectra whose every
    channel an earlier step flagged): a per-row boolean, or None when nothing is flagged; and
    the step's resolved mask (None: no rules)."""
    hdr = reader.header
    auto = applied_auto_rules(auto_file, int(hdr["OBSNUM"]), int(hdr.get("BANK", 0)))
    mask = step_mask(params, reader, extra=auto)
    out = None
    if mask is not None:
        out = mask.spectra_flagged().reshape(-1)
    if has_flags(reader):
        whole = np.zeros(reader.nrows, dtype=bool)
        step = 4096
        for s in range(0, reader.nrows, step):
            e = min(s + step, reader.nrows)
            whole[s:e] = (input_flags(reader, s, e) != 0).all(axis=1)
        out = whole if out is None else out | whole
    return out, mask


def blank_flagged(data: NDArray, flags: NDArray | None, fill: str = "blank") -> NDArray:
    """``data`` (rows, nchan) with flagged channels NaN (a copy only if needed): the gridder
    and the averages leave NaN channels out, per channel. ``fill="interpolate"`` (the flag
    file's ``fill``) interpolates them instead (:func:`interpolate_flagged`)."""
    if flags is None or not flags.any():
        return data
    if fill == "interpolate":
        return interpolate_flagged(data, flags != 0)
    return np.where(flags != 0, np.float32(np.nan), data)


def interpolate_flagged(data: NDArray, flagged: NDArray[np.bool_]) -> NDArray:
    """``data`` (rows, nchan) with each run of flagged channels replaced by the straight line
    between its unflagged neighbours in the same spectrum (LMTOY's birdie ``eliminate``); a run
    touching either end of the spectrum has no neighbour there and is NaN, as is every channel
    of a spectrum flagged whole. Whole arrays: no loop over spectra."""
    n = data.shape[-1]
    idx = np.arange(n)
    left = np.maximum.accumulate(np.where(flagged, -1, idx), axis=-1)
    right = np.flip(np.minimum.accumulate(np.flip(np.where(flagged, n, idx), -1), axis=-1), -1)
    inside = flagged & (left >= 0) & (right < n)
    lo, hi = np.clip(left, 0, n - 1), np.clip(right, 0, n - 1)
    a = np.take_along_axis(data, lo, axis=-1)
    b = np.take_along_axis(data, hi, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = (idx - left) / (right - left)
        line = (a + (b - a) * w).astype(data.dtype, copy=False)
    out = np.where(inside, line, data)
    return np.where(flagged & ~inside, np.asarray(np.nan, data.dtype), out)


def fill_mode(params: Mapping[str, Any], obsnum: int | None = None) -> str:
    """The flag file's ``fill`` (blank or interpolate) in a grid or spectrum step's parameters
    (a combination's keep it per member ObsNum)."""
    flags = params.get("flags")
    if isinstance(flags, Mapping) and "rules" not in flags and obsnum is not None:
        flags = flags.get(str(obsnum))
    return str((flags or {}).get("fill", "blank"))


def product_flag_keywords(header: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords of a cube: its first input's flag provenance and the sha256 of the rules its
    own step applied (every member's, for a combination)."""
    out = flag_keywords(header, None, "grid")
    flags = params.get("flags")
    if flags:
        text = json.dumps(flags, sort_keys=True, separators=(",", ":"))
        out["FLGSSEL"] = hashlib.sha256(text.encode()).hexdigest()
    return out


def applied_auto_rules(paths: str | Path | Sequence[str | Path] | None, obsnum: int | None = None,
                       bank: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The rules of generated auto-flag files (lmtflow.flags.auto) whose policy is apply
    (canonical; ``policy`` and ``metric`` kept for the QA). With ``obsnum`` (and ``bank``)
    only the rules found in that ObsNum (and bank), by their ids ``auto/<ObsNum>/<bank>/...``:
    a combination passes every member's file and each member takes its own."""
    if not paths:
        return []
    import yaml

    files = [paths] if isinstance(paths, str | Path) else list(paths)
    prefix = "auto/" if obsnum is None else f"auto/{int(obsnum)}/"
    if obsnum is not None and bank is not None:
        prefix += f"{int(bank)}/"
    out = []
    for f in files:
        doc = yaml.safe_load(Path(f).read_text()) or {}
        out += [r for r in doc.get("rules", [])
                if r.get("policy") == "apply" and str(r.get("id", "")).startswith(prefix)]
    return out
