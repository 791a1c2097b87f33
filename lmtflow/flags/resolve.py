"""Resolve flag rules into boolean masks over ``data[time, beam, pol, band, chan]``.

Each rule becomes one *term*: a row selection over ``(time, beam, pol, band)`` and a channel
selection over ``(chan,)`` or, for sky frequencies under Doppler tracking, ``(time, chan)``;
the rule's mask is their outer product. Masks are evaluated for a block of dumps at a time
(whole arrays, bounded memory): flag terms set the mask of their origin, unflag terms clear it
(every origin, or only the one they name), in file order; ``unflag`` with an ``id`` vetoes
the whole rules whose id matches (glob patterns allowed). The result is the OR over origins.

Units resolve per ObsNum and bank: ``time`` (UTC) and ``time_s`` (seconds after the ObsNum's
first dump) select dumps by their start time, ``dump`` by the dump index (``INTNUM``);
``chan`` names original 0-based channels (a velocity slice keeps its ``CHAN0`` offset);
``sky_ghz`` and ``vlsr_kms`` select every channel an interval overlaps (a channel spans half a
channel width either side of its centre).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .rules import label, public

log = logging.getLogger(__name__)

ORIGIN_BITS = {"user": 1, "param": 2, "auto": 4}
"""Bits of the SDFITS ``FLAGS`` column: which origin flagged a channel (0 = not flagged)."""


@dataclass
class RowMeta:
    """What rules are resolved against: per-dump, per-beam, per-channel coordinates of one
    ObsNum and bank, shaped like ``data[time, beam, pol, band, chan]``."""

    obsnum: int
    bank: int
    dump: NDArray[np.int64]  # (ntime,) dump index in the ObsNum (INTNUM)
    utc: NDArray[np.float64]  # (ntime,) dump start, unix seconds
    beam: NDArray[np.int64]  # (nbeam,)
    pol: NDArray[np.int64]  # (npol,)
    chan: NDArray[np.int64]  # (nchan,) original channel numbers
    t0: float = 0.0  # first dump of the ObsNum (time_s = utc - t0)
    nband: int = 1
    sky_hz: NDArray[np.float64] | None = None  # (ntime, nchan) or (nchan,) channel centres
    vlsr_kms: NDArray[np.float64] | None = None  # (nchan,)
    tsys: NDArray[np.float64] | None = None  # (ntime, nbeam, npol, nband)
    elevation: NDArray[np.float64] | None = None  # (ntime,)

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        return (self.dump.size, self.beam.size, self.pol.size, self.nband, self.chan.size)

    @classmethod
    def from_sdfits(cls, reader: Any, t0: float | None = None) -> RowMeta:
        """Coordinates of an open lmtflow SDFITSReader (raw, calibrated or baselined)."""
        ntime, nbeam, npol, nband, nchan = reader.datadims
        per = reader.rows_per_dump
        hdr = reader.header
        cols = reader.columns(["INTNUM", "UTCTIME", "FDNUM", "PLNUM", "TSYS", "ELEVATIO",
                               "CRVAL1", "CDELT1", "CRPIX1"])  # fmt: skip
        first = cols["UTCTIME"][::per]
        chan0 = int(hdr.get("CHAN0", 0))
        pix = np.arange(nchan, dtype=np.float64) + 1.0
        crval, cdelt, crpix = (cols[k][::per].astype(np.float64) for k in
                               ("CRVAL1", "CDELT1", "CRPIX1"))  # fmt: skip
        sky = crval[:, None] + (pix[None, :] - crpix[:, None]) * cdelt[:, None]
        if np.allclose(sky, sky[:1], rtol=0, atol=1e-3):
            sky = sky[0]
        velo = None
        if "VELO0" in hdr and "DVDC" in hdr:
            velo = float(hdr["VELO0"]) + np.arange(nchan) * float(hdr["DVDC"])
        return cls(
            obsnum=int(hdr["OBSNUM"]), bank=int(hdr.get("BANK", 0)),
            dump=cols["INTNUM"][::per].astype(np.int64), utc=first.astype(np.float64),
            beam=cols["FDNUM"][:per].reshape(nbeam, npol * nband)[:, 0].astype(np.int64),
            pol=cols["PLNUM"][:per].reshape(nbeam, npol, nband)[0, :, 0].astype(np.int64),
            chan=np.arange(chan0, chan0 + nchan), nband=nband,
            t0=float(first[0]) if t0 is None and ntime else float(t0 or 0.0),
            sky_hz=sky, vlsr_kms=velo,
            tsys=cols["TSYS"].reshape(ntime, nbeam, npol, nband).astype(np.float64),
            elevation=cols["ELEVATIO"][::per].astype(np.float64),
        )  # fmt: skip


def _within(values: NDArray, intervals: Sequence[Sequence[float]] | None) -> NDArray[np.bool_]:
    values = np.asarray(values)
    if intervals is None:
        return np.ones(values.shape, dtype=bool)
    out = np.zeros(values.shape, dtype=bool)
    for lo, hi in intervals:
        out |= (values >= lo) & (values <= hi)
    return out


def _overlaps(centres: NDArray, halfwidth: float, intervals) -> NDArray[np.bool_]:
    out = np.zeros(np.shape(centres), dtype=bool)
    for lo, hi in intervals:
        out |= (centres + halfwidth >= lo) & (centres - halfwidth <= hi)
    return out


def _open(values: NDArray, bounds: Sequence[float | None]) -> NDArray[np.bool_]:
    lo, hi = bounds
    ok = np.isfinite(values)
    if lo is not None:
        ok &= values >= lo
    if hi is not None:
        ok &= values <= hi
    return ok


def _half(step: NDArray | float) -> float:
    return 0.5 * float(np.abs(np.median(np.diff(step)))) if np.size(step) > 1 else 0.0


def rule_term(rule: Mapping[str, Any], meta: RowMeta) -> tuple[NDArray, NDArray]:
    """(rows (ntime, nbeam, npol, nband), chans (nchan,) or (ntime, nchan)) a rule selects."""
    ntime, nbeam, npol, nband, nchan = meta.shape
    t = np.ones(ntime, dtype=bool)
    if not (_within([meta.obsnum], rule.get("obsnum"))[0]
            and _within([meta.bank], rule.get("bank"))[0]):  # fmt: skip
        t[:] = False
    if "dump" in rule:
        t &= _within(meta.dump, rule["dump"])
    if "time" in rule:
        t &= _within(meta.utc, rule["time"])
    if "time_s" in rule:
        t &= _within(np.round(meta.utc - meta.t0, 6), rule["time_s"])
    where = rule.get("where", {})
    if "elevation_deg" in where:
        elev = meta.elevation if meta.elevation is not None else np.full(ntime, np.nan)
        t &= _open(elev, where["elevation_deg"])
    rows = (t[:, None, None, None] & _within(meta.beam, rule.get("beam"))[None, :, None, None]
            & _within(meta.pol, rule.get("pol"))[None, None, :, None])  # fmt: skip
    rows = np.broadcast_to(rows, (ntime, nbeam, npol, nband))
    if "tsys_k" in where:
        tsys = meta.tsys if meta.tsys is not None else np.full(rows.shape, np.nan)
        rows = rows & _open(tsys, where["tsys_k"])
    c = _within(meta.chan, rule.get("chan"))
    if "vlsr_kms" in rule:
        v = meta.vlsr_kms if meta.vlsr_kms is not None else np.full(nchan, np.nan)
        c = c & _overlaps(v, _half(v), rule["vlsr_kms"])
    if "sky_ghz" in rule:
        sky = meta.sky_hz if meta.sky_hz is not None else np.full(nchan, np.nan)
        half = _half(sky if sky.ndim == 1 else sky[0])
        c = c & _overlaps(sky, half, [[lo * 1e9, hi * 1e9] for lo, hi in rule["sky_ghz"]])
    return np.ascontiguousarray(rows), c


@dataclass
class Term:
    rule: dict[str, Any]
    rows: NDArray[np.bool_]
    chans: NDArray[np.bool_]

    def block(self, t0: int, t1: int) -> NDArray[np.bool_]:
        """Dense selection of dumps ``t0 .. t1-1``: (t1-t0, nbeam, npol, nband, nchan)."""
        c = self.chans if self.chans.ndim == 1 else self.chans[t0:t1, None, None, None, :]
        return self.rows[t0:t1, ..., None] & c

    @property
    def empty(self) -> bool:
        return not (self.rows.any() and self.chans.any())


@dataclass
class FlagMask:
    """Resolved flags of one ObsNum and bank: terms in order, vetoed rules and warnings."""

    meta: RowMeta
    terms: list[Term]
    vetoed: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        return self.meta.shape

    def block(self, t0: int = 0, t1: int | None = None, origins: Iterable[str] | None = None
              ) -> NDArray[np.uint8]:  # fmt: skip
        """``FLAGS`` bits (ORIGIN_BITS) of dumps ``t0 .. t1-1``, shape (n, nbeam, npol, nband,
        nchan); only the given origins (default all)."""
        t1 = self.shape[0] if t1 is None else t1
        keep = set(ORIGIN_BITS if origins is None else origins)
        acc = {o: np.zeros((t1 - t0, *self.shape[1:]), dtype=bool) for o in keep}
        for term in self.terms:
            origin, action = term.rule["origin"], term.rule["action"]
            if action == "flag" and origin not in keep:
                continue
            if not term.rows[t0:t1].any():  # most rules touch few dumps (spikes, bursts)
                continue
            sel = term.block(t0, t1)
            if action == "flag":
                acc[origin] |= sel
            else:
                for o in acc if origin == "any" else [origin] if origin in acc else []:
                    acc[o] &= ~sel
        bits = np.zeros((t1 - t0, *self.shape[1:]), dtype=np.uint8)
        for o, m in acc.items():
            bits[m] |= ORIGIN_BITS[o]
        return bits

    def rows(self, a: int, b: int) -> NDArray[np.uint8]:
        """``FLAGS`` bits of rows ``a:b`` of the file (rows are dump-major), (b-a, nchan)."""
        per = int(np.prod(self.shape[1:4]))
        d0, d1 = a // per, -(-b // per)
        bits = self.block(d0, d1).reshape(-1, self.shape[-1])
        return bits[a - d0 * per : b - d0 * per]

    def dense(self, origins: Iterable[str] | None = None) -> NDArray[np.bool_]:
        """The whole boolean mask (small data, tests, interactive use)."""
        return self.block(origins=origins) != 0

    def spectra_flagged(self, origins: Iterable[str] | None = None, block: int = 64
                        ) -> NDArray[np.bool_]:  # fmt: skip
        """(ntime, nbeam, npol, nband): every channel of the spectrum flagged."""
        out = np.zeros(self.shape[:4], dtype=bool)
        for s in range(0, self.shape[0], block):
            e = min(s + block, self.shape[0])
            out[s:e] = (self.block(s, e, origins) != 0).all(axis=-1)
        return out

    def counts(self, block: int = 64) -> dict[str, Any]:
        """Flagged fraction in total and, per reason, how many elements of the final mask
        each flag rule accounts for (a channel two rules flag counts for both)."""
        total = 0
        per: dict[str, int] = {}
        for s in range(0, self.shape[0], block):
            e = min(s + block, self.shape[0])
            final = self.block(s, e) != 0
            total += int(final.sum())
            for term in self.terms:
                if term.rule["action"] == "flag":
                    key = term.rule["reason"]
                    per[key] = per.get(key, 0) + int((final & term.block(s, e)).sum())
        size = int(np.prod(self.shape))
        return {"flagged": total, "size": size, "fraction": total / size if size else 0.0,
                "by_reason": dict(sorted(per.items()))}  # fmt: skip


def resolve(rules: Sequence[Mapping[str, Any]], meta: RowMeta, warn: bool = True) -> FlagMask:
    """Resolve canonical rules (file order, auto rules first) against one ObsNum and bank."""
    rules = [dict(r) for r in rules]
    vetoes = [r["id"] for r in rules if r["action"] == "unflag" and "id" in r]
    kept, vetoed = [], []
    for i, r in enumerate(rules):
        if r["action"] == "unflag" and "id" in r:
            continue  # an id veto removes whole rules (below), it masks nothing itself
        later = [v for r2 in rules[i + 1:] if r2["action"] == "unflag" and "id" in r2
                 for v in [r2["id"]]]  # fmt: skip
        if r["action"] == "flag" and "id" in r and any(fnmatch.fnmatchcase(r["id"], v)
                                                       for v in later):  # fmt: skip
            vetoed.append(public(r))
            continue
        kept.append(r)
    terms = [Term(r, *rule_term(r, meta)) for r in kept]
    unmatched = [label(t.rule) for t in terms if t.empty]
    for v in vetoes:
        if not any(fnmatch.fnmatchcase(r.get("id", ""), v) for r in rules if r["action"] == "flag"):
            unmatched.append(f"unflag rule with id {v!r}")
    if warn:
        for name in unmatched:
            log.warning("ObsNum %d bank %d: flags: %s matches nothing", meta.obsnum, meta.bank,
                        name)  # fmt: skip
    return FlagMask(meta, terms, vetoed, unmatched)


def param_rules(params: Mapping[str, Any], step: str, beams: Iterable[int] = ()) -> list[dict]:
    """The existing knobs of a step as rules of origin ``param`` (accounting and QA; the steps
    apply the knobs themselves as before): baseline ``birdies`` (channels), grid/spectrum
    ``pix_list`` (the beams left out), RSR baseline ``badcb`` (chassis/boards)."""
    out: list[dict[str, Any]] = []
    if step == "baseline" and params.get("birdies"):
        out.append({"action": "flag", "origin": "param", "reason": "birdies",
                    "chan": [[int(c), int(c)] for c in sorted(params["birdies"])]})  # fmt: skip
    if step == "rsr_baseline":  # badcb "chassis/board" strings (every ObsNum of the run)
        for item in params.get("badcb") or []:
            c, b = (int(v) for v in str(item).split("/"))
            out.append({"action": "flag", "origin": "param", "reason": "badcb",
                        "chassis": [[c, c]], "board": [[b, b]]})  # fmt: skip
    if step in ("grid", "spectrum") and "pix_list" in params:
        used = params["pix_list"]
        left = sorted(set(int(b) for b in beams) - set(used if isinstance(used, list) else []))
        if left:
            out.append({"action": "flag", "origin": "param", "reason": "pix_list",
                        "beam": [[b, b] for b in left]})  # fmt: skip
    return out


def step_rules(params: Mapping[str, Any], obsnum: int | None = None) -> list[dict[str, Any]]:
    """The flag rules of a step's resolved parameters (auto rules are added by the caller);
    a combination's grid parameters keep them per member ObsNum."""
    flags = params.get("flags")
    if isinstance(flags, Mapping) and "rules" not in flags and obsnum is not None:
        flags = flags.get(str(obsnum))
    return list((flags or {}).get("rules", []))


def flags_sha256(rules: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of resolved rules: what products record."""
    text = json.dumps([public(r) for r in rules], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
