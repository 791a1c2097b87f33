"""Automatic flags: detectors run on the baselined SDFITS of one ObsNum and bank.

Each detector has a policy (``apply``, ``suggest``, ``off``) and thresholds in the flag
file's ``auto`` section; a detector the section does not name is off (a config without flags
reduces as before). The QA's detectors are reused (lmtflow.qa.numbers): bad beams are feeds
(beam and polarisation) whose median RMS/Tsys (noise against the radiometer equation) lies
``nsigma`` robust sigmas and ``min_ratio`` times above the feeds' median, or that have no
finite RMS; birdies are channels whose clipped time-mean or time-scatter score
exceeds ``nsigma`` (grown by ``grow`` channels each side). Spikes are single channels of single
spectra ``nsigma`` robust sigmas (of that spectrum) above their running median across
channels; bad time is a run of at least ``min_dumps`` dumps whose running-mean RMS of a feed
stands ``nsigma`` robust sigmas above that feed's median.

Every found item is a rule with an id made of what was found
(``auto/<ObsNum>/<bank>/<detector>/<item>``), so a veto by id survives re-detection. A guard
(ALMA's "toomany") demotes a detector to ``suggest`` with a warning when it would flag more than
half of the feeds, 10% of the channels, 30% of the dumps or 5% of the spectra (spikes).

The flags apply where the products are made (gridding or the Ps/Bs spectrum): the detectors
need the baselined spectra, so they cannot come before the baseline.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from ..io.atomic import atomic_path
from ..io.sdfits_reader import SDFITSReader
from ..qa.beams import summarize
from ..qa.numbers import MIN_BIRDIE_ROWS, _line_free, birdie_scores
from ..qa.stats import high_outliers, robust_sigma, running_median

log = logging.getLogger(__name__)

DEFAULTS = {
    "bad_beams": {"nsigma": 5.0, "min_ratio": 1.5},
    "birdies": {"nsigma": 6.0, "grow": 1},
    "spikes": {"nsigma": 10.0},
    "bad_time": {"nsigma": 5.0, "min_dumps": 5},
}
FEW_FEEDS = 4
"""Below this many feeds with data, noisy feeds are judged against the quietest feed."""
GUARD = {"bad_beams": 0.5, "birdies": 0.10, "bad_time": 0.30, "spikes": 0.05}
"""Largest fraction a detector may flag (feeds, channels, dumps, spectra) before it is
demoted to suggest."""


def _rule(obsnum: int, bank: int, detector: str, item: str, reason: str, **keys: Any) -> dict:
    return {"action": "flag", "origin": "auto", "id": f"auto/{obsnum}/{bank}/{detector}/{item}",
            "reason": reason, **keys}  # fmt: skip


def _metric(**values: float) -> dict[str, float]:
    return {k: round(float(v), 3) if np.isfinite(v) else None for k, v in values.items()}


def bad_beam_rules(rms: NDArray, beams: NDArray, pols: NDArray, nsigma: float,
                   ids: tuple[int, int], tsys: NDArray | None = None,
                   min_ratio: float = 1.5) -> list[dict]:  # fmt: skip
    """Dead (no finite RMS) and noisy feeds, one rule per beam and polarisation.

    With ``tsys`` (same shape as ``rms``) the metric is the RMS over Tsys, i.e. the noise
    relative to the radiometer equation (same channel width and dump time on every feed), so
    the spread of Tsys across the feeds (150-250 K on Sequoia) does not hide a feed whose noise
    is 3 times its expectation. A noisy feed then also needs a ratio ``min_ratio`` times the
    feeds' median: with well-behaved feeds the robust sigma is tiny and ``nsigma`` alone would
    flag a feed 10% above the others. With fewer than ``FEW_FEEDS`` feeds (1MM: two
    polarisations per bank) a feed is noisy when its ratio is ``min_ratio`` times the quietest
    feed's (z is then measured against that feed)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.where(np.isfinite(rms) & (rms > 0), rms, np.nan)
        metric = rms if tsys is None else rms / np.where(tsys > 0, tsys, np.nan)
    has = np.isfinite(metric).any(axis=0)
    per_feed = np.full(rms.shape[1], np.nan)
    per_feed[has] = np.nanmedian(metric[:, has], axis=0)
    good = per_feed[np.isfinite(per_feed)]
    med, sigma = (np.median(good), robust_sigma(good)) if good.size else (np.nan, np.nan)
    bad = high_outliers(per_feed, nsigma)
    if tsys is not None:
        with np.errstate(invalid="ignore"):
            if good.size < FEW_FEEDS:  # 1MM: two polarisations; a robust sigma of 2 is none
                bad = ~np.isfinite(per_feed) | (per_feed > min_ratio * good.min())
                med = good.min()
            else:
                bad &= ~np.isfinite(per_feed) | (per_feed > min_ratio * med)
    out = []
    for f in np.flatnonzero(bad):
        b, p = int(beams[f]), int(pols[f])
        dead = not has[f]
        z = np.inf if dead else (per_feed[f] - med) / sigma
        values = {"z": z, "rms": np.nanmedian(rms[:, f]) if has[f] else np.nan, "thr": nsigma}
        if tsys is not None:
            values["ratio"] = per_feed[f] / med
        out.append(_rule(*ids, "bad_beams", f"b{b}p{p}", "dead_beam" if dead else "noisy_beam",
                         beam=[[b, b]], pol=[[p, p]], metric=_metric(**values)))  # fmt: skip
    return out


