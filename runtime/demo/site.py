"""`weboter demo --serve`: the demo site on loopback until Ctrl-C or SIGTERM, for the browser
examples (examples/*.yaml say which URL each takes): the shop (`/login`, `/products`,
`/product/N`; user `demo`, password `demo-pass-123`) and the test pages (`/pages/...`)."""

from __future__ import annotations

import errno
import signal
import threading
from collections.abc import Callable
from typing import Any

from weboter.runtime.demo.shop import PASSWORD, USER, ShopServer
from weboter.runtime.errors import TransportError

DEFAULT_PORT = 8000  # the examples' comments name http://127.0.0.1:8000


def open_site(port: int) -> ShopServer:
    """The demo site bound to 127.0.0.1:`port` (0: any free port), not serving yet; a taken
    port says so and what to do."""
    try:
        return ShopServer(port=port)
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        what = (
            "is already in use by another program"
            if exc.errno == errno.EADDRINUSE
            else ("may not be used by this account (ports below 1024 need root)")
        )
        raise TransportError(
            f"127.0.0.1:{port} {what}: the demo site cannot listen there",
            hint="stop that program (a demo site started before?), or choose another port: "
            f"`weboter demo --serve --port {port + 1 if port else DEFAULT_PORT + 1}`, and give "
            "the examples that URL (--var shop_url=... / --var pages_url=.../pages)",
        ) from None


def serve_site(
    port: int, ready: Callable[[ShopServer], None], stop: threading.Event | None = None
) -> None:
    """Serve the demo site on 127.0.0.1:`port` and call `ready(site)` once it answers; return
    when `stop` is set (by default: at SIGINT or SIGTERM)."""
    site = open_site(port)
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with site:
            ready(site)
            while not stop.wait(0.5):  # a signal handler runs between waits
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def described(url: str) -> str:
    """What `weboter demo --serve` prints: where, the log-in, and the examples to run on it."""
    pages = f"{url}/pages"
    return (
        f"demo site at {url}; stop with Ctrl-C\n"
        f"  shop        {url}/login  (user {USER}, password {PASSWORD})\n"
        f"  test pages  {pages}/playground.html, {pages}/second.html\n"
        "run the browser examples on it:\n"
        f"  weboter run examples/forms_and_elements.yaml --var pages_url={pages}\n"
        f"  weboter run examples/tabs_frames_js.yaml --var pages_url={pages}\n"
        f"  SHOP_USER={USER} SHOP_PASSWORD={PASSWORD} weboter run "
        f"examples/login_and_paginate.yaml --var shop_url={url} --var out=products.json"
    )
