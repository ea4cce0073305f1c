"""The dev UI's web app (Starlette): the page and its files, a JSON API over the log and the
UI's engine, and the live stream (docs/ui.md lists every route).

    app, engines = build_app(db_path, settings, token=..., hosts=..., loopback=True)
    uvicorn.run(app, ...)      # `weboter ui` does this
    engines.stop()
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.catalog import describe as describe_spec
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.settings import Settings
from weboter.runtime.engine.shared import Engines
from weboter.runtime.errors import UsageError, WeboterError
from weboter.runtime.mcp.common import Log
from weboter.runtime.mcp.reads import runs_of
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.verify import diff
from weboter.runtime.ui import reads
from weboter.runtime.ui.commands import Commands
from weboter.runtime.ui.guard import COOKIE, Guard
from weboter.runtime.ui.live import stream
from weboter.runtime.ui.marks import NodeMarks

STATIC = Path(__file__).parent / "static"
ARTIFACT = re.compile(r"^[0-9a-f]{64}\.(png|html|json)$")
# the page runs only its own scripts and styles; artifacts never run anything
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
TYPES = {"png": "image/png", "html": "text/plain; charset=utf-8", "json": "application/json"}
VERBS = ("continue", "step", "over", "stop", "pause")

Handler = Callable[[Request], Awaitable[Response]]


def build_app(
    db_path: Path,
    settings: Settings,
    *,
    token: str,
    hosts: set[str],
    loopback: bool,
    env: EnvSource | None = None,
) -> tuple[Starlette, Engines]:
    """The app for the log at `db_path`, and the engine holder that drives its runs."""
    EventLog(db_path).close()  # made now if need be: the page works from the start
    log, marks = Log(db_path), NodeMarks()
    engines = Engines(settings, env or EnvSource())
    commands = Commands(db_path, engines)
    artifacts = ArtifactStore.beside(db_path)
    catalog = default_catalog()

    def reading(fn: Callable[..., Any]) -> Handler:
        """A GET answered from the log in a worker thread; WeboterError → 4xx said clearly."""

        async def handler(request: Request) -> Response:
            def work() -> Any:
                with log() as events:
                    return fn(events, request)

            return await _answered(work)

        return handler

    def changing(fn: Callable[[Request, dict[str, Any]], Any]) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                body = await request.json() if await request.body() else {}
            except ValueError:
                return _error(400, "the request body is not JSON", "send a JSON object")
            if not isinstance(body, dict):
                return _error(400, "the request body must be a JSON object", "")
            return await _answered(lambda: fn(request, body))

        return handler

    async def page(request: Request) -> Response:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        response = HTMLResponse(html.replace("{{TOKEN}}", token))
        if request.query_params.get("token") == token:  # the printed URL: remember it
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def artifact(request: Request) -> Response:
        name = request.path_params["name"]
        if not ARTIFACT.match(name):
            return _error(404, f"no artifact {name!r}", "artifact names come from the run's events")
        path = artifacts.path(name)
        if not path.is_file():
            return _error(404, f"artifact {name} is not in {artifacts.root}", "")
        # a page's DOM is shown as text, in a sandbox: it never runs in the UI's origin
        headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=TYPES[name.rsplit(".", 1)[1]], headers=headers)

    def verb(name: str) -> Handler:
        return changing(lambda r, _b: commands.drive(r.path_params["run"], name))

    routes = [
        Route("/", page),
        Route("/favicon.ico", lambda _r: Response(status_code=204)),
        Route("/api/runs", reading(lambda _e, r: runs_of(log, _limit(r, 200, 500)))),
        Route("/api/runs", changing(lambda _r, b: commands.start(b)), methods=["POST"]),
        Route("/api/catalog", reading(lambda _e, _r: _catalog(catalog))),
        Route(
            "/api/runs/{run}",
            reading(lambda e, r: reads.run_view(e, catalog, marks, r.path_params["run"])),
        ),
        Route(
            "/api/runs/{run}/at/{version:int}",
            reading(
                lambda e, r: reads.at_version(e, r.path_params["run"], r.path_params["version"])
            ),
        ),
        Route(
            "/api/runs/{run}/events",
            reading(
                lambda e, r: reads.events_page(
                    e, r.path_params["run"], _int(r, "after", 0), _limit(r, 100, reads.MAX_EVENTS)
                )
            ),
        ),
        Route("/api/diff", reading(_diff)),
        Route("/api/artifacts/{name}", artifact),
        Route("/api/stream", lambda r: stream(r, log)),
        *[Route(f"/api/runs/{{run}}/{v}", verb(v), methods=["POST"]) for v in VERBS],
        *[
            Route(f"/api/runs/{{run}}/{name}", changing(_on_run(fn)), methods=["POST"])
            for name, fn in (
                ("breakpoint", commands.breakpoint),
                ("variable", commands.set_variable),
                ("rewind", commands.rewind),
                ("patch", commands.patch),
                ("repair", commands.repair),
                ("reject", commands.reject),
                ("fork", commands.fork),
            )
        ],
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Guard, token=token, hosts=hosts, loopback=loopback),
            Middleware(_Policy),
        ],
    )
    return app, engines


def _on_run(fn: Callable[[str, dict[str, Any]], Any]) -> Callable[[Request, dict[str, Any]], Any]:
    return lambda request, body: fn(request.path_params["run"], body)


async def _answered(work: Callable[[], Any]) -> Response:
    try:
        return JSONResponse(await anyio.to_thread.run_sync(work))
    except WeboterError as exc:
        status = 404 if type(exc).__name__ == "RunNotFound" else 409
        if isinstance(exc, UsageError) or type(exc).__name__.startswith("Workflow"):
            status = 400
        return _error(status, exc.message, exc.hint, kind=type(exc).__name__, exc=exc)


def _error(
    status: int, message: str, hint: str, *, kind: str = "", exc: Any = None
) -> JSONResponse:
    findings = [
        {"severity": f.severity, "path": f.path, "message": f.message}
        for f in getattr(exc, "findings", None) or []
    ]
    body = {"error": {"kind": kind, "message": message, "hint": hint, "findings": findings}}
    return JSONResponse(body, status_code=status)


def _catalog(catalog: Any) -> dict[str, Any]:
    return {
        "actions": [describe_spec(s) for s in catalog.actions.values()],
        "controls": [describe_spec(s) for s in catalog.controls.values()],
    }


def _diff(events: EventLog, request: Request) -> dict[str, Any]:
    a, b = request.query_params.get("a"), request.query_params.get("b")
    if not a or not b:
        raise UsageError("give two runs: /api/diff?a=RUN&b=RUN")
    run_a, run_b = events.resolve_run_id(a), events.resolve_run_id(b)
    found = diff(events, run_a, run_b)
    from weboter.runtime.core.references import display  # noqa: PLC0415

    return {
        "a": run_a,
        "b": run_b,
        "first_divergence": found.first_divergence,
        "only_a": found.only_a,
        "only_b": found.only_b,
        "steps": display(found.steps),
    }


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"{name} must be a whole number (got {raw!r})") from None


def _limit(request: Request, default: int, most: int) -> int:
    return max(1, min(_int(request, "limit", default), most))


class _Policy:
    """Every answer carries the content security policy and no-sniff (pure ASGI)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", POLICY.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
