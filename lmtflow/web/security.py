"""Protections every response and every POST gets: security headers, CSRF, login throttling."""

from __future__ import annotations

import hmac
import secrets
import sqlite3
import time
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "frame-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'")  # fmt: skip
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response (pure ASGI, so
    streamed downloads stay streamed)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in headers]
                if b"cache-control" not in headers and headers.get(b"content-type", b"")\
                        .startswith(b"text/html"):  # fmt: skip
                    extra.append((b"cache-control", b"no-store"))  # pages may be private
                elif b"cache-control" not in headers and not scope["path"].startswith("/static/"):
                    # a job log, status or spectrum JSON: never kept by a shared (proxy) cache
                    # (a download with Last-Modified would be, heuristically, without this)
                    extra.append((b"cache-control", b"private, no-cache"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware refusing (413) a request body over ``limit`` bytes, declared or streamed.

    No route takes an upload: the largest body is the new-attempt form. Without a cap, any
    visitor could send a multipart "file" to /login, which the form parser spools to a
    temporary file: gigabytes on the data server's disk per request."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            body = f"413: request body over {self.limit // 1024} KB\n".encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def capped_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # chunked, or more than declared
                raise HTTPException(413, f"request body over {self.limit // 1024} KB")
            return message

        await self.app(scope, capped_receive, send)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); forms carry it in :data:`CSRF_FIELD`."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


async def require_csrf(request: Request) -> None:
    """Dependency of every POST: the Origin (or, lacking it, the Referer) must be this server
    and the form field or header must carry the session's token; otherwise 403."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        referer = urlsplit(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else ""
    if not origin or origin != _own_origin(request):
        raise HTTPException(403, "cross-site request refused (Origin does not match)")
    expected = request.session.get("csrf", "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        form = await request.form()
        sent = str(form.get(CSRF_FIELD, ""))
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def client_ip(request: Request) -> str:
    """The peer address (the service binds loopback or sits behind a proxy that sets it)."""
    return request.client.host if request.client else "unknown"


def login_blocked(
    conn: sqlite3.Connection, name: str, ip: str, limit: int, window_s: float
) -> bool:
    """Whether ``name`` from ``ip`` has ``limit`` failed logins within the window."""
    since = time.time() - window_s
    conn.execute("DELETE FROM login_failures WHERE at < ?", (since - window_s,))
    count = conn.execute(
        "SELECT COUNT(*) FROM login_failures WHERE name = ? AND ip = ? AND at >= ?",
        (name.lower(), ip, since),
    ).fetchone()[0]
    return count >= limit


def record_login_failure(conn: sqlite3.Connection, name: str, ip: str) -> None:
    conn.execute("INSERT INTO login_failures (name, ip, at) VALUES (?, ?, ?)",
                 (name.lower(), ip, time.time()))  # fmt: skip


def clear_login_failures(conn: sqlite3.Connection, name: str, ip: str) -> None:
    conn.execute("DELETE FROM login_failures WHERE name = ? AND ip = ?", (name.lower(), ip))
