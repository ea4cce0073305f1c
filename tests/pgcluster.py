"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries, a new cluster
in a temporary folder, listening on loopback only (a free port), with a password login, run
as an unprivileged account when we are root (the server refuses to run as root).

`.ci/run` starts one for the whole suite (`python3 tests/pgcluster.py start` prints the URL,
`stop FOLDER` ends it) and passes it as WEBOTER_TEST_POSTGRES; a test session without that
variable starts its own (tests/conftest.py `postgres`), or skips the PostgreSQL tests saying
why when the binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

USER = "weboter"


def binaries() -> Path | None:
    """The folder of the newest installed server's binaries (Debian: /usr/lib/postgresql/N)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _account() -> str | None:
    """Who runs the server: ourselves, or (as root) Debian's `postgres` account, else nobody."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no unprivileged account to run PostgreSQL as")


def _as(account: str | None, argv: list[str]) -> list[str]:
    return argv if account is None else ["runuser", "-u", account, "--", *argv]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(folder: Path | None = None) -> tuple[str, Path]:
    """(the URL of a new server's `postgres` database, its folder): a cluster made in a new
    temporary folder and started on a free loopback port."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server installed (Debian: apt-get install postgresql)")
    account = _account()
    folder = Path(folder or tempfile.mkdtemp(prefix="weboter-pg-"))
    data = folder / "data"
    password = secrets.token_hex(16)
    pwfile = folder / "pw"
    pwfile.write_text(password + "\n")
    if account is not None:
        uid, gid = pwd.getpwnam(account).pw_uid, pwd.getpwnam(account).pw_gid
        os.chown(folder, uid, gid)
        os.chown(pwfile, uid, gid)
    os.chmod(folder, 0o700)
    os.chmod(pwfile, 0o600)
    subprocess.run(
        _as(
            account,
            [
                *(str(bin_dir / "initdb"), "-D", str(data), "-U", USER),
                *("--pwfile", str(pwfile), "--auth", "scram-sha-256", "-E", "UTF8"),
                "--locale=C.UTF-8",
            ],
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        timeout=120,
    )
    pwfile.unlink()
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder}"
    options += " -c fsync=off -c max_connections=300"  # a throwaway server: speed over safety
    subprocess.run(
        _as(
            account,
            [
                *(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log")),
                *("-o", options, "-w", "-t", "60", "start"),
            ],
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        timeout=120,
    )
    return f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres", folder


def stop(folder: Path) -> None:
    """Stop the server of `folder` and remove the folder."""
    bin_dir = binaries()
    if bin_dir is not None and (folder / "data").exists():
        subprocess.run(
            _as(
                _account(),
                [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=60,
        )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["start"]:
        url, where = start()
        print(f"{url} {where}")
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        stop(Path(sys.argv[2]))
    else:
        sys.exit("usage: pgcluster.py start | stop FOLDER")
