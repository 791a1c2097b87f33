"""Flag numbers of one product for the QA file and page: every applied rule (origin, id,
reason, metric), every veto and suggestion, the sha256 and flagged fraction per step and per
reason (from the FLG* keywords the steps wrote)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import yaml

from .apply import flag_summary
from .resolve import flags_sha256, param_rules, step_rules


def _entry(step: str, rule: Mapping[str, Any]) -> dict[str, Any]:
    out = {"step": step, "origin": rule["origin"], "reason": rule["reason"],
           "action": rule["action"]}  # fmt: skip
    for key in ("id", "metric", "policy"):
        if key in rule:
            out[key] = rule[key]
    meta = ("action", "origin", "reason", "id", "metric", "policy", "vetoed", "_where")
    out["select"] = {k: v for k, v in rule.items() if k not in meta}
    return out


def flag_numbers(steps: Mapping[str, Mapping[str, Any]], auto_file: Any = None,
                 header: Mapping[str, Any] | None = None,
                 extra: Sequence[tuple[str, Mapping[str, Any]]] = ()
                 ) -> dict[str, Any]:  # fmt: skip
    """``steps``: step -> resolved parameters (the product's parameter files); ``auto_file``:
    the generated auto-flag file(s); ``header``: the baselined SDFITS header (FLG* keywords);
    ``extra``: (step, rule) of further applied rules (an RSR blanking file's, origin param)."""
    from .steps import detector_step

    applied, vetoes, sha = [_entry(step, r) for step, r in extra], [], {}
    for step, p in steps.items():
        rules = step_rules(p)
        if rules:
            sha[step] = flags_sha256(rules)
        for r in rules:
            (vetoes if r["action"] == "unflag" else applied).append(_entry(step, r))
        applied += [_entry(step, r) for r in param_rules(p, step, range(16))]
    files = [auto_file] if isinstance(auto_file, str | Path) else list(auto_file or [])
    auto: dict[str, Any] = {"rules": [], "policy": {}, "warnings": []}
    for f in files:
        doc = yaml.safe_load(Path(f).read_text()) or {}
        auto["rules"] += doc.get("rules", [])
        auto["policy"].update(doc.get("policy", {}))
        auto["warnings"] += doc.get("warnings", [])
    vetoed_ids = {v["id"] for v in vetoes if "id" in v}
    suggestions = []
    for r in auto.get("rules", []):
        e = _entry(detector_step(r["id"]) or "select", r)
        e.pop("vetoed", None)
        if r.get("vetoed") or any(_glob(r["id"], v) for v in vetoed_ids):
            e["vetoed"] = True
            vetoes.append(e)
        elif r.get("policy") == "apply":
            applied.append(e)
        else:
            suggestions.append(e)
    return {"applied": applied, "vetoes": vetoes, "suggestions": suggestions,
            "auto_policy": auto.get("policy", {}), "warnings": auto.get("warnings", []),
            "sha256": sha, "masked": flag_summary(header or {})}  # fmt: skip


def _glob(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def flag_rows(numbers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, HTML) rows of the QA table for the flags of a product (none: no rows)."""
    f = numbers.get("flags")
    if not f or not (f["applied"] or f["vetoes"] or f["suggestions"] or f["masked"]):
        return []

    def item(e: Mapping[str, Any]) -> str:
        metric = f" {escape(str(e['metric']))}" if e.get("metric") else ""
        name = escape(e.get("id") or e["reason"])
        veto = " <b>vetoed</b>" if e.get("vetoed") else ""
        origin, reason = escape(e["origin"]), escape(e["reason"])
        return f"{escape(e['step'])}: {name} [{origin}] {reason}{metric}{veto}"

    masked = "; ".join(f"{escape(s)} {100 * m['fraction']:.3f}% ("
                       + ", ".join(f"{escape(k)} {v}" for k, v in m["by_reason"].items()) + ")"
                       for s, m in f["masked"].items())  # fmt: skip
    rows = [("Flags applied", "<br>".join(item(e) for e in f["applied"]) or "none"),
            ("Flags vetoed (unflag)", "<br>".join(item(e) for e in f["vetoes"]) or "none"),
            ("Flags suggested", "<br>".join(item(e) for e in f["suggestions"]) or "none"),
            ("Data flagged per step and reason", masked or "-")]  # fmt: skip
    rows += [("Flag warning", f"<span class=\"warn\">{escape(w)}</span>") for w in f["warnings"]]
    return rows



def flag_numbers_of(steps: Mapping[str, Mapping[str, Any]], files: Sequence[str | Path]
                    ) -> dict[str, Any]:  # fmt: skip
    """:func:`flag_numbers` from the QA job's flag inputs: a baselined SDFITS (its header) and
    the auto-flag file (``.yaml``), either may be missing."""
    from astropy.io import fits

    auto = [f for f in files if str(f).endswith(".yaml")]
    sdfits = next((f for f in files if str(f).endswith(".sdfits")), None)
    header = fits.getheader(sdfits, 1) if sdfits else None
    return flag_numbers(steps, auto, header)
