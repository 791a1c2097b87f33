"""Check the flag files of a run before any job runs (the workflow's first step)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attempts import attempt_config, kind_of
from .steps import unmatched_rules


def check_run(config: Mapping[str, Any], infos: Mapping[int, Any]) -> list[str]:
    """Load and check the flag file of the config and of every attempt before any job runs
    (FlagFileError names the file, rule and nearest key); warnings for rules that select no
    ObsNum and bank of the run. ``infos``: ObsNum -> lmtflow.scan.ObsInfo."""
    runs = [(n, list(i.banks), kind_of(i)) for n, i in sorted(infos.items())]
    warnings, seen = [], set()
    for name in ["", *(config.get("attempts") or {})]:
        cfg = attempt_config(config, name) if name else config
        if cfg.get("flags") and cfg["flags"] not in seen:
            seen.add(cfg["flags"])
            warnings += unmatched_rules(cfg, runs)
    return warnings