def birdie_rules(summary: Any, nsigma: float, grow: int, ids: tuple[int, int]) -> list[dict]:
    """Birdie channels (lmtflow.qa.numbers.birdie_scores above ``nsigma`` on some feed), each
    on the feeds scoring above ``nsigma / 2`` there (hysteresis: a birdie found on one beam is
    flagged on the beams where it is weaker too), grown by ``grow`` channels each side."""
    if summary.waterfall.shape[0] < MIN_BIRDIE_ROWS:
        return []
    scores = np.nan_to_num(birdie_scores(summary.waterfall, _line_free(summary)))
    out = []
    for c in np.flatnonzero((scores > nsigma).any(axis=0)):
        feeds = np.flatnonzero(scores[:, c] > nsigma / 2)
        chan = int(summary.channels[c])
        beams = sorted({int(summary.beams[f]) for f in feeds})
        pols = sorted({int(summary.pols[f]) for f in feeds})
        out.append(_rule(*ids, "birdies", f"c{chan}", "birdie", beam=[[b, b] for b in beams],
                         pol=[[p, p] for p in pols], chan=[[chan - grow, chan + grow]],
                         metric=_metric(z=scores[:, c].max(), thr=nsigma)))  # fmt: skip
    return out


def steady_birdie_scores(raw_sdfits: str | Path, gap: int = 2) -> dict[str, NDArray]:
    """Per feed and channel: the median spectrum of the raw counts over all dumps (blocks of
    dumps, weighted), relative to the level of its neighbours ``gap`` channels away (birdies up
to ``2 * gap - 1`` channels wide), in robust sigmas of
    that relative spectrum. A birdie is an additive signal in the counts of ON and REF dumps
    alike, so it mostly calibrates out and only its drift is left in Ta*; in the raw counts it
    stands out. The median over dumps ignores spikes and sources crossing the beam in a map."""
    with SDFITSReader(raw_sdfits) as r:
        ntime, per, nchan = r.datadims[0], r.rows_per_dump, r.nchan
        beams, pols = r.column("FDNUM", 0, per), r.column("PLNUM", 0, per)
        chan0 = int(r.header.get("CHAN0", 0))
        medians, weights = [], []
        for s, e in _chunks(ntime):
            d = r.data(s * per, e * per).astype(np.float64).reshape(e - s, per, nchan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # dead feeds: all NaN
                medians.append(np.nanmedian(d, axis=0))
            weights.append(e - s)
    channels = np.arange(chan0, chan0 + nchan)
    if not medians:
        return {"z": np.zeros((per, nchan)), "beams": beams, "pols": pols, "channels": channels}
    spec = np.average(np.stack(medians), axis=0, weights=weights)
    # the level under a channel: the mean of the channels ``gap`` away on either side (a
    # running median would equal the smooth median spectrum wherever it is monotonic)
    level = np.full_like(spec, np.nan)
    level[:, gap:-gap] = 0.5 * (spec[:, : -2 * gap] + spec[:, 2 * gap :])
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rel = (spec - level) / np.abs(level)
        z = rel / np.asarray(robust_sigma(rel, axis=1))[:, None]
    return {"z": np.nan_to_num(z, posinf=0.0, neginf=0.0), "beams": beams, "pols": pols,
            "channels": channels}


def raw_birdie_rules(raw_sdfits: str | Path, nsigma: float, grow: int, ids: tuple[int, int],
                     line_channels: set[int] | None = None) -> list[dict]:  # fmt: skip
    """Birdies found in the raw counts (:func:`steady_birdie_scores` above ``nsigma`` on some
    feed; flagged on the feeds above ``nsigma / 2``), as :func:`birdie_rules` writes them.
    Channels of the line window are never flagged (``line_channels``: a line is no birdie;
    a birdie inside the line window is left to the user's flag file)."""
    sc = steady_birdie_scores(raw_sdfits)
    z, line = sc["z"], line_channels or set()
    out = []
    for c in np.flatnonzero((z > nsigma).any(axis=0)):
        chan = int(sc["channels"][c])
        if line & set(range(chan - grow, chan + grow + 1)):
            continue
        feeds = np.flatnonzero(z[:, c] > nsigma / 2)
        beams = sorted({int(sc["beams"][f]) for f in feeds})
        pols = sorted({int(sc["pols"][f]) for f in feeds})
        out.append(_rule(*ids, "birdies", f"c{chan}", "birdie", beam=[[b, b] for b in beams],
                         pol=[[p, p] for p in pols], chan=[[chan - grow, chan + grow]],
                         metric=_metric(z=z[:, c].max(), thr=nsigma)))  # fmt: skip
    return out


def _merge_birdies(rules: list[dict], more: list[dict]) -> list[dict]:
    """One rule per channel id: the beams and polarisations of both detections."""
    by_id = {r["id"]: r for r in rules}
    for r in more:
        if r["id"] in by_id:
            old = by_id[r["id"]]
            old["beam"] = sorted({tuple(b) for b in old["beam"] + r["beam"]})
            old["beam"] = [list(b) for b in old["beam"]]
            old["pol"] = [list(p) for p in sorted({tuple(p) for p in old["pol"] + r["pol"]})]
        else:
            by_id[r["id"]] = r
    return sorted(by_id.values(), key=lambda r: r["chan"][0][0])


def _chunks(n: int, size: int = 64, least: int = 16) -> list[tuple[int, int]]:
    """Blocks of ``size`` dumps; a short last block joins the one before it."""
    edges = list(range(0, n, size)) + [n]
    if len(edges) > 2 and edges[-1] - edges[-2] < least:
        del edges[-2]
    return list(zip(edges[:-1], edges[1:], strict=True))


def spike_rules(path: str | Path, nsigma: float, ids: tuple[int, int], width: int = 5
                ) -> tuple[list[dict], int]:  # fmt: skip
    """Single-spectrum spikes in raw counts: a channel above its running median across
    channels and above itself in the neighbouring dumps, relative to that median (the
    radiometer noise is proportional to the counts), after each channel's median over the
    block's dumps is taken off (a birdie present in every dump is no spike), by ``nsigma``
    robust sigmas of the spectrum. Returns the rules and the
    number of spectra searched."""
    out: list[dict] = []
    with SDFITSReader(path) as r:
        ntime, per = r.datadims[0], r.rows_per_dump
        beams, pols = r.column("FDNUM", 0, per), r.column("PLNUM", 0, per)
        dumps = r.column("INTNUM")[::per] if r.nrows else np.zeros(0, int)
        chan0 = int(r.header.get("CHAN0", 0))
        for s, e in _chunks(ntime):
            d = r.data(s * per, e * per).astype(np.float64).reshape(e - s, per, r.nchan)
            level = running_median(d, width)
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # dead feeds: all NaN
                rel = (d - level) / np.abs(level)
                rel -= np.nanmedian(rel, axis=0)
                # per spectrum, across its channels (robust: a spike is one channel), as the
                # noise changes with time (a bad interval is not a shower of spikes); at
                # least the feed's over the block (one spectrum's estimate scatters)
                sigma = np.fmax(np.asarray(robust_sigma(rel, axis=2))[:, :, None],
                                np.asarray(robust_sigma(rel, axis=(0, 2)))[None, :, None])
            # a spike lives in one dump: it also stands above the same channel in the dumps
            # before and after (an intermittent birdie switching on is not a spike)
            pad = np.pad(rel, ((1, 1), (0, 0), (0, 0)), mode="edge")
            pad[0], pad[-1] = pad[2], pad[-3]  # first/last dump: its one neighbour
            jump = rel - np.fmax(pad[:-2], pad[2:])
            with np.errstate(invalid="ignore"):
                t, f, c = np.nonzero((rel > nsigma * sigma) & (jump > nsigma * sigma))
            for ti, fi, ci in zip(t.tolist(), f.tolist(), c.tolist(), strict=True):
                dump, b, p = int(dumps[s + ti]), int(beams[fi]), int(pols[fi])
                chan = chan0 + ci
                z = rel[ti, fi, ci] / sigma[ti, fi, 0]
                out.append(_rule(*ids, "spikes", f"d{dump}b{b}p{p}c{chan}", "spike",
                                 beam=[[b, b]], pol=[[p, p]], dump=[[dump, dump]],
                                 chan=[[chan, chan]], metric=_metric(z=z, thr=nsigma)))  # fmt: skip
        return out, r.nrows


def bad_time_rules(summary: Any, nsigma: float, min_dumps: int, dumps: NDArray,
                   ids: tuple[int, int]) -> list[dict]:  # fmt: skip
    """Runs of dumps whose running-median RMS (over ``min_dumps`` dumps: a single bad dump,
    e.g. a spike, does not make one) of a feed stands ``nsigma`` robust sigmas above the
    feed's median; a dead feed is left to the bad-beam detector."""
    from scipy.ndimage import median_filter

    rms = np.where(np.isfinite(summary.rms) & (summary.rms > 0), summary.rms, np.nan)
    n = max(1, int(min_dumps))
    if rms.shape[0] < 4 * n:
        return []
    out = []
    for f in range(rms.shape[1]):
        x = rms[:, f]
        if not np.isfinite(x).any():
            continue
        # mirrored ends: "nearest" would repeat the first (last) dump over half the window,
        # so one high dump at an end made a run by itself
        run = median_filter(np.where(np.isfinite(x), x, np.nanmedian(x)), size=n, mode="mirror")
        med, sig = np.median(run), robust_sigma(run)
        high = run > med + nsigma * sig
        edges = np.flatnonzero(np.diff(np.r_[0, high.astype(int), 0]))
        for a, e in zip(edges[::2], edges[1::2], strict=True):
            beam, pol = int(summary.beams[f]), int(summary.pols[f])
            d0, d1 = int(dumps[a]), int(dumps[e - 1])
            z = (run[a:e].max() - med) / sig
            out.append(_rule(*ids, "bad_time", f"b{beam}p{pol}d{d0}-{d1}", "bad_time",
                             beam=[[beam, beam]], pol=[[pol, pol]], dump=[[d0, d1]],
                             metric=_metric(z=z, thr=nsigma)))  # fmt: skip
    return out


def _guard(name: str, rules: list[dict], total: int, measure) -> tuple[str, str | None]:
    frac = measure(rules) / total if total else 0.0
    if frac > GUARD[name]:
        return "suggest", (f"auto {name}: would flag {100 * frac:.1f}% "
                           f"(> {100 * GUARD[name]:g}%); demoted to suggest")  # fmt: skip
    return "apply", None


def detect(base_sdfits: str | Path, auto: Mapping[str, Mapping[str, Any]],
           params: Mapping[str, Any], raw_sdfits: str | Path | None = None
           ) -> dict[str, Any]:  # fmt: skip
    """Run the detectors ``auto`` names (policy apply or suggest) on a baselined SDFITS (and
    birdies also on the raw counts ``raw_sdfits``, where steady ones stand out):
    ``{"rules": [...], "policy": {detector: policy}, "warnings": [...]}``; each rule carries
    its ``policy`` (apply, or suggest when the file says so or the guard demoted it)."""
    todo = {k: {**DEFAULTS[k], **v} for k, v in auto.items()
            if k in DEFAULTS and k != "spikes" and v.get("policy", "apply") != "off"}  # fmt: skip
    out: dict[str, Any] = {"rules": [], "policy": {}, "warnings": []}
    if not todo:
        return out
    summary = summarize(base_sdfits, dict(params))
    ids = (int(summary.header["OBSNUM"]), int(summary.header.get("BANK", 0)))
    with SDFITSReader(base_sdfits) as r:
        dumps = r.column("INTNUM")[:: r.rows_per_dump]
    nfeed, nchan = summary.beams.size, summary.velocity.size
    found: dict[str, list[dict]] = {}
    totals: dict[str, tuple[int, Any]] = {}
    if "bad_beams" in todo:
        found["bad_beams"] = bad_beam_rules(summary.rms, summary.beams, summary.pols,
                                            float(todo["bad_beams"]["nsigma"]), ids,
                                            summary.tsys, float(todo["bad_beams"]["min_ratio"]))
        totals["bad_beams"] = (nfeed, len)
    if "birdies" in todo:
        nsig, grow = float(todo["birdies"]["nsigma"]), int(todo["birdies"]["grow"])
        found["birdies"] = birdie_rules(summary, nsig, grow, ids)
        if raw_sdfits is not None:
            free = _line_free(summary)
            line = (set() if free is None else
                    {int(c) for c in summary.channels[~free]})  # fmt: skip
            kept = set(summary.channels.tolist())  # only channels the products hold
            raw = [r for r in raw_birdie_rules(raw_sdfits, nsig, grow, ids, line)
                   if r["chan"][0][0] + grow in kept]  # fmt: skip
            found["birdies"] = _merge_birdies(found["birdies"], raw)
        totals["birdies"] = (nchan, lambda rs: sum(r["chan"][0][1] - r["chan"][0][0] + 1
                                                   for r in rs))  # fmt: skip
    if "bad_time" in todo:
        found["bad_time"] = bad_time_rules(summary, float(todo["bad_time"]["nsigma"]),
                                           int(todo["bad_time"]["min_dumps"]), dumps, ids)
        totals["bad_time"] = (dumps.size * nfeed, lambda rs: sum(
            r["dump"][0][1] - r["dump"][0][0] + 1 for r in rs))  # fmt: skip
    for name, rules in found.items():
        policy = todo[name].get("policy", "apply")
        if policy == "apply":
            policy, warning = _guard(name, rules, *totals[name])
            if warning:
                log.warning("ObsNum %d bank %d: %s", *ids, warning)
                out["warnings"].append(warning)
        out["policy"][name] = policy
        out["rules"] += [{**r, "policy": policy} for r in rules]
    return out


def detect_spikes(raw_sdfits: str | Path, auto: Mapping[str, Mapping[str, Any]]
                  ) -> dict[str, Any]:  # fmt: skip
    """The spike detector on the raw counts of every dump (REF dumps included: a spike there
    would reach every ON dump it calibrates), as :func:`detect` returns it."""
    out: dict[str, Any] = {"rules": [], "policy": {}, "warnings": []}
    setting = {**DEFAULTS["spikes"], **auto.get("spikes", {})}
    if "spikes" not in auto or setting.get("policy", "apply") == "off":
        return out
    with SDFITSReader(raw_sdfits) as r:
        ids = (int(r.header["OBSNUM"]), int(r.header.get("BANK", 0)))
    rules, nspec = spike_rules(raw_sdfits, float(setting["nsigma"]), ids)
    policy = setting.get("policy", "apply")
    if policy == "apply":
        policy, warning = _guard("spikes", rules, nspec, len)
        if warning:
            log.warning("ObsNum %d bank %d: %s", *ids, warning)
            out["warnings"].append(warning)
    out["policy"]["spikes"] = policy
    out["rules"] = [{**r, "policy": policy} for r in rules]
    return out


def write_auto_file(result: Mapping[str, Any], out: str | Path, source: str) -> Path:
    """The generated auto-flag file (YAML; regenerated at will, vetoed by id in the user's
    flag file)."""
    head = (f"# generated by lmtflow from {source}; do not edit: veto a flag in your flag file\n"
            "# with {action: unflag, reason: ..., id: <id>}\n")  # fmt: skip
    text = head + yaml.safe_dump(dict(result), sort_keys=True, default_flow_style=None, width=100)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text)
    return Path(out)
