"""What a project directory holds: every ObsNum and combination, each bank, base and attempts,
with its key QA numbers (what the static ``index.html`` shows) and the files it made.

Paths come from :mod:`lmtflow.layout` (and the SRDP sets from :mod:`lmtflow.targets`). The
qa.json files are the truth; the database's ``qa_index`` table caches the few numbers the
project page shows and is refreshed for any file whose size or mtime changed, so a project
of hundreds of ObsNums renders without parsing hundreds of JSON files per view.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import layout
from ..attempts import BASE, suffix
from ..combination import COMBO_PATTERN
from ..qa.pages import _noise
from ..qa.registry import THUMBNAIL
from ..targets import PRODUCTS, QA_PLANES

LABEL = re.compile(rf"^(?:\d+|{COMBO_PATTERN})$")
ATTEMPT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")  # config/schema.yaml attempt names
_QA_NAME = re.compile(r"^(?P<label>.+)__(?P<bank>\d+)\.qa\.json$")
MAX_LABEL = 200
"""Longest ObsNum or combination name a URL may give (a longer one is no directory: the file
system would refuse its name with an error, not answer 'missing')."""


def is_label(text: str) -> bool:
    """Whether ``text`` names an ObsNum or a combination (and is short enough to look up)."""
    return len(text) <= MAX_LABEL and LABEL.match(text) is not None


def is_combo(label: str) -> bool:
    return not label.isdigit()


def patterns(label: str) -> dict[str, str]:
    """The layout patterns of an ObsNum or of a combination (same names, either family)."""
    if is_combo(label):
        return {"dir": layout.COMBO_DIR, "qa": layout.COMBO_QA_NUMBERS,
                "plot": layout.COMBO_QA_PLOT, "readme": layout.COMBO_README,
                "archive": layout.COMBO_ARCHIVE, "compare": layout.COMBO_COMPARE,
                "plane": layout.COMBO_PLANE}  # fmt: skip
    return {"dir": layout.OBSDIR, "qa": layout.QA_NUMBERS, "plot": layout.QA_PLOT,
            "readme": layout.README, "archive": layout.ARCHIVE, "compare": layout.COMPARE,
            "plane": layout.SRDP_PLANE}  # fmt: skip


def fields(pid: str, label: str, attempt: str = BASE, bank: int | None = None) -> dict:
    """Wildcards of ``label`` in ``attempt`` for :func:`lmtflow.layout.path`."""
    key = "combo" if is_combo(label) else "obsnum"
    out = {"pid": pid, key: label, "attempt": suffix(attempt)}
    return out if bank is None else {**out, "bank": bank}


@dataclass
class IndexRow:
    """One ObsNum or combination, one bank, one attempt: the numbers the project page lists."""

    label: str
    attempt: str
    bank: int
    kind: str
    source: str = ""
    receiver: str = ""
    mode: str = ""
    date_obs: str = ""
    restfreq_GHz: float | None = None
    inttime_s: float | None = None
    tsys_K: float | None = None
    rms_mK: float | None = None
    ratio: float | None = None
    peak_K: float | None = None
    bad: list = field(default_factory=list)
    birdies: int | None = None
    obsnums: list = field(default_factory=list)

    @property
    def combo(self) -> bool:
        return is_combo(self.label)


def row_from_numbers(label: str, attempt: str, bank: int, n: dict[str, Any]) -> IndexRow:
    o, noise = n.get("observation", {}), _noise(n)
    mode = o.get("mode", "")
    return IndexRow(
        label=label, attempt=attempt, bank=bank, kind=n.get("kind", "map"),
        source=str(o.get("source", "")), receiver=str(o.get("receiver", "")),
        mode=", ".join(map(str, mode)) if isinstance(mode, list) else str(mode),
        date_obs=str(o.get("date_obs", "") if not isinstance(o.get("date_obs"), list)
                     else min(o["date_obs"])),
        restfreq_GHz=o.get("restfreq_GHz"), inttime_s=o.get("inttime_s"),
        tsys_K=o.get("tsys_K") if not isinstance(o.get("tsys_K"), list) else None,
        rms_mK=noise["rms"], ratio=noise["ratio"], peak_K=noise["peak"],
        bad=list(n.get("bad_beams", n.get("bad_chassis_boards", [])) or []),
        birdies=len(n["birdies"]) if "birdies" in n else None,
        obsnums=list(n.get("obsnums") or [o.get("obsnum")]),
    )  # fmt: skip


def _qa_files(work: Path, pid: str, label: str = "*") -> list[tuple[str, str, int, Path]]:
    """(label, attempt, bank, path) of every qa.json of the project (or of one ObsNum or
    combination), base and attempts."""
    out = []
    for attempt_glob in ("", suffix("*")):
        glob = layout.QA_NUMBERS.format(pid=pid, obsnum=label, bank="*", attempt=attempt_glob)
        for path in work.glob(glob):
            rel = path.relative_to(work / pid).parts
            m = _QA_NAME.match(path.name)
            if not m or not LABEL.match(rel[0]) or m["label"] != rel[0]:
                continue
            attempt = rel[2] if attempt_glob else BASE
            if attempt_glob and not ATTEMPT.match(attempt):
                continue
            out.append((rel[0], attempt, int(m["bank"]), path))
    return out


def project_rows(db: sqlite3.Connection, work: Path, pid: str,
                 only: str | None = None) -> list[IndexRow]:  # fmt: skip
    """Every row of the project (``only``: of that ObsNum or combination), from the cache
    where the qa.json file is unchanged."""
    if only is not None and not is_label(only):
        return []
    query, args = "SELECT * FROM qa_index WHERE pid = ?", (pid,)
    if only is not None:
        query, args = query + " AND label = ?", (pid, only)
    cached = {(r["label"], r["attempt"], r["bank"]): r for r in db.execute(query, args)}
    rows, seen, changed = [], set(), []
    for label, attempt, bank, path in _qa_files(work, pid, only or "*"):
        key = (label, attempt, bank)
        seen.add(key)
        try:
            st = path.stat()
        except OSError:
            continue
        hit = cached.get(key)
        if hit and hit["qa_mtime_ns"] == st.st_mtime_ns and hit["qa_size"] == st.st_size:
            rows.append(IndexRow(**json.loads(hit["row_json"])))
            continue
        try:
            row = row_from_numbers(label, attempt, bank, json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being written: the next view picks it up
        rows.append(row)
        rel = os.path.relpath(path, work / pid)
        changed.append((pid, label, attempt, bank, rel, st.st_mtime_ns, st.st_size,
                        json.dumps(asdict(row))))  # fmt: skip
    gone = [k for k in cached if k not in seen]
    if changed or gone:
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO qa_index VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           changed)  # fmt: skip
            db.executemany("DELETE FROM qa_index WHERE pid = ? AND label = ? AND attempt = ? "
                           "AND bank = ?", [(pid, *k) for k in gone])  # fmt: skip
    rows.sort(key=lambda r: (r.combo, r.label, r.bank, r.attempt != BASE, r.attempt))
    return rows


class ProductFiles:
    """Paths of one ObsNum or combination, one bank, one attempt (relative to the project)."""

    def __init__(self, work: Path, pid: str, row: IndexRow) -> None:
        self.work, self.pid, self.row = work, pid, row
        self.root = work / pid
        self.p = patterns(row.label)
        self.f = fields(pid, row.label, row.attempt, row.bank)
        self.src = layout.safe_source(row.source)

    def path(self, pattern: str, **extra: Any) -> Path:
        return layout.path(self.work, pattern, **{**self.f, "src": self.src, **extra})

    def rel(self, path: Path) -> str | None:
        """``path`` relative to the project when it exists."""
        return path.relative_to(self.root).as_posix() if path.is_file() else None

    def qa(self) -> Path:
        return self.path(self.p["qa"])

    def numbers(self) -> dict[str, Any]:
        return json.loads(self.qa().read_text())

    def thumbnail(self) -> str | None:
        plot = THUMBNAIL.get(self.row.kind)
        return self.rel(self.path(self.p["plot"], plot=plot)) if plot else None

    def page(self) -> str | None:
        return self.rel(self.path(self.p["readme"]))

    def archive(self) -> str | None:
        return self.rel(self.path(self.p["archive"]))

    def compare(self) -> str | None:
        return self.rel(self.path(self.p["compare"], attempt=""))

    def srdp(self) -> list[str]:
        """The science-ready files (cube/spectrum, weight, params, planes)."""
        kind = self.row.kind
        pats = [*PRODUCTS[kind, self.row.combo]]
        if not self.row.combo:
            pats.append(layout.SRDP_PARAMS)
            if kind == "map":
                pats += [(layout.SRDP_PLANE, p) for p in QA_PLANES]
        out = []
        for pat in pats:
            path = self.path(pat[0], plane=pat[1]) if isinstance(pat, tuple) else self.path(pat)
            if (rel := self.rel(path)) is not None:
                out.append(rel)
        return out

    def intermediates(self) -> list[str]:
        """SDFITS and Tsys files of an ObsNum (the attempt's own, else the base's it shares)."""
        if self.row.combo:
            return []
        pats = (layout.RAW_SDFITS, layout.TSYS, layout.CAL_SDFITS, layout.BASE_SDFITS,
                layout.RSR_CAL_SDFITS, layout.RSR_BASE_SDFITS)  # fmt: skip
        out = []
        for pat in pats:
            for attempt in dict.fromkeys((self.f["attempt"], "")):
                if (rel := self.rel(self.path(pat, attempt=attempt))) is not None:
                    out.append(rel)
                    break
        return out

    def cube(self) -> Path | None:
        """The SRDP cube of a map, if made."""
        if self.row.kind != "map":
            return None
        path = self.path(PRODUCTS["map", self.row.combo][0])
        return path if path.is_file() else None

    def plane(self, name: str) -> Path | None:
        path = self.path(self.p["plane"], plane=name)
        return path if path.is_file() else None

    def spectrum_txt(self) -> Path | None:
        """The ASCII spectrum of a Ps/Bs/RSR product, if made."""
        if self.row.kind == "map":
            return None
        path = self.path(PRODUCTS[self.row.kind, self.row.combo][1])
        return path if path.is_file() else None

    def params_file(self) -> Path | None:
        """The SRDP parameter record of an ObsNum (combinations keep theirs in qa.json)."""
        return None if self.row.combo else self.path(layout.SRDP_PARAMS)

    def params(self) -> dict[str, Any]:
        """The SRDP parameter record (steps -> values), or the qa.json's copy."""
        path = self.params_file()
        if path is not None and path.is_file():
            return json.loads(path.read_text()).get("steps", {})
        return self.numbers().get("params", {})


def find_row(rows: list[IndexRow], label: str, bank: int, attempt: str) -> IndexRow | None:
    for r in rows:
        if r.label == label and r.bank == bank and r.attempt == attempt:
            return r
    return None
