"""Other accounts on the machine read nothing Weboter writes: every file and folder a real run
makes (the log and its -wal/-shm, artifacts, the workspace and a workflow's exports, keys, a
worker's cache and uploads) is 0600 / 0700 whatever the umask; a looser log is tightened."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import chain
from tests.conftest import node
from tests.test_serve import free_ports
from weboter.runtime.store.eventlog import EventLog

pytestmark = pytest.mark.timeout(240)

CSS = "css"


def weboter_under(umask: int, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `weboter` command in a process of its own whose umask is `umask`."""
    return subprocess.run(
        [sys.executable, "-m", "weboter.runtime.cli.main", *args],
        env={**os.environ, "WEBOTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=umask,
    )


def browsing_flow(pages_url: str) -> dict:
    """A page opened and typed into, a download, a screenshot, a text file and a CSV export:
    something of every kind a run stores."""
    return chain(
        node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
        node(
            "type",
            "FillInput",
            inputs={"locator": {"element": "#email", "type": CSS}, "text": "me@example.com"},
        ),
        node("download", "Download", inputs={"locator": {"element": "#dl", "type": CSS}}),
        node("shot", "Screenshot"),
        node("note", "WriteTextFile", inputs={"path": "notes/today.txt", "content": "noted"}),
        node(
            "export",
            "ExportData",
            inputs={"path": "exports/rows.csv", "data": [{"email": "me@example.com"}]},
        ),
    )


def not_private(root: Path) -> list[str]:
    """Every folder (from `root` down) that is not 0700 and every file that is not 0600."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if not path.is_symlink() and mode != wanted:
            found.append(f"{path.relative_to(root.parent)}: {mode:o}")
    return found


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_everything_a_run_makes_is_its_owners_only(
    tmp_path: Path, pages_url: str, umask: int
) -> None:
    home = tmp_path / "home"  # made by the run, like ./.weboter
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(browsing_flow(pages_url)), encoding="utf-8")
    done = weboter_under(umask, home, "run", str(path), "--json", "--evidence", "every_node")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    made = {p.relative_to(home).parts[0] for p in home.rglob("*")}
    assert {"weboter.db", "artifacts", "workspace"} <= made, made  # the run made them ...
    assert (home / "workspace" / "exports" / "rows.csv").exists()
    assert any(p.suffix == ".html" for p in (home / "artifacts").rglob("*"))  # a DOM capture
    log = EventLog(home / "weboter.db")  # the -wal and -shm exist while a log is open
    try:
        wal = home / "weboter.db-wal"
        assert wal.exists() and (home / "weboter.db-shm").exists()
        assert not_private(home) == []  # ... and nobody else can read any of it
    finally:
        log.close()


def test_an_engine_its_worker_and_their_keys_and_uploads_are_private(
    tmp_path: Path, pages_url: str
) -> None:
    home = tmp_path / "home"
    bind = f"tcp://127.0.0.1:{free_ports()}"
    env = {**os.environ, "WEBOTER_HOME": str(home)}
    argv = [sys.executable, "-m", "weboter.runtime.cli.main"]
    serve = subprocess.Popen(
        [*argv, "serve", "--json", "--bind", bind, "--workers"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        umask=0,
    )
    worker = None
    try:
        _ready(serve)
        worker = subprocess.Popen(
            [*argv, "worker", "--json", "--connect", bind],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            umask=0,
        )
        _ready(worker)
        path = tmp_path / "flow.json"
        shot = chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("shot", "Screenshot"),
        )
        path.write_text(json.dumps(shot), encoding="utf-8")
        done = weboter_under(0, home, "run", "--engine", bind, str(path), "--json")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    finally:
        for proc in (worker, serve):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()  # never left behind, whatever failed
                    proc.wait(20)
                assert proc.stdout is not None
                proc.stdout.close()
    keys = {p.name for p in (home / "keys").iterdir()}
    assert {"engine.json", "client.json", "worker.json", "serving.pub"} <= keys, keys
    uploads = list((home / "artifacts").rglob("*.png"))
    cached = list((home / "worker-cache").rglob("*.png"))
    assert uploads and cached  # the worker's screenshot, in its cache and uploaded
    assert not_private(home) == []


def _ready(proc: subprocess.Popen[str]) -> dict:
    """The JSON document a server or worker prints once it is up."""
    assert proc.stdout is not None
    text = ""
    for line in proc.stdout:
        text += line
        if line.rstrip() == "}":
            return json.loads(text)
    pytest.fail(f"exited {proc.wait(20)} before it was ready: {text[-1000:]}")


def test_a_looser_log_from_before_is_tightened_when_opened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    EventLog(home / "weboter.db").close()
    for made in (home / "artifacts" / "ab", home / "workspace"):
        made.mkdir(parents=True)
    loose = [home / "weboter.db", home / "artifacts", home / "workspace"]
    for path in [*loose, home / "artifacts" / "ab"]:  # as an older Weboter left them
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    other = sqlite3.connect(home / "weboter.db")  # another process reads it: -wal, -shm
    other.execute("SELECT COUNT(*) FROM events").fetchall()
    for suffix in ("-wal", "-shm"):
        os.chmod(home / f"weboter.db{suffix}", 0o644)
    try:
        done = weboter_under(0o022, home, "runs", "--json")
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr
        for path in [*loose, home / "weboter.db-wal", home / "weboter.db-shm"]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
        # the folder the user made for it is theirs: left as it was, what is inside is private
        assert stat.S_IMODE(home.stat().st_mode) == 0o755
        # inside a folder made private nobody else gets in: it is not walked on every open
        assert stat.S_IMODE((home / "artifacts" / "ab").stat().st_mode) == 0o755
    finally:
        other.close()


def test_a_log_that_cannot_be_tightened_says_so_and_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another account's log cannot be chmod-ed; as root every chmod succeeds, so the refusal
    is the one fault made here by hand."""
    db = tmp_path / "weboter.db"
    EventLog(db).close()
    os.chmod(db, 0o644)
    real_chmod = os.chmod

    def refused(path: object, mode: int, *args: object, **kwargs: object) -> None:
        if Path(str(path)) == db:
            raise PermissionError(1, "Operation not permitted", str(path))
        real_chmod(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "chmod", refused)
    with caplog.at_level(logging.WARNING):
        EventLog(db).close()  # still opens: the warning does not stop anybody's work
    said = caplog.text
    assert f"other accounts on this machine can read {db} (mode 644)" in said, said
    assert f"chmod 600 {db}" in said, said
