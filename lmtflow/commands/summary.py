"""The table ``lmtflow run`` prints at the end: each product, its rms and rms/radiometer."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # lmtflow --help stays fast: targets imports the parameter machinery
    from ..targets import Product


def _rel(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return str(path)


def noise_numbers(qa_file: Path) -> tuple[float | None, float | None]:
    """(rms in mK, rms/radiometer) of a product's QA numbers: the spectrum's, a cube's centre
    values, or an RSR spectrum's overall values; (None, None) if not made (yet)."""
    try:
        doc: dict[str, Any] = json.loads(qa_file.read_text())
    except (OSError, ValueError):
        return None, None
    for key in ("spectrum", "cube", "rsr", "overall"):
        part = doc.get(key)
        if isinstance(part, dict):
            rms = part.get("rms_mK", part.get("rms_center_mK"))
            ratio = part.get("rms_radiometer_ratio")
            if rms is not None or ratio is not None:
                return rms, ratio
    return doc.get("rms_mK"), doc.get("rms_radiometer_ratio")


def product_rows(products: Sequence[tuple[str, Product]], work: Path) -> list[tuple[str, ...]]:
    """One row per (attempt, product): label, bank, attempt, kind, main file, rms, ratio."""
    rows = []
    for attempt, p in products:
        rms, ratio = noise_numbers(p.qa)
        main = p.files[0]
        rows.append((p.label, str(p.bank), attempt or "base", p.kind,
                     _rel(main, work) + ("" if main.exists() else "  (missing)"),
                     "-" if rms is None else f"{rms:.1f}",
                     "-" if ratio is None else f"{ratio:.2f}"))  # fmt: skip
    return rows


def format_table(rows: Sequence[tuple[str, ...]], header: Sequence[str]) -> str:
    table = [tuple(header), *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in table)  # fmt: skip


PRODUCT_HEADER = ("ObsNum/combination", "bank", "attempt", "kind", "product", "rms(mK)",
                  "rms/radiometer")  # fmt: skip


def pages(products: Sequence[tuple[str, Product]], work: Path) -> list[Path]:
    """The project index pages (``<work>/<ProjectId>/index.html``) that exist."""
    out = []
    for _, p in products:
        try:
            project = work / p.page.relative_to(work).parts[0]
        except ValueError:
            continue
        index = project / "index.html"
        if index.exists() and index not in out:
            out.append(index)
    return out
