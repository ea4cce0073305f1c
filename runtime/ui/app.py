"""The dev UI's web app (Starlette): the page and its files, a JSON API over the log and the
UI's engine, and the live stream (docs/ui.md lists every route). Every route answers at `/`
(scripts, with the token in a header) and under the page's own path (the browser, whose cookie
is scoped to that path: guard.py says why).

    app, engines = build_app(db_path, settings, token=..., hosts=..., loopback=True, port=...)
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
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.settings import Settings
from weboter.runtime.engine.shared import Engines
from weboter.runtime.errors import UsageError, WeboterError
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.views import comparison
from weboter.runtime.ui import actions, reads, runlist
from weboter.runtime.ui.commands import Commands
from weboter.runtime.ui.guard import Guard, cookie_name, matches, page_path
from weboter.runtime.ui.outline import Outlines
from weboter.runtime.ui.sse import stream

STATIC = Path(__file__).parent / "static"
ARTIFACT = re.compile(r"[0-9a-f]{64}\.(png|html)")  # screenshots and DOMs; never storage
# the page runs only its own scripts and styles; artifacts never run anything
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
TYPES = {"png": "image/png", "html": "text/plain; charset=utf-8"}
VERBS = ("continue", "step", "over", "stop", "pause")

Handler = Callable[[Request], Awaitable[Response]]


def build_app(
    db_path: Path,
    settings: Settings,
    *,
    token: str,
    hosts: set[str],
    loopback: bool,
    port: int,
    env: EnvSource | None = None,
) -> tuple[Starlette, Engines]:
    """The app for the log at `db_path`, and the engine holder that drives its runs."""
    Reader(db_path, create=True).close()  # made now if need be: the page works from the start
    # runs see `$env` only from what the caller gives (`weboter ui --env-file/--env-allow`):
    # none of this process's environment by default
    engines = Engines(settings, env or EnvSource(os_allow=(), holder="the UI"), name="the UI")
    cookie, page = cookie_name(port), page_path(token)
    handlers = _Handlers(db_path, Commands(db_path, engines), token, cookie, page)
    routes = _routes(handlers)
    app = Starlette(
        routes=[*routes, Mount(page, routes=routes)],
        middleware=[
            Middleware(Guard, token=token, hosts=hosts, loopback=loopback, cookie=cookie),
            Middleware(_Policy),
        ],
    )
    return app, engines


class _Handlers:
    """What answers a request: reads in a worker thread, changes from a JSON body."""

    def __init__(
        self, db_path: Path, commands: Commands, token: str, cookie: str, page: str
    ) -> None:
        self.db_path, self.outlines, self.commands, self.token = (
            db_path,
            Outlines(),
            commands,
            token,
        )
        self.cookie, self.page_path = cookie, page
        self.artifacts = ArtifactStore.beside(db_path)
        self.catalog = default_catalog()

    def reading(self, fn: Callable[[Reader, Request], Any]) -> Handler:
        """A GET answered from the log in a worker thread; WeboterError → 4xx said clearly."""

        async def handler(request: Request) -> Response:
            def work() -> Any:
                with Reader(self.db_path) as log:
                    return fn(log, request)

            return await _answered(work)

        return handler

    def changing(self, fn: Callable[[Request, dict[str, Any]], Any]) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                body = await request.json() if await request.body() else {}
            except ValueError:
                return _error(400, "the request body is not JSON", "send a JSON object")
            if not isinstance(body, dict):
                return _error(400, "the request body must be a JSON object", "")
            return await _answered(lambda: fn(request, body))

        return handler

    def on_run(self, fn: Callable[[str, dict[str, Any]], Any]) -> Handler:
        return self.changing(lambda request, body: fn(request.path_params["run"], body))

    def verb(self, name: str) -> Handler:
        return self.changing(lambda r, _b: self.commands.drive(r.path_params["run"], name))

    async def page(self, request: Request) -> Response:
        """The page (the guard let only a request with the token in). Opened with the printed
        URL, it moves to its own path, with the token in a cookie scoped to that path alone (no
        other service on the host is sent it) and no longer in the address bar."""
        if matches(request.query_params.get("token", ""), self.token):
            response: Response = RedirectResponse(f"{self.page_path}/", status_code=303)
            response.set_cookie(
                self.cookie, self.token, path=self.page_path, httponly=True, samesite="strict"
            )
            return response
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("{{TOKEN}}", self.token))

    async def artifact(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not ARTIFACT.fullmatch(name):
            return _error(404, f"no artifact {name!r}", "artifact names come from the run's events")
        path = self.artifacts.path(name)
        if not path.is_file():
            return _error(404, f"artifact {name} is not in {self.artifacts.root}", "")
        # a page's DOM is shown as text, in a sandbox: it never runs in the UI's origin
        headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=TYPES[name.rsplit(".", 1)[1]], headers=headers)


def _routes(h: _Handlers) -> list[Any]:  # table: every route of docs/ui.md
    c, run = h.commands, "/api/runs/{run}"
    return [
        Route("/", h.page),
        Route("/favicon.ico", lambda _r: Response(status_code=204)),
        Route("/api/runs", h.reading(lambda e, r: runlist.answer(e, r.query_params))),
        Route("/api/runs", h.changing(lambda _r, b: c.start(b)), methods=["POST"]),
        Route("/api/catalog", h.reading(lambda _e, _r: h.catalog.described())),
        Route(run, h.reading(lambda e, r: reads.run_view(e, h.catalog, h.outlines, _run(r)))),
        Route(
            f"{run}/at/{{seq:int}}",
            h.reading(lambda e, r: reads.at_seq(e, h.outlines, _run(r), r.path_params["seq"])),
        ),
        Route(
            f"{run}/steps",
            h.reading(
                lambda e, r: actions.actions_page(
                    e, h.outlines, _run(r), _int(r, "after", 0), _limit(r, 200, actions.MAX_STEPS)
                )
            ),
        ),
        Route(
            f"{run}/steps/{{seq:int}}",
            h.reading(
                lambda e, r: actions.action_at(
                    e, h.outlines, h.artifacts, _run(r), r.path_params["seq"]
                )
            ),
        ),
        Route(
            f"{run}/events",
            h.reading(
                lambda e, r: reads.events_page(
                    e,
                    _run(r),
                    _int(r, "after", 0),
                    _limit(r, 100, reads.MAX_EVENTS),
                    r.query_params.get("q", "").strip(),
                )
            ),
        ),
        Route("/api/diff", h.reading(_diff)),
        Route("/api/artifacts/{name}", h.artifact),
        Route("/api/stream", lambda r: stream(r, h.db_path)),
        *[Route(f"{run}/{v}", h.verb(v), methods=["POST"]) for v in VERBS],
        Route(f"{run}/breakpoint", h.on_run(c.breakpoint), methods=["POST"]),
        Route(f"{run}/variable", h.on_run(c.set_variable), methods=["POST"]),
        Route(f"{run}/rewind", h.on_run(c.rewind), methods=["POST"]),
        Route(f"{run}/patch", h.on_run(c.patch), methods=["POST"]),
        Route(f"{run}/repair", h.on_run(c.repair), methods=["POST"]),
        Route(f"{run}/reject", h.on_run(c.reject), methods=["POST"]),
        Route(f"{run}/fork", h.on_run(c.fork), methods=["POST"]),
        Route(f"{run}/suggest", h.on_run(c.suggest), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def _run(request: Request) -> str:
    return str(request.path_params["run"])


async def _answered(work: Callable[[], Any]) -> Response:
    try:
        return JSONResponse(await anyio.to_thread.run_sync(work))
    except WeboterError as exc:
        status = {"RunNotFound": 404, "ModelError": 503}.get(type(exc).__name__, 409)
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


def _diff(log: Reader, request: Request) -> dict[str, Any]:
    a, b = request.query_params.get("a"), request.query_params.get("b")
    if not a or not b:
        raise UsageError("give two runs: /api/diff?a=RUN&b=RUN")
    run_a, run_b = log.run_id(a), log.run_id(b)
    return comparison(run_a, run_b, log.diff(run_a, run_b))


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(
            f"{name} must be a whole number (got {raw[:40]!r})", hint=f"e.g. {name}=100"
        ) from None
    if not -(2**63) < value < 2**63:  # what the log's numbers can be
        raise UsageError(f"{name} is out of range (got {raw[:40]})", hint=f"e.g. {name}=100")
    return value


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
