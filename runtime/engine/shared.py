"""One engine shared by a long-lived server process (the MCP server, the dev UI): started on
first use, so a server that only reads never starts Chromium; stopped with the server, after
pausing the runs it still drives (any process can continue them)."""

from __future__ import annotations

import threading

from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings


class Engines:
    """The server's one engine, started on first use, stopped with the server."""

    def __init__(self, settings: Settings, env: EnvSource, *, name: str = "the server") -> None:
        self.settings = settings
        self.env = env
        self.name = name
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = Engine(self.settings, env=self.env).start()
            return self._engine

    def stop(self) -> None:
        """Pause the runs this server still drives, then stop the engine."""
        with self._lock:
            if self._engine is not None:
                try:
                    self._engine.pause_driven(f"{self.name} stopped")
                finally:  # whatever happened, no actor and no Chromium outlives the server
                    self._engine.stop()
                    self._engine = None
