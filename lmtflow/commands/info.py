"""``lmtflow info [DATA_LMT]``: one line per ObsNum of a raw tree, from the headers only."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from ..inventory import Inventory, ObsEntry, read_inventory, select, table_lines


def write_table(entries: Sequence[ObsEntry], out: TextIO = sys.stdout) -> None:
    """Aligned columns, a header line first."""
    out.writelines(line + "\n" for line in table_lines(entries))


def write_unreadable(inv: Inventory, out: TextIO) -> None:
    if inv.unreadable:
        out.write(f"{len(inv.unreadable)} unreadable file(s):\n")
        for u in inv.unreadable:
            out.write(f"  {u.path}: {u.reason}\n")


def _cmd(args: argparse.Namespace) -> int:
    data_lmt = args.data_lmt or os.environ.get("DATA_LMT") or "data_lmt"
    if not os.path.isdir(data_lmt):
        print(f"lmtflow info: error: {data_lmt} is not a directory (give DATA_LMT or set "
              "$DATA_LMT)", file=sys.stderr)  # fmt: skip
        return 2
    inv = read_inventory(data_lmt)
    entries = select(inv.entries, source=args.source, project=args.project,
                     receiver=args.receiver, mode=args.mode, since=args.since,
                     until=args.until)  # fmt: skip
    if args.json:
        doc = inv.as_dict()
        doc["obsnums"] = [e.as_dict() for e in entries]
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    write_table(entries)
    shown = f"{len(entries)} of {len(inv.entries)}" if len(entries) != len(inv.entries) else (
        str(len(entries)))  # fmt: skip
    print(f"{shown} ObsNums in {data_lmt}")
    write_unreadable(inv, sys.stdout)
    return 0


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="list the ObsNums of a raw tree ($DATA_LMT) from their headers",
        description="One line per ObsNum: UTC date, ObsNum, source, receiver, mode (ObsPgm), "
        "CalObsNum, integration time, rest and sky frequency of each bank, banks, ProjectId. "
        "Only headers are read; files that cannot be read are listed with the reason. "
        "Source, project and receiver filters are case-insensitive shell patterns (NGC*).",
    )
    p.add_argument("data_lmt", nargs="?", help="raw tree (default $DATA_LMT, else ./data_lmt)")
    p.add_argument("--source", help="source name pattern")
    p.add_argument("--project", help="ProjectId pattern")
    p.add_argument("--receiver", help="receiver pattern (Sequoia, Msip1mm, RSR)")
    p.add_argument("--mode", help="Cal, Map, Ps, Bs or RSR")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="first UTC day (included)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last UTC day (included)")
    p.add_argument("--json", action="store_true", help="JSON instead of the table")
    p.set_defaults(func=_cmd)
