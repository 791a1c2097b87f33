"""HTML building blocks of the static QA pages: the inline style, value formatting, tables,
relative links, a page shell and its atomic write (no scripts, no network)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_path

STYLE = """
body{font-family:sans-serif;margin:1.5em;max-width:1300px;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef}
figure{display:inline-block;margin:.5em;width:46%;vertical-align:top}
figure img{width:100%;border:1px solid #ccc}
figcaption{font-size:90%;color:#444}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:85%}
img.thumb{width:160px}
.warn{color:#a00;font-weight:bold}
"""


def rel_url(target: str | Path, page: str | Path) -> str:
    """URL of ``target`` relative to the directory of ``page`` (forward slashes, escaped)."""
    rel = os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)
    return escape(Path(rel).as_posix(), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) if value else "none"
    return escape(str(value))


def table(rows: Sequence[Sequence[str]], head: Sequence[str] | None = None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr><th>" + row[0] + "</th>" + "".join(f"<td>{c}</td>" for c in row[1:]))
    return "\n".join(out) + "\n</table>"


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n{body}\n</body></html>\n")  # fmt: skip


def write_page(out: str | Path, text: str) -> Path:
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)


def warn(text: str) -> str:
    """``text`` (already HTML) marked as a warning."""
    return f'<span class="warn">{text}</span>'
