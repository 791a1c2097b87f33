"""Who is asking and what they may see: the database connection, the session's user and the
project check that every ``/p/{pid}`` route depends on.

A project is a directory of the work tree (``<work_lmt>/<ProjectId>``). The ProjectId in the
URL is only ever compared with the names of that listing, never joined to a path first. A
project the user may not see answers 404, like one that does not exist, so its existence does
not leak; an anonymous visitor is sent to the login page instead.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from . import accounts
from .settings import Settings


class LoginRequired(Exception):
    """Raised for an anonymous visitor of a private page; answered with 303 to /login."""


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> AsyncIterator[sqlite3.Connection]:
    """A connection of the app's pool for this request (WAL lets readers share the file).

    This and the other dependencies below are ``async``: they run on the event loop and do
    a few cheap SQLite reads, where a plain ``def`` would cost a trip through the thread pool
    each (two for a generator) on every request. The routes themselves stay ``def`` (they read
    files and render, so they run in the thread pool and do not stall other requests)."""
    pool = request.app.state.db_pool
    conn = pool.acquire()
    try:
        yield conn
    finally:
        pool.release(conn)


Db = Annotated[sqlite3.Connection, Depends(get_db)]


async def current_user(request: Request, db: Db) -> accounts.User | None:
    """The logged-in user, or None; a login from before a password change, or one ended by
    'log out' (a copy of its cookie), no longer counts."""
    uid, sid = request.session.get("uid"), request.session.get("sid")
    user = accounts.user_by_id(db, uid) if isinstance(uid, int) else None
    if user is not None and (request.session.get("epoch") != user.session_epoch
                             or not isinstance(sid, str) or accounts.session_ended(db, sid)):
        request.session.pop("uid", None)
        user = None
    request.state.user = user
    return user


_LISTINGS: dict[Path, tuple[int, dict[str, Path]]] = {}


def project_dirs(work_lmt: Path) -> dict[str, Path]:
    """ProjectId -> directory of every project in the work tree (a copy of the listing kept
    while the work tree's own mtime is unchanged: adding, removing or renaming a project
    directory changes it; a request costs one stat instead of reading the directory). A
    listing taken within a second of the last change is not kept (the file system's clock is
    coarse: a second change in the same tick could leave the mtime as it was)."""
    mtime = os.stat(work_lmt).st_mtime_ns
    hit = _LISTINGS.get(work_lmt)
    if hit is not None and hit[0] == mtime:
        return dict(hit[1])
    out = {}
    with os.scandir(work_lmt) as entries:
        for e in entries:
            if accounts.PROJECT_ID.match(e.name) and e.is_dir():
                out[e.name] = Path(e.path)
    if mtime < time.time_ns() - 1_000_000_000:
        _LISTINGS[work_lmt] = (mtime, out)  # one entry per served work tree
    return dict(out)


CurrentUser = Annotated[accounts.User | None, Depends(current_user)]


@dataclass(frozen=True)
class Project:
    """A project the current request may read."""

    pid: str
    root: Path  # resolved project directory
    role: str | None  # None: read because the project is public
    user: accounts.User | None


def visible_projects(
    settings: Settings, db: sqlite3.Connection, user: accounts.User | None
) -> dict[str, str | None]:
    """ProjectId -> role (None: public) of every project of the work tree the user may read."""
    dirs = project_dirs(settings.work_lmt)
    public = accounts.public_projects(db)
    if user is not None and user.staff:
        return {pid: "owner" for pid in sorted(dirs)}
    roles = accounts.member_projects(db, user)
    return {pid: roles.get(pid) for pid in sorted(dirs) if pid in roles or pid in public}


async def project_access(
    pid: str,
    request: Request,
    db: Db,
    user: CurrentUser,
) -> Project:
    """Dependency of every route that names a project: the project, or 404 / login."""
    settings = settings_of(request)
    root = project_dirs(settings.work_lmt).get(pid)
    role = accounts.role_of(db, user, pid) if root is not None else None
    if root is not None and (role or pid in accounts.public_projects(db)):
        return Project(pid, root.resolve(), role, user)
    if user is None:
        raise LoginRequired()
    raise HTTPException(404, "no such project")


ProjectAccess = Annotated[Project, Depends(project_access)]
"""The type of the ``project`` parameter of every route that names a project."""
