"""New attempts and their jobs: the form, the launch, the job page (progress and log by
server-sent events, JSON polling as the fallback), the log download, cancel and the history.

Reading a job needs read access to its project; launching and cancelling need the runner
role (``runner`` or ``owner``; staff are owners). A public project's visitors read, never run.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from ..attempts import BASE
from ..errors import ConfigError
from . import jobs, overlay
from .access import Db, LoginRequired, Project, ProjectAccess, settings_of
from .catalog import is_label
from .db import connect
from .runner import reproduce_command
from .security import client_ip, require_csrf
from .templating import render

router = APIRouter()
RUN_ROLES = ("runner", "owner")
LOG_CHUNK = 64 * 1024
SSE_PERIOD_S = 0.5
MAX_INT = 2**63 - 1
"""The largest job id (SQLite's INTEGER) and log offset (a file offset) a URL may name; a
larger number is refused (422) before it reaches the database or a seek."""
JobId = Annotated[int, Path(ge=1, le=MAX_INT)]


def require_runner(project: Project) -> None:
    if project.user is None:
        raise LoginRequired()
    if project.role not in RUN_ROLES:
        raise HTTPException(403, f"launching needs the runner role in {project.pid}; ask its "
                            "owner or the observatory staff")  # fmt: skip


async def body_cap(request: Request) -> None:
    """413 for a body over :data:`lmtflow.web.overlay.MAX_BODY`, before anything parses it."""
    limit = overlay.MAX_BODY
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body over {limit // 1024} KB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"request body over {limit // 1024} KB")
    request._body = body  # what request.form() reads next (Starlette caches the body there)


def _job_or_404(db: sqlite3.Connection, project: Project, job_id: int) -> sqlite3.Row:
    job = jobs.get_job(db, job_id)
    if job is None or job["pid"] != project.pid:
        raise HTTPException(404, "no such job")
    return job


def _form_page(request: Request, project: Project, scope: str, name: str, yaml_text: str,
               values: dict[str, str] | None = None, errors: list[str] | None = None,
               previous: dict | None = None, status: int = 200) -> Response:  # fmt: skip
    settings = settings_of(request)
    base = overlay.project_config(settings.work_lmt, project.pid)
    fields = overlay.form_fields(base, previous)
    if values:
        fields = [overlay.Field(f.step, f.key, values.get(f.name, f.current), f.default, f.help)
                  for f in fields]  # fmt: skip
    steps: dict[str, list[overlay.Field]] = {}
    for f in fields:
        steps.setdefault(f.step, []).append(f)
    return render(request, "attempt_new.html", status_code=status, project=project, scope=scope,
                  attempt_name=name, yaml_text=yaml_text, steps=steps,
                  errors=errors or [])  # fmt: skip


@router.get("/p/{pid}/attempts/new")
def new_attempt(
    request: Request,
    project: ProjectAccess,
    db: Db,
    obs: Annotated[str, Query(max_length=200)] = "",
    job: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
) -> Response:
    """The form; ``obs`` the ObsNum or combination it was opened from, ``job`` a past job to
    relaunch with edits (its name and values filled in)."""
    require_runner(project)
    if obs and not is_label(obs):
        raise HTTPException(404, "no such ObsNum or combination")
    name, previous, text = "", None, ""
    if job is not None:
        old = _job_or_404(db, project, job)
        name, previous = old["attempt"], json.loads(old["overlay_json"])
        obs = obs or old["scope"]
        text = ""
    return _form_page(request, project, obs, name, text, previous=previous)


@router.post("/p/{pid}/attempts", dependencies=[Depends(body_cap), Depends(require_csrf)])
async def launch_attempt(request: Request, project: ProjectAccess, db: Db) -> Response:
    """Validate the overlay (attempt schema only), queue the job, 303 to its page."""
    require_runner(project)
    settings = settings_of(request)
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if "." in k}
    name = str(form.get("name", "")).strip()
    scope = str(form.get("scope", "")).strip()
    text = str(form.get("yaml", ""))
    if scope and (not is_label(scope) or not (project.root / scope).is_dir()):
        raise HTTPException(404, "no such ObsNum or combination in this project")
    base = overlay.project_config(settings.work_lmt, project.pid)
    errors: list[str] = []
    try:
        from_fields, errors = overlay.overlay_from_form(values, base)
        chosen = overlay.merge(from_fields, overlay.parse_yaml_box(text))
        checked = overlay.check_overlay(name, chosen)
        if name == BASE or not name:
            raise ConfigError("give the attempt a name (letters, digits, _ and -; not 'base')")
        if not any(checked.values()):
            raise ConfigError("the attempt changes nothing: set at least one value")
    except ConfigError as exc:
        errors += str(exc).splitlines()
    if errors:
        return _form_page(request, project, scope, name, text, values, errors, status=422)
    config = overlay.job_config(settings.work_lmt, settings.data_lmt, project.pid, scope, name,
                                checked, jobs.known_attempts(db, project.pid))  # fmt: skip
    try:
        job_id, _ = jobs.launch(db, settings, project.pid, scope, name, overlay.canonical(checked),
                                config, project.user.name, client_ip(request))  # fmt: skip
    except jobs.LaunchRefused as exc:
        return _form_page(request, project, scope, name, text, values, [str(exc)],
                          status=exc.status)  # fmt: skip
    request.app.state.dispatcher.wake.set()
    return RedirectResponse(f"/p/{project.pid}/jobs/{job_id}", status_code=303)


def job_view(db: sqlite3.Connection, job: sqlite3.Row) -> dict[str, Any]:
    """What the job page and the status JSON show."""
    total = job["total"]
    done = job["done"]
    if job["state"] == "succeeded" and not total:
        done = total = 0
    percent = 100 if job["state"] == "succeeded" else (int(100 * done / total) if total else 0)
    return {"id": job["id"], "state": job["state"], "done": done, "total": total,
            "percent": percent, "position": jobs.queue_position(db, job),
            "error": job["error"], "started": job["started_utc"],
            "ended": job["ended_utc"]}  # fmt: skip


def _log_chunk(request: Request, job_id: int, offset: int) -> tuple[str, int]:
    path = jobs.job_dir(settings_of(request).work_lmt, job_id) / "log.txt"
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(LOG_CHUNK)
    except OSError:
        return "", offset
    return data.decode("utf-8", errors="replace"), offset + len(data)


@router.get("/p/{pid}/jobs/")
def job_history(request: Request, project: ProjectAccess, db: Db) -> Response:
    rows = db.execute("SELECT * FROM jobs WHERE pid = ? ORDER BY id DESC LIMIT 500",
                      (project.pid,)).fetchall()  # fmt: skip
    return render(request, "jobs.html", project=project, jobs=rows,
                  durations={r["id"]: _duration(r) for r in rows},
                  can_run=project.role in RUN_ROLES)  # fmt: skip


def _duration(job: sqlite3.Row) -> str:
    if not job["started_utc"]:
        return ""
    end = jobs._age_s(job["ended_utc"]) if job["ended_utc"] else 0.0
    seconds = jobs._age_s(job["started_utc"]) - end
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


@router.get("/p/{pid}/jobs/{job_id}")
def job_page(request: Request, job_id: JobId, project: ProjectAccess, db: Db) -> Response:
    job = _job_or_404(db, project, job_id)
    settings = settings_of(request)
    cmd = shlex.join(reproduce_command(job_id, job["attempt"], settings.work_lmt, project.pid,
                                       settings.runner))  # fmt: skip
    scope = job["scope"]
    return render(request, "job.html", project=project, job=job, view=job_view(db, job),
                  command=cmd, overlay_yaml=overlay.yaml_text(json.loads(job["overlay_json"])),
                  scope=scope, can_run=project.role in RUN_ROLES,
                  duration=_duration(job))  # fmt: skip


@router.get("/p/{pid}/jobs/{job_id}/status.json")
def job_status(request: Request, job_id: JobId, project: ProjectAccess, db: Db,
               offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> Response:  # fmt: skip
    """The polling fallback: state, progress and the log from ``offset``."""
    job = _job_or_404(db, project, job_id)
    text, end = _log_chunk(request, job_id, offset)
    return JSONResponse({**job_view(db, job), "log": text, "offset": end})


class StreamSlots:
    """Open event streams per user and in all, in one server process (an event stream holds
    a connection and a database handle for as long as a job runs, so a page reloaded in a
    loop or a script must not hold hundreds; the job page falls back to polling on 429)."""

    def __init__(self) -> None:
        self.by_user: Counter[str] = Counter()

    def take(self, who: str, per_user: int, total: int) -> Callable[[], None]:
        """A release function for a new stream of ``who``; 429 beyond a cap."""
        if self.by_user[who] >= per_user:
            raise HTTPException(429, f"you have {self.by_user[who]} live job pages open (at "
                                f"most {per_user}); close some", headers={"Retry-After": "10"})
        if self.by_user.total() >= total:
            raise HTTPException(429, "the server has too many live job pages open; try again "
                                "in a minute", headers={"Retry-After": "30"})  # fmt: skip
        self.by_user[who] += 1
        released = []

        def release() -> None:
            if not released:
                released.append(True)
                self.by_user[who] -= 1
                if self.by_user[who] <= 0:
                    del self.by_user[who]

        return release


class _CountedStream(StreamingResponse):
    """A streaming response that gives its slot back however it ends (done, client gone,
    server shutdown)."""

    def __init__(self, content: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _stream_slots(request: Request) -> StreamSlots:
    state = request.app.state
    if not hasattr(state, "stream_slots"):
        state.stream_slots = StreamSlots()
    return state.stream_slots


@router.get("/p/{pid}/jobs/{job_id}/events")
async def job_events(request: Request, job_id: JobId, project: ProjectAccess, db: Db) -> Response:
    """Server-sent events: ``status`` (JSON) when it changes and ``log`` (new text) as it
    grows, until the job ends (then ``end``). At most ``runner.max_streams_per_user`` open
    per user (per address for anonymous readers) and ``runner.max_streams`` in all."""
    _job_or_404(db, project, job_id)
    settings = settings_of(request)
    database = settings.database
    who = f"user:{project.user.name}" if project.user else f"ip:{client_ip(request)}"
    release = _stream_slots(request).take(who, settings.runner["max_streams_per_user"],
                                          settings.runner["max_streams"])  # fmt: skip
    start = request.headers.get("last-event-id", "0")
    offset = int(start) if start.isascii() and start.isdigit() and len(start) < 19 else 0

    async def stream():
        nonlocal offset
        conn = connect(database)
        last = None
        try:
            while True:
                job = jobs.get_job(conn, job_id)
                view = job_view(conn, job)
                text, offset = _log_chunk(request, job_id, offset)
                if text:
                    data = "\n".join(f"data: {line}" for line in text.split("\n"))
                    yield f"id: {offset}\nevent: log\n{data}\n\n"
                if view != last:
                    yield f"event: status\ndata: {json.dumps(view)}\n\n"
                    last = view
                if view["state"] in jobs.TERMINAL and not text:
                    yield "event: end\ndata: {}\n\n"
                    return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(SSE_PERIOD_S)
        finally:
            conn.close()

    return _CountedStream(stream(), release, media_type="text/event-stream",
                          headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/p/{pid}/jobs/{job_id}/log")
def job_log(request: Request, job_id: JobId, project: ProjectAccess, db: Db) -> Response:
    _job_or_404(db, project, job_id)
    path = jobs.job_dir(settings_of(request).work_lmt, job_id) / "log.txt"
    if not path.is_file():
        raise HTTPException(404, "the job has no log yet")
    return FileResponse(path, media_type="text/plain; charset=utf-8",
                        filename=f"{project.pid}-job{job_id}.log")  # fmt: skip


@router.post("/p/{pid}/jobs/{job_id}/cancel", dependencies=[Depends(require_csrf)])
def cancel_job(request: Request, job_id: JobId, project: ProjectAccess, db: Db) -> Response:
    require_runner(project)
    _job_or_404(db, project, job_id)
    jobs.request_cancel(db, job_id)
    request.app.state.dispatcher.wake.set()
    return RedirectResponse(f"/p/{project.pid}/jobs/{job_id}", status_code=303)

