"""``lmtflow project init PID [-o FILE]``: a project file from the raw headers (mk_runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _init(args: argparse.Namespace) -> int:
    from ..errors import LmtflowError
    from ..project import project_yaml

    data_lmt = args.data_lmt or os.environ.get("DATA_LMT") or "data_lmt"
    if not os.path.isdir(data_lmt):
        raise LmtflowError(f"{data_lmt} is not a directory (give --data-lmt or set $DATA_LMT)")
    text = project_yaml(data_lmt, args.pid)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output or f"{args.pid}.yaml")
    if out.exists() and not args.force:
        raise LmtflowError(f"{out} exists: give --force to replace it, or -o another file")
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(text)
    tmp.replace(out)
    print(f"wrote {out}; reduce it with: lmtflow run {out}")
    return 0


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project",
        help="project files: lmtflow project init PID writes one from the raw headers",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    init = actions.add_parser(
        "init",
        help="write a project file (sources, ObsNums, combinations) from the raw headers",
        description="List the science ObsNums of project PID by source, with one combination "
        "per source and setup (receiver, kind, rest frequencies, banks) and the calibration "
        "ObsNums from the headers. ObsNums the workflow cannot reduce are left out with the "
        "reason. The file is validated (schema and header scan) before it is written.",
    )
    init.add_argument("pid", metavar="PID", help="ProjectId, e.g. 2018-S1-MU-8")
    init.add_argument("-o", "--output", help="file to write (default PID.yaml; - for stdout)")
    init.add_argument("--data-lmt", help="raw tree (default $DATA_LMT, else ./data_lmt)")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(func=_init)
