"""`weboter demo`: start the shop on loopback, scrape it in headless Chromium, write a CSV."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from weboter.runtime.core.loader import load_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import decode_event
from weboter.runtime.store.reading import Reader

WORKFLOW = Path(__file__).parent / "shop_workflow.yaml"


class ProductBar:
    """A progress bar over the shop's products, fed by the run's event stream."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = sys.stderr.isatty()

    def __call__(self, header: dict[str, Any], payload: bytes) -> None:
        if header["type"] != "NodeCompleted":
            return
        event = decode_event("NodeCompleted", header["schema_version"], payload)
        if getattr(event, "node_id", "") == "read":
            self.done += 1
            self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // max(self.total, 1)
        line = f"  [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} products"
        if self.tty:
            print(
                f"\r{line}", end="" if self.done < self.total else "\n", file=sys.stderr, flush=True
            )
        else:
            print(line, file=sys.stderr, flush=True)


def run_demo(
    db_path: Path, out: Path, *, quiet: bool, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the demo; returns the summary (status, rows, file, run id, seconds)."""
    workflow = load_workflow(WORKFLOW)
    env = EnvSource({"shop": {"user": USER, "password": PASSWORD}}, use_os=False)
    started = time.monotonic()
    bar = ProductBar(len(PRODUCTS), enabled=not quiet)
    with ShopServer() as shop:
        if not quiet:
            print(
                f"demo shop at {shop.url}; scraping it in headless Chromium ...",
                file=sys.stderr,
                flush=True,
            )
        # the CSV goes where the person asked for it: that folder is allowed for this run
        chosen = {"allow_paths": [out.resolve().parent], **(settings or {})}
        engine = Engine(Settings(db_path=db_path, **chosen), env=env).start()
        try:
            with engine.client() as client:
                run_id = client.submit(
                    workflow,
                    source=str(WORKFLOW),
                    variables={"base_url": shop.url, "out": str(out), "rows": []},
                )
                ended = client.wait(run_id, on_event=bar, timeout=600)
        finally:
            engine.stop()
    with Reader(db_path) as log:
        state = log.state(run_id)
    return {
        "status": ended.status,
        "rows": len(state.globals.get("rows") or []),
        "file": str(out),
        "run_id": run_id,
        "seconds": round(time.monotonic() - started, 2),
        "error": ended.error.message if ended.error else None,
    }
