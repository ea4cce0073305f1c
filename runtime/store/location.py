"""Where the event log is: an SQLite file (the embedded default) or a PostgreSQL database
(`--db postgresql://user@host/db`, or `WEBOTER_DB`), for engines on several hosts that share
one log.

Every part of Weboter names the log by a path (`db_path`): for SQLite it is the file; for
PostgreSQL it is a stand-in path in the engine's home folder (`$WEBOTER_HOME`, else
`./.weboter/`), registered here with its URL, never created as a file. The folders an engine
keeps beside its log — artifacts, keys, workspace — are then in that home folder, as they are
beside an SQLite file. `EventLog(path)` asks `postgres_url(path)` which database to open.

Any other URL (`mysql://…`, `sqlite://…`) is refused with a message: a URL is never taken for
a file name.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from weboter.runtime.errors import UsageError

SCHEMES = ("postgresql", "postgres")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POSTGRES: dict[Path, str] = {}  # stand-in path -> the database's URL


def log_location(text: str | Path, home: Path | None = None) -> Path:
    """The path that names the log `text` gives: a file path as it is; a PostgreSQL URL as
    its stand-in in `home` (default: $WEBOTER_HOME, else ./.weboter/); UsageError for a URL
    of another kind."""
    value = os.fspath(text)
    found = _URL.match(value)
    if found is None:
        return Path(value)
    scheme = found.group(1).lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"{shown_url(value)}: Weboter keeps its log in an SQLite file or in "
            f"PostgreSQL, not in {scheme}",
            hint="give a file path (e.g. runs.db) or postgresql://USER@HOST/DATABASE",
        )
    stand_in = (
        home or weboter_home()
    ) / f"postgresql-{hashlib.sha256(value.encode()).hexdigest()[:12]}.log"
    _POSTGRES[stand_in] = value
    return stand_in


def weboter_home() -> Path:
    """`$WEBOTER_HOME`, else `./.weboter/`: where an engine keeps its log file and folders."""
    return Path(os.environ.get("WEBOTER_HOME") or Path.cwd() / ".weboter")


def postgres_url(path: str | Path) -> str | None:
    """The PostgreSQL URL `path` stands for (None: `path` is an SQLite file)."""
    return _POSTGRES.get(Path(path))


def shared(path: str | Path) -> bool:
    """Whether the log is one that engines on several hosts share (PostgreSQL)."""
    return postgres_url(path) is not None


def log_label(path: str | Path) -> str:
    """How messages name the log: the file, or the database's URL without its password."""
    url = postgres_url(path)
    return str(path) if url is None else shown_url(url)


SECRET_PARAMETERS = ("password", "passfile", "sslpassword", "sslkey")  # never shown


def shown_url(url: str, *, mask: str = "***") -> str:
    """`url` with any password — after the user name, or a `?password=` parameter — replaced
    by `mask` (messages, logs, `serve`'s banner); `mask=""` leaves it out altogether."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port is not None:
            host += f":{parts.port}"
        who = f"{parts.username or ''}:{mask}" if mask else parts.username or ""
        parts = parts._replace(netloc=f"{who}@{host}" if who else host)
    if parts.query:
        kept = [
            pair
            if pair.split("=", 1)[0].lower() not in SECRET_PARAMETERS
            else f"{pair.split('=', 1)[0]}={mask}"
            for pair in parts.query.split("&")
            if mask or pair.split("=", 1)[0].lower() not in SECRET_PARAMETERS
        ]
        parts = parts._replace(query="&".join(kept))
    return urlunsplit(parts)


def has_password(path: str | Path) -> bool:
    """Whether the log's URL carries a password (told to move it to PGPASSWORD)."""
    url = postgres_url(path)
    return url is not None and shown_url(url, mask="") != url
