"""A model server on loopback that speaks the OpenAI chat-completions API with scripted
replies — the one stand-in for a model the tests use. Each request takes the next reply of
the script: text content, an HTTP status (e.g. 429), or a delay before answering; every
request body is kept (to check what a model would have been told)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Reply:
    def __init__(self, content: str = "", *, status: int = 200, delay: float = 0.0) -> None:
        self.content, self.status, self.delay = content, status, delay


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        with self.server.lock:
            self.server.bodies.append(body)
            reply = self.server.script.pop(0) if self.server.script else Reply(status=500)
        if reply.delay:
            time.sleep(reply.delay)  # not a sync: the scripted slow server a timeout meets
        if reply.status != 200:
            payload = {"error": {"message": f"scripted {reply.status}", "type": "scripted"}}
            self._answer(reply.status, payload, {"retry-after": "0"})
            return
        model = json.loads(body).get("model", "scripted")
        self._answer(
            200,
            {
                "id": "chatcmpl-scripted",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    def _answer(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): nothing to answer


class ModelServer(ThreadingHTTPServer):
    """`with ModelServer([Reply(...), ...]) as model: model.base_url` (…/v1)."""

    daemon_threads = True

    def __init__(self, script: list[Reply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.bodies: list[str] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def env(self) -> dict[str, str]:
        """The environment that points Weboter at this server."""
        return {"WEBOTER_AI_BASE_URL": self.base_url, "WEBOTER_AI_MODEL": "scripted"}

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
