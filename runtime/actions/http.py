"""The HTTP plugin (httpx): FetchUrl, HttpRequest and HttpGet/Post/Put/Delete/Patch/Head."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from weboter.runtime.core.catalog import ActionContext, ActionSpec, Plugin
from weboter.runtime.core.hosts import WIDEN
from weboter.runtime.errors import ActionError


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (the system's trusted certificates, verified) for every request of this
    process: building one reads the whole certificate bundle, ~50 ms of CPU per request when
    each client made its own (measured on the bench machine)."""
    return httpx.create_ssl_context()


def _client(ctx: ActionContext, timeout: float) -> httpx.AsyncClient:
    """A client that follows redirects only within the run's reach: every request, each
    redirect hop included, is checked against the run's host rule first."""

    async def within_reach(request: httpx.Request) -> None:
        why = ctx.hosts.refusal(str(request.url)) if ctx.hosts is not None else None
        if why is not None:
            raise ActionError(
                f"node {ctx.node_id!r}: {request.method} {request.url} was refused: {why}",
                hint=WIDEN,
            )

    return httpx.AsyncClient(
        follow_redirects=True,
        timeout=timeout,
        verify=_tls(),
        event_hooks={"request": [within_reach]},
    )


async def fetch_url(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    url = str(inputs["url"])
    try:
        async with _client(ctx, float(inputs["timeout"])) as c:
            response = await c.get(url)
    except httpx.HTTPError as exc:
        raise ActionError(f"fetching {url} failed: {type(exc).__name__}: {exc}") from exc
    if inputs.get("encoding"):
        response.encoding = inputs["encoding"]
    return {
        "content": response.text,
        "final_url": str(response.url),
        "status_code": response.status_code,
    }


async def http_request(ctx: ActionContext, inputs: dict[str, Any]) -> dict[str, Any]:
    """HttpRequest: the method is the `method` input."""
    return await send(ctx, inputs, verb=str(inputs.get("method") or "GET"))


async def send(ctx: ActionContext, inputs: dict[str, Any], *, verb: str) -> dict[str, Any]:
    """One request with `verb` (HttpGet, HttpPost, ...: the verb is in the action's name)."""
    verb = verb.upper()
    url = str(inputs["url"])
    kwargs: dict[str, Any] = {
        "headers": inputs.get("headers") or None,
        "params": inputs.get("params") or None,
    }
    if inputs.get("json_body") is not None:
        kwargs["json"] = inputs["json_body"]
    elif inputs.get("form_body") is not None:
        kwargs["data"] = inputs["form_body"]
    elif inputs.get("body") is not None:
        body = inputs["body"]
        kwargs["content"] = body if isinstance(body, bytes) else str(body).encode()
    try:
        async with _client(ctx, float(inputs["timeout"])) as c:
            response = await c.request(verb, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ActionError(f"{verb} {url} failed: {type(exc).__name__}: {exc}") from exc
    try:
        parsed = response.json() if response.content else None
    except ValueError:
        parsed = None
    return {
        "status_code": response.status_code,
        "headers": dict(response.headers),
        "body": response.text,
        "json": parsed,
        "ok": response.is_success,
    }


_HTTP_DEFAULTS = {
    "method": "GET",
    "headers": {},
    "timeout": 15.0,
    "params": {},
    "json_body": None,
    "form_body": None,
    "body": None,
}
_HTTP_OUTPUTS = ("status_code", "headers", "body", "json", "ok")
# HttpGet, HttpPost, ...: the method is in the name, so there is no `method` input
_VERB_DEFAULTS = {k: v for k, v in _HTTP_DEFAULTS.items() if k != "method"}

PLUGIN = Plugin(
    name="http",
    actions=[
        ActionSpec(
            "builtin.FetchUrl",
            fetch_url,
            required=("url",),
            defaults={"timeout": 15.0, "encoding": None},
            outputs=("content", "final_url", "status_code"),
            is_async=True,
        ),
        ActionSpec(
            "http.HttpRequest",
            http_request,
            required=("url",),
            defaults=_HTTP_DEFAULTS,
            outputs=_HTTP_OUTPUTS,
            is_async=True,
        ),
        *(
            ActionSpec(
                f"http.Http{verb.capitalize()}",
                functools.partial(send, verb=verb),
                required=("url",),
                defaults=_VERB_DEFAULTS,
                outputs=_HTTP_OUTPUTS,
                is_async=True,
            )
            for verb in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")
        ),
    ],
)
