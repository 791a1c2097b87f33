"""The load generator of ``bench_web.py``: browsers of users who think between page views,
and clients in a closed loop, on a minimal keep-alive HTTP/1.1 client (loopback only)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from urllib.parse import urljoin

THINK_MIN, THINK_MAX = 1.0, 3.0  # s between one user's page views
BROWSER_CONNECTIONS = 6  # a browser's connections per host
KEEPALIVE_S = 3.0  # a client drops an idle connection before uvicorn does (5 s)
CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
EMBEDDED = re.compile(r'<(?:img|script|link)[^>]+(?:src|href)="([^"#]+)"')

Stats = dict[str, list[float]]


class RawConnection:
    """A minimal keep-alive HTTP/1.1 GET client on one socket. It costs far less CPU per
    request than httpx (whose reading of fifty 25 MB downloads alone took seconds of CPU), so
    the latencies measured are the server's and not the load generator's."""

    def __init__(self, url: str, cookie: str) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port, self.cookie = int(port), cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0
        self.body = b""

    async def get(self, path: str, keep: bool = False) -> int:
        """GET ``path``; returns the body's length (read in 1 MB pieces, kept in ``body``
        when ``keep``). A connection idle longer than the server keeps one is made anew; one
        the server closed under the request is retried once on a new one."""
        for attempt in (0, 1):
            if self.writer is not None and time.monotonic() - self.used > KEEPALIVE_S:
                self.close()
            try:
                return await self._get(path, keep)
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                if attempt:
                    raise
        return 0

    async def _get(self, path: str, keep: bool) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"Cookie: {self.cookie}\r\n\r\n".encode("latin-1"))  # fmt: skip
        head = await self.reader.readuntil(b"\r\n\r\n")
        if head[9:12] != b"200":
            raise RuntimeError(f"GET {path}: {head[:200]!r}")
        left = int(CONTENT_LENGTH.search(head)[1])
        size, parts = left, []
        while left:
            chunk = await self.reader.read(min(left, 1 << 20))
            if not chunk:
                raise RuntimeError(f"GET {path}: connection closed in the body")
            left -= len(chunk)
            if keep:
                parts.append(chunk)
        self.body, self.used = b"".join(parts), time.monotonic()
        return size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class RawBrowser:
    """One user's browser: up to :data:`BROWSER_CONNECTIONS` connections, each used by one
    request at a time."""

    def __init__(self, url: str, cookie: str) -> None:
        self.idle: asyncio.Queue[RawConnection] = asyncio.Queue()
        for _ in range(BROWSER_CONNECTIONS):
            self.idle.put_nowait(RawConnection(url, cookie))

    async def get(self, path: str, kind: str, out: Stats, keep: bool = False) -> bytes:
        conn = await self.idle.get()
        try:
            t = time.perf_counter()
            size = await conn.get(path, keep)
            out.setdefault(kind, []).append(time.perf_counter() - t)
            if kind == "cube download":
                out.setdefault("_bytes", []).append(size)
            return conn.body
        finally:
            self.idle.put_nowait(conn)

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait().close()


async def client_loop(url: str, cookie: str, paths: list[tuple[str, str]], cube: str,
                      rounds: int, deadline: float, out: Stats) -> None:  # fmt: skip
    """Saturation: ``rounds`` times through ``paths`` with no pause; one cube download."""
    conn = RawConnection(url, cookie)
    try:
        for r in range(rounds):
            for kind, path in paths:
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                await conn.get(path)
                out.setdefault(kind, []).append(time.perf_counter() - t)
            if r == 0 and cube:
                t = time.perf_counter()
                out.setdefault("_bytes", []).append(await conn.get(cube))
                out.setdefault("cube download", []).append(time.perf_counter() - t)
    finally:
        conn.close()


def embedded(page: str, html: str, seen: set[str]) -> list[str]:
    """What a browser loads with ``page``: its images, scripts and style sheets, minus what it
    has in its cache already (``seen``)."""
    out = []
    for src in EMBEDDED.findall(html):
        path = urljoin(page, src.replace("&amp;", "&"))
        if path.startswith("/") and path not in seen:
            seen.add(path)
            out.append(path)
    return out


async def page_view(browser: RawBrowser, page: str, then: list[tuple[str, str]],
                    seen: set[str], out: Stats) -> None:  # fmt: skip
    """A page, its embedded files in parallel, then what its script asks for (``then``)."""
    t = time.perf_counter()
    html = (await browser.get(page, "page", out, keep=True)).decode("utf-8", "replace")
    parts = embedded(page, html, seen)
    await asyncio.gather(*(browser.get(p, "image" if ".png" in p else "static asset", out)
                           for p in parts))  # fmt: skip
    for kind, path in then:
        await browser.get(path, kind, out)
    out.setdefault("view", []).append(time.perf_counter() - t)


def view_kinds(base: str, num: int, shape: tuple[int, int, int]):
    """The five kinds of page view, each a function of the user's random generator."""
    nchan, ny, nx = shape
    o = f"{base}/o/{num}"
    return [
        lambda rng: (f"{base}/", []),
        lambda rng: (f"{o}/", []),
        lambda rng: (f"{base}/files/{num}/README.html", []),
        lambda rng: (f"{o}/spectrum", [("spectrum.json", f"{o}/spectrum.json?"
                     f"x={rng.randrange(nx)}&y={rng.randrange(ny)}")]),  # fmt: skip
        lambda rng: (f"{o}/cube", [("channel png", f"{o}/cube/0/chan/{rng.randrange(nchan)}.png")]),
    ]


async def browsing_user(url: str, cookie: str, kinds, cube: str, seconds: float, seed: int,
                        out: Stats) -> None:  # fmt: skip
    """One user's browser for ``seconds``: view, think, view, ...; one cube download."""
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    browser = RawBrowser(url, cookie)

    async def download_later(delay: float) -> None:
        await asyncio.sleep(delay)
        await browser.get(cube, "cube download", out)

    fetch = asyncio.create_task(download_later(rng.uniform(0, seconds / 2))) if cube else None
    seen: set[str] = set()
    try:
        await asyncio.sleep(rng.uniform(0, THINK_MAX))  # users arrive spread out
        while time.monotonic() < end:
            page, then = rng.choice(kinds)(rng)
            await page_view(browser, page, then, seen, out)
            await asyncio.sleep(rng.uniform(THINK_MIN, THINK_MAX))
        if fetch is not None:
            await fetch
    finally:
        browser.close()
