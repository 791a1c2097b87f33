"""QA of a combination of ObsNums: header values and member table from the members' QA
numbers, the spectrum stage (radiometer expectation of the weighted average) and the merge.

The map stage of a combination is :func:`lmtflow.qa.run.map_stage` with every member's
baselined SDFITS (``kind="map_combination"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..io.atomic import write_json
from .merge import read_steps
from .numbers import json_clean
from .pages import _noise as noise_numbers
from .registry import plots_for

SUM_KEYS = ("inttime_s",)
FIRST_KEYS = ("project", "source", "receiver", "mode", "bank", "restfreq_GHz", "skyfreq_GHz",
              "vlsr_kms", "channel_kms", "nfeed")  # fmt: skip


def read_members(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The members' QA numbers files, sorted by ObsNum."""
    members = [json.loads(Path(p).read_text()) for p in paths]
    return sorted(members, key=lambda n: int(n["observation"]["obsnum"]))


def combined_observation(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Header values of a combination: the members' ObsNums and CalObsNums, date range, total
    integration time and median Tsys; the rest from the first member."""
    obs = [m["observation"] for m in members]
    out = {k: obs[0].get(k) for k in FIRST_KEYS}
    out["obsnum"] = [o["obsnum"] for o in obs]
    out["calobsnum"] = sorted({o["calobsnum"] for o in obs if o.get("calobsnum") is not None})
    dates = sorted(str(o["date_obs"]) for o in obs if o.get("date_obs"))
    out["date_obs"] = f"{dates[0]} – {dates[-1]}" if len(set(dates)) > 1 else (dates or [None])[0]
    times = [o.get("inttime_s") for o in obs]
    out["inttime_s"] = float(sum(times)) if None not in times else None
    tsys = [o["tsys_K"] for o in obs if o.get("tsys_K") is not None]
    out["tsys_K"] = float(np.median(tsys)) if tsys else None
    return out


def member_rows(members: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per member: date, time, Tsys, noise, bad beams and birdies."""
    rows = []
    for n in members:
        o, noise = n["observation"], noise_numbers(n)
        rows.append({
            "obsnum": o["obsnum"], "calobsnum": o.get("calobsnum"), "date_obs": o.get("date_obs"),
            "inttime_s": o.get("inttime_s"), "tsys_K": o.get("tsys_K"), "rms_mK": noise["rms"],
            "radiometer_mK": noise["radiometer"], "rms_radiometer_ratio": noise["ratio"],
            "bad_beams": n.get("bad_beams", []),
            "birdies": [b["channel"] for b in n.get("birdies", [])],
        })  # fmt: skip
    return rows


def weighted_radiometer(weights: ArrayLike, sigma: ArrayLike) -> float:
    """Noise of ``sum w_i s_i / sum w_i`` for independent ``s_i`` of noise ``sigma_i``."""
    w, s = np.asarray(weights, dtype=float), np.asarray(sigma, dtype=float)
    return float(np.sqrt(np.sum(np.square(w * s))) / np.sum(w))


def spectrum_stage(
    spectrum: str | Path,
    member_qa: Sequence[str | Path],
    param_files: Sequence[str | Path],
    plot_paths: Mapping[str, str | Path],
    numbers_out: str | Path,
) -> None:
    """Plots and numbers of a combined Ps/Bs spectrum: rms, the radiometer rms expected for
    the members' radiometer values and the combination's weights (1/rms^2), ratio, peak."""
    from .run import draw  # matplotlib: not for merge_numbers, a job of its own
    from .spectrum import read_spectrum, spectrum_numbers

    steps = read_steps(param_files)
    qa = read_spectrum(spectrum, steps["spectrum"]["b_regions"])
    members = {f"ObsNum {n['observation']['obsnum']}": n for n in read_members(member_qa)}
    radiometer = {k: n["spectrum"].get("radiometer_mK") for k, n in members.items()}
    qa.part_tsys = {k: n["observation"].get("tsys_K") for k, n in members.items()}
    keys = list(qa.parts)
    rms = np.array([qa.part_rms[k] for k in keys])
    with np.errstate(divide="ignore"):
        w = np.where(np.isfinite(rms) & (rms > 0), 1.0 / np.square(rms), 0.0)
    sigma = [radiometer.get(k) for k in keys]
    known = None not in sigma and w.sum() > 0
    expected = weighted_radiometer(w, np.array(sigma) / 1e3) if known else None
    per_part = {k: s / 1e3 for k, s in zip(keys, sigma, strict=True) if s is not None}
    draw(plots_for("spectrum_combination", "spectrum"), qa, plot_paths)
    numbers = spectrum_numbers(qa, expected, per_part)
    for part, weight in zip(numbers["parts"], w / w.sum(), strict=True):
        part["weight"] = float(weight)
    write_json(numbers_out, {"spectrum": json_clean(numbers)})


def merge_numbers(
    parts: Sequence[str | Path],
    member_qa: Sequence[str | Path],
    param_files: Sequence[str | Path],
    out: str | Path,
    kind: str,
) -> None:
    """The QA file of a combination: header values and a summary of every member, the stage's
    numbers and the combination's parameters."""
    members = read_members(member_qa)
    merged: dict[str, Any] = {
        "kind": kind,
        "obsnums": [m["observation"]["obsnum"] for m in members],
        "observation": combined_observation(members),
        "members": member_rows(members),
    }
    for part in parts:
        merged.update(json.loads(Path(part).read_text()))
    weights = {p["part"]: p.get("weight") for p in merged.get("spectrum", {}).get("parts", [])}
    for row in merged["members"]:
        if f"ObsNum {row['obsnum']}" in weights:
            row["weight"] = weights[f"ObsNum {row['obsnum']}"]
    merged["params"] = read_steps(param_files)
    write_json(out, json_clean(merged))
