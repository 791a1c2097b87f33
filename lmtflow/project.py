"""A project file from the raw headers (``lmtflow project init PID``; LMTOY's mk_runs).

For one ProjectId: every science ObsNum the workflow can reduce (checked with the same header
scan as a run: a science ObsNum with no usable Cal is left out, with the reason, as a comment),
grouped by source, and one combination per source and setup. A setup is what makes ObsNums
combinable on one grid or spectrum axis: the receiver, the kind of product (map; Ps/Bs
spectrum; RSR spectrum), the rest frequency of every bank and the banks. A setup with a single
ObsNum gets no combination (the ObsNum's own products are that). The file is YAML with the
header facts (mode, date, integration time, Cal ObsNum, rest frequencies) as comments, and is
validated (schema and scan) before it is written, so it runs as written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import validate_config
from .errors import LmtflowError, ObsNumError
from .inventory import SCIENCE_MODES, ObsEntry, read_inventory


@dataclass(frozen=True)
class Setup:
    """What ObsNums of one source must share to be combined."""

    receiver: str
    kind: str
    rest_ghz: tuple[float, ...]
    banks: tuple[int, ...]

    def describe(self) -> str:
        freqs = "/".join(f"{f:.4f}" for f in self.rest_ghz)
        what = f"{self.kind}, {self.receiver}"
        return what + (f", {freqs} GHz, bank(s) {','.join(map(str, self.banks))}" if freqs else "")


def setup_of(e: ObsEntry) -> Setup:
    kind = "rsr" if e.receiver == "RSR" else "map" if e.mode == "Map" else "spectrum"
    rest = tuple(round(f, 4) for f in e.rest_ghz)
    return Setup(e.receiver, kind, rest, e.banks)


def _comment(e: ObsEntry) -> str:
    tint = "" if e.tint_s != e.tint_s else f" {e.tint_s:.0f} s"  # NaN: RSR
    return f"{e.obsnum}: {e.mode} {e.date.replace('T', ' ')}{tint}, Cal {e.calobsnum}"


def project_yaml(data_lmt: str | Path, pid: str) -> str:
    """The text of the project file of ``pid`` (raises if the raw tree has no such project)."""
    from .scan import scan_obsnum

    root = Path(data_lmt).resolve()
    inv = read_inventory(root)
    mine = [e for e in inv.entries if e.project == pid]
    if not mine:
        known = sorted({e.project for e in inv.entries})
        raise LmtflowError(f"no ObsNum of project {pid!r} in {root} (projects there: "
                           f"{', '.join(known) or 'none'})")  # fmt: skip
    usable: list[ObsEntry] = []
    left_out: list[str] = []
    for e in mine:
        if e.mode not in SCIENCE_MODES:
            continue
        try:
            scan_obsnum(root, e.obsnum)
        except ObsNumError as exc:
            left_out.append(f"{e.obsnum} ({e.source}, {e.mode}): {exc.problem}")
            continue
        usable.append(e)
    by_source: dict[str, list[ObsEntry]] = defaultdict(list)
    for e in usable:
        by_source[e.source].append(e)
    cals = sorted({e.calobsnum for e in usable})
    lines = [
        f"# lmtflow project file of {pid}: written by `lmtflow project init` on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"# from the headers of {root}. Run it with: lmtflow run THIS_FILE",
        f"# Calibration ObsNums (Header.IfProc.CalObsNum): {', '.join(map(str, cals)) or 'none'}",
        f"data_lmt: {json.dumps(str(root))}",
        'work_lmt: ""        # "" = $WORK_LMT or ./work_lmt',
        "",
        "sources:",
    ]
    if not by_source:
        lines[-1] = "sources: {}"
    for source in sorted(by_source):
        entries = sorted(by_source[source], key=lambda e: e.obsnum)
        lines.append(f"  {json.dumps(source)}:")
        lines += [f"    # {_comment(e)}" for e in entries]
        lines.append(f"    obsnums: [{', '.join(str(e.obsnum) for e in entries)}]")
        setups: dict[Setup, list[int]] = defaultdict(list)
        for e in entries:
            setups[setup_of(e)].append(e.obsnum)
        combos = [(s, nums) for s, nums in setups.items() if len(nums) > 1]
        if combos:
            lines.append("    combinations:")
            for s, nums in combos:
                lines.append(f"      - obsnums: [{', '.join(map(str, nums))}]   # {s.describe()}")
    if left_out:
        lines += ["", "# Left out (the workflow cannot reduce them as they are):"]
        lines += [f"#   {why}" for why in left_out]
    text = "\n".join(lines) + "\n"
    check_project(text)
    return text


def check_project(text: str) -> None:
    """Validate a project file as a run would (schema, header scan, combinations)."""
    from .targets import scan_config

    scan_config(validate_config(yaml.safe_load(text)))
