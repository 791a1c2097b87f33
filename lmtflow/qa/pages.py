"""Static summary pages: ``README.html`` per ObsNum (or combination) and the project index.

Pages are self-contained HTML (inline style, no scripts, no network) with relative links, so
the work tree can be copied, zipped or served as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from .html import fmt as _fmt
from .html import page as _page
from .html import rel_url as _rel
from .html import table as _table
from .html import warn
from .html import write_page as _write
from .pages_rsr import board_table, rsr_rows
from .registry import THUMBNAIL, plots_for


@dataclass
class Section:
    """One product (ObsNum or combination, one bank) on a page."""

    qa: Path
    plots: dict[str, Path]
    files: list[Path] = field(default_factory=list)
    members: dict[str, Path] = field(default_factory=dict)  # combination: ObsNum -> its page

    def numbers(self) -> dict[str, Any]:
        return json.loads(Path(self.qa).read_text())


HEADER_ROWS = (
    ("Source", "source"), ("ObsNum", "obsnum"), ("CalObsNum", "calobsnum"),
    ("Date (UTC)", "date_obs"), ("Receiver", "receiver"), ("Mode", "mode"),
    ("Integration time (s)", "inttime_s"), ("Tsys (K, median)", "tsys_K"),
    ("Rest frequency (GHz)", "restfreq_GHz"), ("Project", "project"),
)  # fmt: skip


def _header_table(numbers: Sequence[dict[str, Any]]) -> str:
    obs = [n.get("observation", {}) for n in numbers]
    head = ["", *(f"bank {o.get('bank', i)}" for i, o in enumerate(obs))]
    rows = [[label + ("s" if any(isinstance(o.get(key), list) for o in obs) else ""),
             *(_fmt(o.get(key), 6) for o in obs)] for label, key in HEADER_ROWS]  # fmt: skip
    return _table(rows, head)


MEMBER_COLUMNS = (
    ("CalObsNum", "calobsnum", 6), ("date (UTC)", "date_obs", 6), ("int time (s)", "inttime_s", 4),
    ("Tsys (K)", "tsys_K", 3), ("RMS (mK)", "rms_mK", 3), ("radiometer (mK)", "radiometer_mK", 3),
    ("RMS/radiometer", "rms_radiometer_ratio", 3), ("weight", "weight", 3),
    ("bad beams", "bad_beams", 4), ("birdies", "birdies", 4),
    ("chassis/boards not used", "bad_chassis_boards", 4),  # RSR
)  # fmt: skip


def _members_table(n: dict[str, Any], pages: dict[str, Path], page: Path) -> str:
    """The member ObsNums of a combination, each linked to its own page."""
    members = n.get("members", [])
    cols = [c for c in MEMBER_COLUMNS if any(c[1] in m for m in members)]
    rows = []
    for m in members:
        name = escape(str(m["obsnum"]))
        target = pages.get(str(m["obsnum"]))
        link = f'<a href="{_rel(target, page)}">{name}</a>' if target else name
        rows.append([link, *(_fmt(m.get(key), digits) for _, key, digits in cols)])
    return "<h3>Member ObsNums</h3>\n" + _table(rows, ["ObsNum", *(c[0] for c in cols)])


def _noise(n: dict[str, Any]) -> dict[str, Any]:
    """RMS, radiometer RMS (mK), their ratio and peak (K) of a map (centre) or a spectrum."""
    if "spectrum" in n:
        s = n["spectrum"]
        return {"rms": s.get("rms_mK"), "radiometer": s.get("radiometer_mK"),
                "ratio": s.get("rms_radiometer_ratio"), "peak": s.get("peak_K")}  # fmt: skip
    c = n.get("cube", {})
    return {"rms": c.get("rms_center_mK"), "radiometer": c.get("radiometer_center_mK"),
            "ratio": c.get("rms_radiometer_ratio"), "peak": c.get("peak_K")}  # fmt: skip


def qa_rows(n: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, HTML value) of the key QA numbers of one product (pages and attempts page)."""
    spectra, noise = n.get("spectra", {}), _noise(n)
    where = "" if "spectrum" in n else ", centre"
    bad, missing = n.get("bad_beams", []), n.get("missing_beams", [])
    birdies = [b["channel"] for b in n.get("birdies", [])]
    rows = [
        (f"RMS{where} (mK)", _fmt(noise["rms"])),
        (f"Radiometer RMS{where} (mK)", _fmt(noise["radiometer"])),
        ("RMS / radiometer", _fmt(noise["ratio"], 3)),
        ("Peak (K)", _fmt(noise["peak"])),
        ("Spectra used / rejected", f"{_fmt(spectra.get('used'))} / {_fmt(spectra.get('rejected'))}"
         f" (rms_cut {_fmt(spectra.get('rejected_rms_cut'))}, pix_list "
         f"{_fmt(spectra.get('rejected_pix_list'))}, non-finite "
         f"{_fmt(spectra.get('rejected_nonfinite'))})"),
        ("Missing beams", "; ".join(f"{warn(_fmt(m['beams']))} "
                                    f"({escape(m['reason'])})" for m in missing) or "none"),
        ("Suggested bad beams", warn(_fmt(bad)) if bad else "none"),
        ("Birdie channels", warn(_fmt(birdies)) if birdies else "none"),
    ]  # fmt: skip
    if n.get("advice"):  # where averaging down raises S/N (lmtflow.qa.advice)
        rows.append(("S/N advice", "<br>".join(escape(a["text"]) for a in n["advice"])))
    if "flags" in n:  # with a flag file (lmtflow.flags.qa)
        from ..flags.qa import flag_rows

        rows += flag_rows(n)
    if "chassis_boards" in n:  # RSR (lmtflow.qa.pages_rsr), its flags last
        flags = [r for r in rows if r[0].startswith(("Flag", "Data flagged"))]
        return rows[:4] + rsr_rows(n) + flags
    return [r for r in rows if r[0] not in OPTIONAL_ROWS or OPTIONAL_ROWS[r[0]] in n]


