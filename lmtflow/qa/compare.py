"""The attempts page of one ObsNum or combination: QA plots down, attempts across.

Each column is one attempt (the base first), headed by the parameters it changes, its key QA
numbers, a link to its own summary page and a download of its products (a zip). Like the
other pages it is static HTML with relative links only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from .html import fmt as _fmt
from .html import page as _page
from .html import rel_url as _rel
from .html import table as _table
from .html import write_page as _write
from .pages import Section, qa_rows
from .registry import plots_for

COMPARE_STYLE = """
table.compare{table-layout:fixed;width:100%}
table.compare td img{width:100%;border:1px solid #ccc}
td.changed{font-family:monospace;font-size:90%}
"""


@dataclass
class Column:
    """One attempt of one product (ObsNum or combination, one bank)."""

    name: str
    section: Section
    changed: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    archive: Path | None = None
    page: Path | None = None


def _changes(changed: dict[str, dict[str, list[Any]]]) -> str:
    if not changed:
        return "(base parameters)"
    lines = []
    for step, diff in changed.items():
        for key, (old, new) in diff.items():
            lines.append(f"{escape(step)}.{escape(key)}: {_fmt(old)} &rarr; <b>{_fmt(new)}</b>")
    return "<br>".join(lines)


def _links(col: Column, out: Path) -> str:
    parts = []
    if col.page is not None:
        parts.append(f'<a href="{_rel(col.page, out)}">summary page</a>')
    if col.archive is not None:
        size = col.archive.stat().st_size / 1e6 if col.archive.exists() else 0.0
        parts.append(f'<a href="{_rel(col.archive, out)}" download>{escape(col.archive.name)}</a>'
                     f" ({size:.2f} MB)")  # fmt: skip
    return "<br>".join(parts)


def _bank_table(columns: Sequence[Column], out: Path) -> str:
    numbers = [c.section.numbers() for c in columns]
    head = ["", *(escape(c.name) for c in columns)]
    rows = [["Parameters changed", *(f'<span class="changed">{_changes(c.changed)}</span>'
                                     for c in columns)],
            ["Products", *(_links(c, out) for c in columns)]]  # fmt: skip
    per_column = [qa_rows(n) for n in numbers]
    for i, (label, _) in enumerate(per_column[0]):
        rows.append([label, *(cells[i][1] for cells in per_column)])
    kind = numbers[0].get("kind", "map")
    width = f"{100 / (len(columns) + 1):.1f}%"
    for plot in plots_for(kind):
        cells = []
        for c in columns:
            path = c.section.plots.get(plot.name)
            if path is None:
                cells.append("–")
                continue
            url = _rel(path, out)
            cells.append(f'<a href="{url}"><img src="{url}" alt="{escape(plot.name)} '
                         f'{escape(c.name)}"></a>')  # fmt: skip
        rows.append([escape(plot.caption), *cells])
    table = _table(rows, head).replace("<table>", '<table class="compare">', 1)
    return table.replace("<th>", f'<th style="width:{width}">', 1)


def comparison_page(
    out: str | Path,
    title: str,
    banks: dict[int, Sequence[Column]],
    index: str | Path | None = None,
) -> Path:
    """Write the attempts page: one table per bank, plots down and attempts across."""
    out = Path(out)
    body = [f'<p><a href="{_rel(index, out)}">project index</a></p>'] if index else []
    body.append("<p>Rows are the QA plots and numbers, columns the attempts (the base first); "
                "each column names the parameters it changes.</p>")  # fmt: skip
    for bank, columns in sorted(banks.items()):
        body.append(f'<h2 id="bank{bank}">Bank {bank}</h2>')
        body.append(_bank_table(columns, out))
    html = _page(title, "\n".join(body)).replace("</style>", COMPARE_STYLE + "</style>", 1)
    return _write(out, html)
