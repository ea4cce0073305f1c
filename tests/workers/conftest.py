"""Engines with workers, as users start them: `weboter serve --workers` and `weboter worker`
as real processes on loopback, each worker's processes (its Chromium too) marked by an
environment variable of its own, so a test can kill exactly them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_serve import free_ports, start_server
from weboter.runtime.demo.shop import ShopHandler, ShopServer
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.schemas.events import EventRecord

WORKER_MARK = "WEBOTER_TEST_WORKER"


class Worker:
    def __init__(self, home: Path, connect: str, *args: str) -> None:
        self.mark = uuid.uuid4().hex
        self.log = home / f"worker-{self.mark}.log"  # its stderr: never a pipe nobody reads
        self._log_file = self.log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "weboter.runtime.cli.main",
                "worker",
                "--json",
                *args,
                "--connect",
                connect,
            ],
            env={**os.environ, "WEBOTER_HOME": str(home), WORKER_MARK: self.mark},
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
        )
        assert self.proc.stdout is not None
        text = ""
        for line in self.proc.stdout:
            text += line
            if line.rstrip() == "}":
                break
        if not text.rstrip().endswith("}"):
            self.proc.kill()
            self.proc.wait(20)
            pytest.fail(f"weboter worker exited {self.proc.returncode}: {self.log.read_text()}")
        self.info: dict[str, Any] = json.loads(text)

    def processes(self) -> list[int]:
        """This worker's process and its children (Chromium): they carry its mark."""
        mark = f"{WORKER_MARK}={self.mark}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if mark in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
        return found

    def wait_logged(self, *texts: str, timeout: float = 60) -> None:
        """Until the worker's log (stderr) has one of `texts`."""
        deadline = time.monotonic() + timeout
        while not any(text in self.log.read_text() for text in texts):
            assert time.monotonic() < deadline, f"worker never logged any of {texts}"
            time.sleep(0.05)  # not a sync: polling the worker's log file for a line

    def gone(self, timeout: float) -> bool:
        """Wait until none of this worker's processes is left (True), or `timeout` s."""
        deadline = time.monotonic() + timeout
        while self.processes():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)  # not a sync: polling /proc for processes to exit
        return True

    def send(self, which: signal.Signals) -> None:
        """Send `which` to the worker and every process it started (SIGSTOP: all frozen)."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, which)

    def kill(self) -> None:
        """SIGKILL, the worker and every process it started."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(40)
        self.kill()  # whatever is left of it
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log_file.close()


class Served:
    """`weboter serve --workers` on free loopback ports, and the workers started for it."""

    def __init__(self, home: Path, *args: str) -> None:
        self.home = home
        self.bind = f"tcp://127.0.0.1:{free_ports()}"
        self.args = args
        self.workers: list[Worker] = []
        self.logged: list[str] = []  # the engine's log lines (stderr), as they come
        self._start()

    def _start(self) -> None:
        self.proc, self.info = start_server(self.home, "--bind", self.bind, "--workers", *self.args)
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.logged.append(line)

    def wait_logged(self, *texts: str, timeout: float = 60) -> str:
        """The first log line of the engine holding every one of `texts` (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.logged):
                if all(text in line for text in texts):
                    return line
            time.sleep(0.05)  # not a sync: polling the engine's log lines for one
        raise AssertionError(f"the engine never logged {texts}; it logged: {self.logged[-20:]}")

    def worker(self, *args: str) -> Worker:
        found = Worker(self.home, self.bind, *args)
        self.workers.append(found)
        return found

    def restart(self) -> None:
        """SIGKILL the engine, then start it again on the same log and ports."""
        self.proc.kill()
        self.proc.wait(20)
        self._reader.join(10)
        self._close_pipes()
        self._start()

    def events(self, run_id: str) -> list[EventRecord]:
        log = EventLog(self.home / "weboter.db", create=False)
        try:
            return [to_record(row) for row in log.read_stored(run_id)]
        finally:
            log.close()

    def stop(self) -> str:
        """Stop workers and engine; the engine's stderr (its log lines)."""
        for worker in self.workers:
            worker.stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)
        self._close_pipes()
        return "".join(self.logged)

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


QUICK_HEARTBEAT = 1.5  # seconds: a lost worker (or engine) is found in 4.5 s, not 7.5


@pytest.fixture
def quick_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine and workers a test starts after this beat every QUICK_HEARTBEAT seconds
    (WEBOTER_HEARTBEAT, inherited): for tests that wait for a side to be found silent."""
    monkeypatch.setenv("WEBOTER_HEARTBEAT", f"{QUICK_HEARTBEAT:g}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    engine = Served(tmp_path)
    yield engine
    engine.stop()


class GatedShop(ShopServer):
    """The demo shop, where the first GET of `held` waits (until `release` or 60 s) after
    saying so (`arrived`), then is answered: a browser node in the middle of its work, for as
    long as needed. (`requests` lists a held request once it is answered.)"""

    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = _GatedHandler
        self.held = ""
        self.arrived = threading.Event()
        self.release = threading.Event()


class _GatedHandler(ShopHandler):
    server: GatedShop

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.server.held and self.path == self.server.held:
            self.server.held = ""  # only the first one waits, and is never answered
            self.server.arrived.set()
            self.server.release.wait(60)
        with contextlib.suppress(OSError):  # a browser that died meanwhile: nobody reads it
            super().do_GET()


@pytest.fixture
def shop() -> Iterator[GatedShop]:
    server = GatedShop().start()
    yield server
    server.release.set()
    server.stop()
