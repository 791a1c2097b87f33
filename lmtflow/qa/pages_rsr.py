"""The RSR parts of the summary pages (:mod:`lmtflow.qa.pages` calls these for RSR numbers):
spectra used and rejected, bad chassis/boards, flagged lags and the per-board noise table."""

from __future__ import annotations

from typing import Any

from .html import fmt as _fmt
from .html import table as _table
from .html import warn as _warn


def board_name(b: dict[str, Any], with_obsnum: bool) -> str:
    """``c3/b5`` (chassis/board), ``33551 c3/b5`` in a combination."""
    return (f"{b['obsnum']} " if with_obsnum else "") + f"c{b['chassis']}/b{b['board']}"


def rsr_rows(n: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, HTML) rows of an RSR product's QA numbers after rms, radiometer and peak."""
    s, multi = n.get("spectra", {}), len(n.get("obsnums", [])) > 1
    bad = [f"{board_name(b, multi)} ({_fmt(b['reason'])})" for b in n.get("bad_boards", [])]
    tsys = [f"c{b['chassis']}/b{b['board']} ({b['tsys_jitter_K']:.0f} K)"
            for b in n.get("suggested_bad_boards", [])]  # fmt: skip
    lags = n.get("flagged_lags", {})
    per_board = ", ".join(f"{board_name(b, multi)}: {b['n']}" for b in lags.get("per_board", []))
    spec = n.get("spectrum", {})
    return [
        ("Spectra used / rejected",
         f"{_fmt(s.get('used'))} / {_fmt(s.get('rejected'))} of {_fmt(s.get('total'))} "
         f"{_fmt(s.get('unit'))} (blanked {_fmt(s.get('rejected_blanked'))}, rms above rthr "
         f"{_fmt(s.get('rejected_rthr'))}, chassis average above cthr "
         f"{_fmt(s.get('rejected_cthr'))})"),
        ("Chassis/boards not used", _warn(", ".join(bad)) if bad else "none"),
        ("Tsys jitter above 25 K", _warn(", ".join(tsys)) if tsys else "none"),
        ("Flagged lags", f"{_fmt(lags.get('total'))}" + (f" ({per_board})" if per_board else "")),
        ("Merged spectrum rms, line-free (mK)", _fmt(spec.get("rms_merged_mK"))),
        ("LMTOY expected noise, Tsys 100 K (mK)", _fmt(spec.get("radiometer_100K_mK"))),
        ("Peak frequency (GHz)", _fmt(spec.get("peak_freq_GHz"), 7)),
    ]  # fmt: skip


BOARD_HEAD = ("board", "sky frequency (GHz)", "RMS (mK)", "radiometer (mK)", "RMS/radiometer",
              "chassis averages used", "blanked channels")  # fmt: skip


def board_table(n: dict[str, Any]) -> str:
    """The noise of every final board average (frequency order)."""
    rows = [[f"board {b['board']}", f"{b['freq_GHz'][0]:.2f}–{b['freq_GHz'][1]:.2f}",
             _fmt(b.get("rms_mK"), 3), _fmt(b.get("radiometer_mK"), 3),
             _fmt(b.get("rms_radiometer_ratio"), 3), _fmt(b.get("files_used")),
             _fmt(b.get("blanked_channels"))] for b in n.get("boards", [])]  # fmt: skip
    return "\n<h4>Final board averages</h4>\n" + _table(rows, BOARD_HEAD)
