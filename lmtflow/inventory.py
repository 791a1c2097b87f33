"""What a raw ``$DATA_LMT`` tree holds, from the headers only (``lmtflow info``, mk_runs).

One :class:`ObsEntry` per ObsNum (its ifproc file, or the first chassis file of an RSR
ObsNum); a file that cannot be read becomes an :class:`Unreadable` with the reason, so one
damaged file never hides the others. Headers are read without the netCDF library where the
file is netCDF-3 (:mod:`lmtflow.io.ifproc_nc3`): thousands of ObsNums list in seconds.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IFPROC_NAME = re.compile(r"ifproc_(\d{4}-\d\d-\d\d)_(\d{6})_\d+_\d+\.nc$")
RSR_NAME = re.compile(r"RedshiftChassis(\d)_(\d{4}-\d\d-\d\d)_(\d{6})_00_0001\.nc$")
SCIENCE_MODES = ("Map", "Ps", "Bs")


@dataclass(frozen=True)
class ObsEntry:
    """One ObsNum as its headers describe it (frequencies in GHz, one value per bank)."""

    obsnum: int
    date: str
    """UTC start, ``YYYY-MM-DDTHH:MM:SS`` (the file name's date where the header has none)."""
    source: str
    receiver: str
    mode: str
    """ObsPgm: Cal, Map, Ps or Bs (RSR ObsNums: receiver ``RSR``, mode Cal or Bs)."""
    calobsnum: int
    tint_s: float
    rest_ghz: tuple[float, ...]
    sky_ghz: tuple[float, ...]
    banks: tuple[int, ...]
    project: str
    path: str
    obsgoal: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: an unknown integration time (RSR) is None, not NaN."""
        out = asdict(self)
        if math.isnan(self.tint_s):
            out["tint_s"] = None
        return out


@dataclass(frozen=True)
class Unreadable:
    """A raw file whose header cannot be read, and why."""

    path: str
    reason: str
    obsnum: int | None = None


@dataclass
class Inventory:
    """The ObsNums of a raw tree (sorted by ObsNum) and the files that could not be read."""

    data_lmt: Path
    entries: list[ObsEntry] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_lmt": str(self.data_lmt),
            "obsnums": [e.as_dict() for e in self.entries],
            "unreadable": [asdict(u) for u in self.unreadable],
        }


def _listdir(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def raw_files(data_lmt: str | Path) -> tuple[dict[int, list[Path]], dict[int, list[Path]]]:
    """ObsNum -> its ifproc files, and ObsNum -> its RSR chassis files (names only, no reads)."""
    root = Path(data_lmt)
    ifproc: dict[int, list[Path]] = {}
    for name in _listdir(root / "ifproc"):
        m = IFPROC_NAME.match(name)
        if m:
            ifproc.setdefault(int(m.group(2)), []).append(root / "ifproc" / name)
    rsr: dict[int, list[Path]] = {}
    for c in range(4):
        folder = root / f"RedshiftChassis{c}"
        for name in _listdir(folder):
            m = RSR_NAME.match(name)
            if m:
                rsr.setdefault(int(m.group(3)), []).append(folder / name)
    return ifproc, rsr


def _ifproc_entry(path: Path) -> ObsEntry:
    from .io.ifproc_nc3 import read_header_fast

    h = read_header_fast(path)
    banks = tuple(h.banks)
    return ObsEntry(
        obsnum=h.obsnum, date=h.date_obs[:19], source=h.source, receiver=h.receiver,
        mode=h.obspgm, calobsnum=h.calobsnum, tint_s=h.integration_time_s,
        rest_ghz=tuple(h.line_freq_ghz[b] for b in banks),
        sky_ghz=tuple(h.sky_freq_ghz[b] for b in banks if b < len(h.sky_freq_ghz)),
        banks=banks, project=h.project_id, path=str(path), obsgoal=h.obsgoal,
    )  # fmt: skip


def _rsr_entry(data_lmt: Path, obsnum: int, files: list[Path]) -> ObsEntry:
    from .io.rsr import read_rsr_header

    h = read_rsr_header(data_lmt, obsnum)
    m = RSR_NAME.match(h.path.name)
    date, tint = _rsr_time(h.path)
    return ObsEntry(
        obsnum=h.obsnum, date=date or (m.group(2) if m else ""), source=h.source,
        receiver="RSR", mode=h.obspgm, calobsnum=h.calobsnum, tint_s=tint, rest_ghz=(),
        sky_ghz=(), banks=(0,), project=h.project_id, path=str(h.path),
    )  # fmt: skip


def _rsr_time(path: Path) -> tuple[str, float]:
    """UTC start (first Data.Sky.Time) and Header.Dcs.IntegrationTime of a chassis file;
    ("", NaN) where the file does not say (the listing then shows the file name's date)."""
    from .io.nc3 import Nc3File

    try:
        with Nc3File.open(path) as nc:
            _, first = nc.rows("Data.Sky.Time", 0, 1)
            tint = float(nc.fixed()["Header.Dcs.IntegrationTime"])
        start = float(first[0])
    except Exception:  # noqa: BLE001 - optional values: HDF5 files, missing variables
        return "", float("nan")
    if not start > 0:
        return "", tint
    return dt.datetime.fromtimestamp(start, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), tint


def read_inventory(data_lmt: str | Path, obsnums: Iterable[int] | None = None) -> Inventory:
    """Describe every ObsNum of ``data_lmt`` (or only ``obsnums``) from its headers.

    Never raises for a bad file: any error reading one ObsNum's header (a truncated or foreign
    file, two ifproc files for one ObsNum, a header naming another ObsNum) becomes an
    :class:`Unreadable` entry naming the file and the problem.
    """
    root = Path(data_lmt)
    inv = Inventory(root)
    ifproc, rsr = raw_files(root)
    wanted = None if obsnums is None else {int(o) for o in obsnums}
    for obsnum in sorted(set(ifproc) | set(rsr)):
        if wanted is not None and obsnum not in wanted:
            continue
        files = ifproc.get(obsnum) or rsr[obsnum]
        try:
            if obsnum in ifproc:
                if len(files) > 1:
                    names = ", ".join(p.name for p in files)
                    raise ValueError(f"ObsNum {obsnum} has more than one ifproc file: {names}")
                entry = _ifproc_entry(files[0])
            else:
                entry = _rsr_entry(root, obsnum, files)
            if entry.obsnum != obsnum:
                raise ValueError(f"the file name says ObsNum {obsnum}, Header.Dcs.ObsNum "
                                 f"{entry.obsnum}")  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a listing names every bad file, never stops
            reason = str(exc) or type(exc).__name__
            inv.unreadable.append(Unreadable(str(files[0]), reason.replace(f"{files[0]}: ", ""),
                                             obsnum))  # fmt: skip
            continue
        inv.entries.append(entry)
    return inv


def _day(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        from .errors import LmtflowError

        raise LmtflowError(f"date {text!r} is not YYYY-MM-DD") from exc


def select(
    entries: Iterable[ObsEntry],
    source: str | None = None,
    project: str | None = None,
    receiver: str | None = None,
    mode: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[ObsEntry]:
    """Entries matching every filter given: source, project and receiver are
    case-insensitive shell patterns (``NGC*``); mode is an ObsPgm (Cal, Map, Ps, Bs) or
    ``RSR``; ``since``/``until`` are UTC days (``YYYY-MM-DD``), both included."""
    first, last = _day(since), _day(until)

    def match(pattern: str | None, value: str) -> bool:
        return pattern is None or fnmatch.fnmatch(value.lower(), pattern.lower())

    out = []
    for e in entries:
        if not (match(source, e.source) and match(project, e.project)):
            continue
        if not match(receiver, e.receiver):
            continue
        if mode is not None and mode.lower() not in (e.mode.lower(), e.receiver.lower()):
            continue
        day = e.date[:10]
        if (first and day < first) or (last and day > last):
            continue
        out.append(e)
    return out


COLUMNS = ("date (UTC)", "ObsNum", "source", "receiver", "mode", "CalObsNum", "tint(s)",
           "rest(GHz)", "sky(GHz)", "banks", "ProjectId")  # fmt: skip


def _freqs(values: tuple[float, ...]) -> str:
    return "/".join(f"{v:.4f}" for v in values) or "-"


def row(e: ObsEntry) -> tuple[str, ...]:
    """The cells of one ObsNum's line of the listing."""
    tint = "-" if math.isnan(e.tint_s) else f"{e.tint_s:.1f}"
    cal = str(e.calobsnum) if e.calobsnum > 0 else "-"
    return (
        e.date.replace("T", " "),
        str(e.obsnum),
        e.source,
        e.receiver,
        e.mode,
        cal,
        tint,
        _freqs(e.rest_ghz),
        _freqs(e.sky_ghz),
        ",".join(map(str, e.banks)),
        e.project,
    )


def table_lines(entries: Iterable[ObsEntry]) -> list[str]:
    """The listing as aligned lines, a header line first (``lmtflow info``)."""
    rows = [COLUMNS, *(row(e) for e in entries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
