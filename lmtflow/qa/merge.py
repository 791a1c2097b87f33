"""The QA numbers file of one product from its stages' parts (light: no plotting, no FITS)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io.atomic import write_json


def read_steps(param_files: Sequence[str | Path]) -> dict[str, dict[str, Any]]:
    """``{step: params}`` from per-step parameter files (``<step>__<bank>.json``)."""
    return {Path(p).name.split("__")[0]: json.loads(Path(p).read_text()) for p in param_files}


def merge_numbers(
    parts: Sequence[str | Path], param_files: Sequence[str | Path], out: str | Path, kind: str,
    flag_files: Sequence[str | Path] = (),
) -> None:
    """The QA file of one product: every stage's numbers plus the parameters used, and with a
    flag file configured, its flags (``flag_files``: the baselined SDFITS, the auto-flag file
    when detectors run; lmtflow.flags.qa)."""
    merged: dict[str, Any] = {"kind": kind}
    for part in parts:
        merged.update(json.loads(Path(part).read_text()))
    merged["params"] = read_steps(param_files)
    if "cube" in merged:  # S/N advice: a coarser grid (lmtflow.qa.advice)
        from .advice import resolution_advice

        res = merged["params"].get("grid", {}).get("resolution")
        if res:
            merged["advice"] = [*merged.get("advice", []), resolution_advice(float(res))]
    if flag_files:
        from ..flags.qa import flag_numbers_of

        merged["flags"] = flag_numbers_of(merged["params"], flag_files)
    write_json(out, merged)
