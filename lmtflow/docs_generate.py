"""Write the documentation pages that are generated from the code (run by ``docs/conf.py``).

* ``parameters.md``: every configuration key, from ``config/schema.yaml``
  (:mod:`lmtflow.schema_reference`);
* ``sdfits_columns.md``: the columns of the LMT SDFITS profile, from
  :data:`lmtflow.io.sdfits_columns.COLUMNS`.
"""

from __future__ import annotations

from pathlib import Path

from .io.sdfits_columns import COLUMNS, DATA_COLUMN
from .schema_reference import render_markdown


def sdfits_columns_markdown() -> str:
    """The SDFITS columns as a Markdown table, in file order (``DATA`` is column 7)."""
    rows = [(c.name, c.tform, c.unit, c.doc) for c in COLUMNS]
    rows.insert(DATA_COLUMN - 1, ("DATA", "nchan E", "K or counts", "the spectrum (TUNIT7)"))
    out = [
        "<!-- generated from lmtflow/io/sdfits_columns.py by lmtflow.docs_generate -->",
        "",
        "| # | column | TFORM | unit | meaning |",
        "|---|---|---|---|---|",
    ]
    for i, (name, tform, unit, doc) in enumerate(rows, start=1):
        doc = doc.replace("|", "\\|")
        out.append(f"| {i} | `{name}` | `{tform}` | {unit} | {doc} |")
    return "\n".join(out) + "\n"


def write_generated(outdir: str | Path) -> list[Path]:
    """Write the generated pages into ``outdir``; rewrite a file only when its text changes."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    pages = {
        "parameters.md": render_markdown() + "\n",
        "sdfits_columns.md": sdfits_columns_markdown(),
    }
    written = []
    for name, text in pages.items():
        path = outdir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written
