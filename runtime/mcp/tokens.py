"""The bearer token of `weboter mcp --http` (docs/mcp.md, "Who may connect").

Any process on the host can open a loopback port, another user's included, so the HTTP server
asks every request for a token only the account that runs it can read: kept in
`keys/mcp.token` beside the log, made on first use. The folder is made 0700 and the file
0600 whatever the umask, and the file is never readable by others, not even for an instant:
it is written under a temporary name opened with mode 0600, then linked into place (a link
never replaces a token another server made at the same moment). A token file others can read
is refused, not used: anyone of them may have read it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from weboter.runtime.errors import UsageError
from weboter.runtime.store.private import FOLDER_MODE, create_private, private_folder, tighten

TOKEN_FILE = "mcp.token"  # noqa: S105 - the file's name, not a token
MIN_LENGTH = 16  # characters of a token given with --token / --token-file


def token_path(db_path: Path) -> Path:
    """Where the token of the MCP server on the log at `db_path` is kept."""
    return db_path.parent / "keys" / TOKEN_FILE


def kept_token(db_path: Path) -> str:
    """The token in `keys/mcp.token` beside the log, made (random, 0600) on first use."""
    path = token_path(db_path)
    private_folder(path.parent)
    tighten(path.parent, FOLDER_MODE)  # a keys/ folder made wider before
    if not path.exists():  # another server made at the same moment: that one is the token
        create_private(path, (secrets.token_urlsafe(32) + "\n").encode())
    return read_token(path)


def read_token(path: Path) -> str:
    """The token in `path`: refused when others may read the file, or it is too short."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UsageError(
            f"cannot read the MCP token file {path}: {exc.strerror}",
            hint="give a readable file with --token-file, or leave it out to use "
            "keys/mcp.token beside the log (made on first use)",
        ) from exc
    with os.fdopen(descriptor, encoding="utf-8") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & 0o077:
            raise UsageError(
                f"the MCP token file {path} can be read by other users (mode {mode:04o}): "
                "anyone of them may have read the token",
                hint=f"chmod 600 {path} if nobody else could have read it; else delete it "
                "(a new token is made on the next start) and give clients the new one",
            )
        token = handle.read().strip()
    return checked(token, f"the token in {path}")


def checked(token: str, where: str) -> str:
    """`token` if it is long enough to be a secret."""
    if len(token) < MIN_LENGTH or any(c.isspace() for c in token):
        raise UsageError(
            f"{where} is not a usable token: it needs {MIN_LENGTH} characters at least, "
            "without spaces",
            hint="make one with: openssl rand -hex 24",
        )
    return token