# Rows shown only when the numbers have them (a spectrum combination has no per-beam numbers).
OPTIONAL_ROWS = {"Spectra used / rejected": "spectra", "Missing beams": "missing_beams",
                 "Suggested bad beams": "bad_beams", "Birdie channels": "birdies"}  # fmt: skip


def _qa_table(n: dict[str, Any]) -> str:
    lines = "\n".join(escape(x) for x in (n.get("cube") or n).get("qac_lines", []))
    extra = ""
    if "chassis_boards" in n:  # RSR: the noise of every board
        extra = board_table(n)
    return (_table([list(r) for r in qa_rows(n)]) + (f"\n<pre>{lines}</pre>" if lines else "")
            + extra)  # fmt: skip


def _section(s: Section, page: Path, advice: Sequence[dict[str, Any]] = ()) -> str:
    n = s.numbers()
    if advice:  # advice that needs the other banks' numbers (lmtflow.qa.advice.bank_advice)
        n["advice"] = [*n.get("advice", []), *advice]
    bank = n.get("observation", {}).get("bank", "")
    parts = [f"<h2 id=\"bank{bank}\">Bank {escape(str(bank))}</h2>", "<h3>QA numbers</h3>",
             _qa_table(n), "<h3>Plots</h3>"]  # fmt: skip
    if "members" in n:
        parts.insert(3, _members_table(n, s.members, page))
    for plot in plots_for(n.get("kind", "map")):
        if plot.name in s.plots:
            url, cap = _rel(s.plots[plot.name], page), escape(plot.caption)
            parts.append(f"<figure><a href=\"{url}\"><img src=\"{url}\" alt=\"{cap}\"></a>"
                         f"<figcaption>{cap}</figcaption></figure>")  # fmt: skip
    parts.append("<h3>Parameters used</h3>")
    for step, values in n.get("params", {}).items():
        text = escape(json.dumps(values, indent=1, sort_keys=True))
        parts.append(f"<details><summary>{escape(step)}</summary><pre>{text}</pre></details>")
    parts.append("<h3>Product files</h3><ul>")
    for f in [s.qa, *s.files]:
        size = Path(f).stat().st_size / 1e6 if Path(f).exists() else 0.0
        parts.append(f"<li><a href=\"{_rel(f, page)}\">{escape(Path(f).name)}</a> "
                     f"({size:.2f} MB)</li>")  # fmt: skip
    parts.append("</ul>")
    return "\n".join(parts)


