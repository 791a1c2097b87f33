"""The FastAPI application: middleware, templates, static assets and the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from . import routes_auth, routes_data, routes_jobs, routes_pages
from .access import LoginRequired
from .db import ConnectionPool, migrate
from .jobs import Dispatcher
from .overlay import MAX_BODY
from .security import BodyLimit, SecurityHeaders
from .settings import Settings
from .templating import HERE, render


def create_app(settings: Settings) -> FastAPI:
    """The service over ``settings.work_lmt``; the database is created/migrated here."""
    migrate(settings.database)
    dispatcher = Dispatcher(settings)
    pool = ConnectionPool(settings.database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        dispatcher.start()  # reconciles jobs left 'running' by a previous server first
        yield
        dispatcher.stop()  # running jobs go on; the next start tracks them again
        pool.close()

    app = FastAPI(title="lmtflow web", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.settings = settings
    app.state.dispatcher = dispatcher
    app.state.db_pool = pool
    app.add_middleware(BodyLimit, limit=MAX_BODY)  # innermost: its 413 gets the headers
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret,
        session_cookie="lmtflow_session",
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=settings.secure_cookie,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(routes_auth.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_data.router)
    app.include_router(routes_jobs.router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.endswith((".json", ".png")) or "/files/" in request.url.path:
            return Response(f"{exc.status_code}: {exc.detail}\n", status_code=exc.status_code,
                            media_type="text/plain", headers=getattr(exc, "headers", None))
        return render(request, "error.html", status_code=exc.status_code,
                      status=exc.status_code, detail=exc.detail)

    return app
