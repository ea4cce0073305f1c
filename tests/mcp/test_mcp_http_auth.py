"""`weboter mcp --http` lets in only who holds its token: any process on the host can reach a
loopback port (another user's account too), so a request without the token, or with another,
is refused with 401 and how to fix it; the token file is private whatever the umask."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import httpx2
import pytest

from tests.incli import cli
from tests.mcp.served import client_of, mcp_http
from tests.mcp.test_mcp import WORKFLOW, call
from weboter.runtime.errors import UsageError
from weboter.runtime.mcp.tokens import kept_token, token_path

pytestmark = pytest.mark.timeout(180)

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "intruder", "version": "1"},
    },
}
ACCEPT = {"accept": "application/json, text/event-stream"}


def test_no_token_or_another_is_refused_and_the_right_one_drives_runs(db_path: Path) -> None:
    with mcp_http(db_path) as served:
        token = served.token()
        # a raw request, as any local program would send it: 401, and the body says the fix
        bare = httpx2.post(served.url, json=INITIALIZE, headers=ACCEPT, timeout=30)
        assert bare.status_code == 401, bare.text
        assert bare.headers["www-authenticate"].startswith("Bearer")
        said = bare.json()["error"]["message"]
        assert "Authorization: Bearer" in said and str(token_path(db_path)) in said
        wrong = httpx2.post(
            served.url,
            json=INITIALIZE,
            headers={**ACCEPT, "Authorization": "Bearer " + "x" * len(token)},
            timeout=30,
        )
        assert wrong.status_code == 401 and "not this server's" in wrong.json()["error"]["message"]
        # the Host check stays: a DNS-rebinding page holding the token is refused as before
        rebound = httpx2.post(
            served.url,
            json=INITIALIZE,
            headers={**ACCEPT, "Authorization": f"Bearer {token}", "Host": "evil.example"},
            timeout=30,
        )
        assert rebound.status_code == 421

        async def main() -> None:
            # the SDK's own client: refused with the server's message, no tool reached
            for given, message in ((None, "has none"), ("y" * 43, "not this server's")):
                with pytest.raises(BaseException) as refused:
                    async with client_of(served.url, given) as client:
                        await client.call_tool("run_workflow", {"workflow": WORKFLOW})
                assert message in repr(refused.value) and "mcp.token" in repr(refused.value)
            async with client_of(served.url, token) as client:
                run = await call(client, "run_workflow", workflow=WORKFLOW)
                assert run["status"] == "COMPLETED"

        asyncio.run(main())
        runs = cli("runs", "--db", str(db_path), "--json", home=db_path.parent)
        assert runs.returncode == 0, runs.stderr
        assert runs.stdout.count('"run_id"') == 1  # only the authenticated client's run
    assert token.encode() not in served.said()  # printed nowhere, not even where it is


def test_the_token_file_is_private_whatever_the_umask(db_path: Path) -> None:
    # umask 0: a file or folder made with the default mode would be world-readable
    with mcp_http(db_path, "--profile", "read-only", umask=0) as served:
        keys = token_path(db_path).parent
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
        assert stat.S_IMODE(token_path(db_path).stat().st_mode) == 0o600
        assert served.info["token_file"] == str(token_path(db_path).resolve())

        async def main() -> None:
            async with client_of(served.url, served.token()) as client:
                assert (await client.call_tool("list_runs", {})).is_error is False

        asyncio.run(main())
    # a umask that narrows too much: the owner could not write the folder nor read the file
    narrow = db_path.parent / "narrow" / "weboter.db"
    narrow.parent.mkdir()
    before = os.umask(0o377)
    try:
        assert len(kept_token(narrow)) >= 32
    finally:
        os.umask(before)
    assert stat.S_IMODE(token_path(narrow).parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(token_path(narrow).stat().st_mode) == 0o600


def test_a_token_file_others_can_read_is_refused_not_used(db_path: Path) -> None:
    first = kept_token(db_path)
    assert kept_token(db_path) == first  # made once, then kept
    keys = token_path(db_path).parent
    keys.chmod(0o755)  # an older folder, made wider
    token_path(db_path).chmod(0o644)
    with pytest.raises(UsageError, match="can be read by other users") as refused:
        kept_token(db_path)
    assert "chmod 600" in refused.value.hint
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700  # the folder made private again
    given = db_path.parent / "given.token"
    given.write_text("z" * 32)
    given.chmod(0o640)
    home = db_path.parent
    served = cli(
        "mcp", "--db", str(db_path), "--http", "127.0.0.1:0", "--token-file", str(given), home=home
    )
    assert served.returncode == 2 and "can be read by other users" in served.stderr
    stdio = cli("mcp", "--db", str(db_path), "--token", "z" * 32, home=home)
    assert stdio.returncode == 2 and "are for --http" in stdio.stderr


def test_a_token_given_in_a_file_is_the_one_asked_for(db_path: Path) -> None:
    given = db_path.parent / "given.token"
    fd = os.open(given, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"a-token-chosen-by-the-operator-123\n")
    os.close(fd)
    with mcp_http(db_path, "--token-file", str(given)) as served:
        assert not token_path(db_path).exists()  # the kept one is neither made nor used

        async def main() -> None:
            async with client_of(served.url, "a-token-chosen-by-the-operator-123") as client:
                assert {t.name for t in (await client.list_tools()).tools}

        asyncio.run(main())
    assert b"a-token-chosen" not in served.said()
