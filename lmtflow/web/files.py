"""The one route to files of the work tree: a path inside one project, checked, then streamed.

Refused (404, the same answer as a missing file): NUL bytes, absolute paths, ``..``, hidden
parts (``.snakemake/``, ``.lmtflow/``), a path that resolves (symlinks followed) outside the
project directory or into DATA_LMT, and suffixes outside :data:`SUFFIXES`. Files are streamed
by Starlette's FileResponse in chunks of :data:`CHUNK` (never read whole), with HTTP Range
(206) and ETag / Last-Modified; a revalidation whose ETag matches gets 304 without a body.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from fastapi import HTTPException
from fastapi.responses import FileResponse, Response

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
    ".yaml": "text/plain; charset=utf-8",
    ".badlags": "text/plain; charset=utf-8",
    ".blanking": "text/plain; charset=utf-8",
    ".fits": "application/fits",
    ".sdfits": "application/fits",
    ".zip": "application/zip",
}
SUFFIXES = frozenset(MEDIA_TYPES)
CHUNK = 256 * 1024
"""Bytes per read of a streamed file. Each chunk is a trip through the thread pool and the
middleware stack; 256 kB (Starlette's default is 64 kB) cuts a cube download's CPU per byte
four-fold so fifty downloads at once leave the CPU to page views, while holding only 256 kB per
download in memory."""
INLINE = {".html", ".png", ".json", ".txt", ".log", ".yaml", ".badlags", ".blanking"}


def _not_found() -> HTTPException:
    return HTTPException(404, "no such file")


def resolve_in_project(root: Path, rel: str, data_lmt: Path | None = None) -> Path:
    """The file ``rel`` names inside the (resolved) project directory ``root``; 404 otherwise."""
    if not rel or "\x00" in rel or "\\" in rel:
        raise _not_found()
    parts = PurePosixPath(rel).parts
    if PurePosixPath(rel).is_absolute() or any(p in ("..", ".") or p.startswith(".")
                                               for p in parts):  # fmt: skip
        raise _not_found()
    if Path(rel).suffix.lower() not in SUFFIXES:
        raise _not_found()
    try:
        path = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        raise _not_found() from None
    if not path.is_relative_to(root) or not path.is_file():
        raise _not_found()
    if data_lmt is not None and path.is_relative_to(data_lmt):
        raise _not_found()
    if any(p.startswith(".") for p in path.relative_to(root).parts):  # a symlink into .snakemake
        raise _not_found()
    return path


class StreamedFile(FileResponse):
    chunk_size = CHUNK


def file_response(path: Path, download: bool = False,
                  if_none_match: str | None = None) -> Response:  # fmt: skip
    """Stream ``path`` (Range-capable); products download as attachments, pages show inline.
    ``if_none_match``: the request's header; 304 when it names the file's current ETag."""
    suffix = path.suffix.lower()
    attach = download or suffix not in INLINE
    try:
        st = os.stat(path)  # once here, not again in the thread pool
    except OSError:
        raise _not_found() from None  # removed since it was resolved
    response = StreamedFile(
        path,
        media_type=MEDIA_TYPES[suffix],
        filename=path.name,
        content_disposition_type="attachment" if attach else "inline",
        headers={"Cache-Control": "private, max-age=60"},
        stat_result=st,
    )
    etag = response.headers["etag"]
    if if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
        keep = ("etag", "last-modified", "cache-control")
        return Response(status_code=304, headers={k: response.headers[k] for k in keep})
    return response
