"""Server-rendered pages: my projects, a project, an ObsNum or combination, and the file route
that serves the work tree's own pages (README.html, attempts.html, index.html), plots and
products. Every route naming a project depends on :func:`lmtflow.web.access.project_access`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from .. import layout
from ..attempts import BASE
from ..qa.pages import qa_rows
from . import catalog
from .access import CurrentUser, Db, Project, ProjectAccess, settings_of, visible_projects
from .files import file_response, resolve_in_project
from .templating import render

router = APIRouter()
DATE = r"^(\d{4}-\d{2}-\d{2})?$"
ATTEMPT_QUERY = r"^(?:base|[A-Za-z][A-Za-z0-9_-]{0,39})$"


@router.get("/p/")
def my_projects(request: Request, db: Db, user: CurrentUser) -> Response:
    projects = visible_projects(settings_of(request), db, user)
    return render(request, "projects.html", projects=projects)


@dataclass
class Entry:
    """One ObsNum or combination and bank on the project page, with its attempts."""

    row: catalog.IndexRow
    files: catalog.ProductFiles
    attempts: list[str] = field(default_factory=list)


def _matches(row: catalog.IndexRow, f: dict[str, str]) -> bool:
    if f["source"] and row.source != f["source"]:
        return False
    if f["receiver"] and row.receiver != f["receiver"]:
        return False
    if f["mode"] and row.mode != f["mode"]:
        return False
    day = row.date_obs[:10]
    if f["date_from"] and (not day or day < f["date_from"]):
        return False
    return not (f["date_to"] and (not day or day > f["date_to"]))


@router.get("/p/{pid}/")
def project_page(
    request: Request,
    project: ProjectAccess,
    db: Db,
    source: Annotated[str, Query(max_length=100)] = "",
    receiver: Annotated[str, Query(max_length=40)] = "",
    mode: Annotated[str, Query(max_length=40)] = "",
    date_from: Annotated[str, Query(pattern=DATE)] = "",
    date_to: Annotated[str, Query(pattern=DATE)] = "",
) -> Response:
    work = settings_of(request).work_lmt
    rows = catalog.project_rows(db, work, project.pid)
    filters = dict(source=source, receiver=receiver, mode=mode, date_from=date_from,
                   date_to=date_to)  # fmt: skip
    entries: dict[tuple[str, int], Entry] = {}
    for r in rows:
        if r.attempt == BASE:
            entries[r.label, r.bank] = Entry(r, catalog.ProductFiles(work, project.pid, r))
    for r in rows:
        if r.attempt != BASE and (r.label, r.bank) in entries:
            entries[r.label, r.bank].attempts.append(r.attempt)
    base = [e.row for e in entries.values()]
    choices = {key: sorted({getattr(r, key) for r in base if getattr(r, key)})
               for key in ("source", "receiver", "mode")}  # fmt: skip
    shown = [e for e in entries.values() if _matches(e.row, filters)]
    index_page = layout.path(work, layout.PROJECT_INDEX, pid=project.pid)
    index = index_page.name if index_page.is_file() else None
    context = dict(project=project, entries=shown, total=len(entries), filters=filters,
                   choices=choices, index=index)  # fmt: skip
    if request.headers.get("hx-request"):
        return render(request, "project_table.html", **context)
    return render(request, "project.html", **context)


def product_files(
    request: Request, db: sqlite3.Connection, project: Project, label: str, bank: int,
    attempt: str,
) -> tuple[catalog.ProductFiles, list[catalog.IndexRow]]:
    """The files of one product (404 if the project has no such ObsNum, bank or attempt) and
    every row of that ObsNum or combination."""
    rows = catalog.project_rows(db, settings_of(request).work_lmt, project.pid, only=label)
    row = catalog.find_row(rows, label, bank, attempt)
    if row is None:
        raise HTTPException(404, f"no product {label} bank {bank} attempt {attempt}")
    return catalog.ProductFiles(settings_of(request).work_lmt, project.pid, row), rows


@router.get("/p/{pid}/o/{label}/")
def product_page(
    request: Request,
    label: str,
    project: ProjectAccess,
    db: Db,
    bank: Annotated[int, Query(ge=0, le=64)] = 0,
    attempt: Annotated[str, Query(pattern=ATTEMPT_QUERY)] = BASE,
) -> Response:
    if not catalog.is_label(label):
        raise HTTPException(404, "no such ObsNum")
    files, rows = product_files(request, db, project, label, bank, attempt)
    numbers = files.numbers()
    return render(
        request, "product.html", project=project, files=files, row=files.row,
        qa=qa_rows(numbers), banks=sorted({r.bank for r in rows}),
        attempts=[r.attempt for r in rows if r.bank == bank],
    )  # fmt: skip


@router.get("/p/{pid}/files/{path:path}")
def project_file(request: Request, path: str, project: ProjectAccess,
                 download: bool = False) -> Response:
    """A file of the project's work tree (pages inline, products as attachments)."""
    settings = settings_of(request)
    return file_response(resolve_in_project(project.root, path, settings.data_lmt), download,
                         request.headers.get("if-none-match"))  # fmt: skip
