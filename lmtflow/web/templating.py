"""Jinja2 templates (autoescaped) and the page renderer shared by the routers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from .security import csrf_token

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescape on for .html
TEMPLATES.env.filters["urlpath"] = lambda s: quote(str(s), safe="/")


def fmt(value: object, digits: int = 4) -> str:
    """A number for a table cell (``-`` when missing)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) if value else "none"
    return str(value)


TEMPLATES.env.filters["fmt"] = fmt


def render(request: Request, name: str, status_code: int = 200, **context) -> Response:
    """A page from ``templates/`` with the user and the CSRF token for its forms."""
    context.setdefault("user", getattr(request.state, "user", None))
    return TEMPLATES.TemplateResponse(
        request, name, {"csrf_token": csrf_token(request), **context}, status_code=status_code
    )