def product_page(out: str | Path, title: str, sections: Sequence[Section],
                 index: str | Path | None = None) -> Path:  # fmt: skip
    """Write the summary page of one ObsNum or combination (one section per bank)."""
    out = Path(out)
    body = [f'<p><a href="{_rel(index, out)}">project index</a></p>'] if index else []
    numbers = [s.numbers() for s in sections]
    body.append(_header_table(numbers))
    from .advice import bank_advice  # banks on the same line: average them

    by_bank = bank_advice(numbers)
    body += [_section(s, out, by_bank.get(n.get("observation", {}).get("bank"), []))
             for s, n in zip(sections, numbers, strict=True)]  # fmt: skip
    return _write(out, _page(title, "\n".join(body)))


@dataclass
class IndexEntry:
    """One ObsNum or combination on the project index: its page and its sections."""

    page: Path
    sections: list[Section]
    compare: Path | None = None  # the attempts page, when attempts are configured


INDEX_HEAD = ("ObsNum", "bank", "source", "date (UTC)", "rest freq (GHz)", "int time (s)",
              "Tsys (K)", "RMS (mK)", "RMS/radiometer", "bad beams (RSR: chassis/boards)",
              "birdies", "plot")  # fmt: skip


def project_index(out: str | Path, project: str, entries: Sequence[IndexEntry]) -> Path:
    """Write the project index: one row per ObsNum (or combination) and bank."""
    out = Path(out)
    rows = []
    for e in entries:
        for s in e.sections:
            n = s.numbers()
            o, noise = n.get("observation", {}), _noise(n)
            obsnums = n.get("obsnums") or [o.get("obsnum")]
            name = "+".join(str(x) for x in obsnums)
            thumb = s.plots.get(THUMBNAIL.get(n.get("kind", "map"), ""))
            link = f'<a href="{_rel(e.page, out)}">'
            attempts = (f' <a href="{_rel(e.compare, out)}">(attempts)</a>' if e.compare
                        else "")  # fmt: skip
            img = (f"{link}<img class=\"thumb\" src=\"{_rel(thumb, out)}\" alt=\"{escape(name)}\">"
                   "</a>") if thumb else ""  # fmt: skip
            rows.append([f"{link}{escape(name)}</a>{attempts}", _fmt(o.get("bank")),
                         _fmt(o.get("source")), _fmt(o.get("date_obs")),
                         _fmt(o.get("restfreq_GHz"), 7), _fmt(o.get("inttime_s")),
                         _fmt(o.get("tsys_K"), 3), _fmt(noise["rms"], 3),
                         _fmt(noise["ratio"], 3),
                         _fmt(n.get("bad_beams", n.get("bad_chassis_boards"))),
                         str(len(n["birdies"])) if "birdies" in n else "–", img])  # fmt: skip
    body = _table(rows, INDEX_HEAD)
    from .advice import combination_advice  # ObsNums of one setup not combined yet

    advice = combination_advice([s.numbers() for e in entries for s in e.sections])
    if advice:
        body += "\n<h3>S/N advice</h3>\n<ul>" + "".join(
            f"<li>{escape(a['text'])}</li>" for a in advice.values()) + "</ul>"
    return _write(out, _page(f"Project {project}", body))
