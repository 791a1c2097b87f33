"""Login, logout and the health check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

from . import accounts
from .access import CurrentUser, Db, settings_of
from .security import (
    clear_login_failures,
    client_ip,
    login_blocked,
    record_login_failure,
    require_csrf,
)
from .templating import HERE, render

router = APIRouter()
LOGIN_FAILED = "Unknown user or wrong password."
"""The one message of a failed login: it does not tell which of the two was wrong."""


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site: no scheme, no //host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/p/"
    return target


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "ok\n"


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it on every page, the work tree's static pages included."""
    return FileResponse(HERE / "static" / "favicon.png", media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


@router.get("/")
def root() -> Response:
    return RedirectResponse("/p/", status_code=303)


@router.get("/login")
def login_form(request: Request, user: CurrentUser, next: str = "/p/") -> Response:
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    db: Db,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/p/",
) -> Response:
    settings, ip = settings_of(request), client_ip(request)
    request.state.user = None
    if login_blocked(db, username, ip, settings.login_failures, settings.login_window_s):
        accounts.audit(db, "login throttled", username, ip)
        minutes = round(settings.login_window_s / 60)
        return render(request, "login.html", status_code=429, next=safe_next(next),
                      error=f"Too many failed logins; try again in {minutes} minutes.")
    user = accounts.authenticate(db, username, password)
    if user is None:
        record_login_failure(db, username, ip)
        accounts.audit(db, "login failed", username, ip)
        return render(request, "login.html", status_code=401, next=safe_next(next),
                      error=LOGIN_FAILED)  # fmt: skip
    clear_login_failures(db, username, ip)
    accounts.audit(db, "login", user.name, ip)
    request.session.clear()  # a fresh session (new CSRF token) at every login
    request.session.update(uid=user.id, epoch=user.session_epoch, sid=secrets.token_urlsafe(18))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, db: Db) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):  # the signed cookie lives on in copies: end the login itself
        accounts.end_session(db, sid, settings_of(request).session_hours * 3600)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
