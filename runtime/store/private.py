"""Files and folders only their owner can read: the log with its -wal/-shm, artifacts, the
workspace and what workflows write there, keys, a worker's cache, the debugger's history.

What a run records (page captures, cookies, exports) must not be readable by other accounts
on the machine. Everything Weboter creates is made 0600 (files) or 0700 (folders) whatever the
umask: the mode is given at creation and set once more (the umask only takes bits away, so an
odd one could leave the owner without access, and `mkdir -p` makes parents with the umask's
default). SQLite makes the log's -wal and -shm files with the log file's own permissions, so
the log file is created 0600 before SQLite opens it. What already exists looser (a log written
by an older Weboter) is tightened when the log is opened; where it cannot be (another account
owns it), a warning says so and how to fix it.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700
# beside the log: the folders the engine owns (what workflows write, what runs recorded)
OWN_FOLDERS = ("artifacts", "workspace", "keys", "worker-cache")
LOG_FILES = ("", "-wal", "-shm", "-journal")
OWN_FILES = ("debug_history",)  # what was typed at `weboter debug`'s prompt


def private_folder(path: Path) -> Path:
    """`path`, made (with every missing parent) as folders only the owner may enter. Folders
    that exist are left as they are: they are the user's (the current directory, `--db`'s)."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile (with this mode, if it is Weboter)
        os.chmod(folder, FOLDER_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def open_private(path: Path, *, append: bool = False) -> int:
    """A descriptor to write `path` (truncated, or appended to): a new file is made 0600; a
    file that exists keeps the mode its owner gave it."""
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    try:
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags)
    os.fchmod(descriptor, FILE_MODE)
    return descriptor


def write_private(path: Path, data: bytes, *, append: bool = False) -> None:
    """Write `data` to `path` (made 0600 if new)."""
    with os.fdopen(open_private(path, append=append), "wb") as handle:
        handle.write(data)


def replace_private(path: Path, data: bytes) -> None:
    """Put `data` at `path` whole (a temporary file made 0600, then renamed over it): a reader
    sees the old file or the new one, never part of it."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        os.fchmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def create_private(path: Path, data: bytes) -> bool:
    """Make `path` holding `data`, 0600, unless it exists (False then: another process may
    have made it meanwhile, and that one stands). Never readable by others, not even while it
    is written: a temporary file opened 0600 is filled, then linked into place."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(temporary).unlink(missing_ok=True)


def create_log_file(path: Path) -> None:
    """Make an empty log file 0600 before SQLite opens it, so that SQLite gives its -wal and
    -shm files the same mode (it copies the log file's). An empty file is an empty database."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return  # it exists (or another process just made it): never truncated here
    os.fchmod(descriptor, FILE_MODE)
    os.close(descriptor)


def tighten_log(db_path: Path) -> None:
    """Make a log, its -wal/-shm files and the engine's folders beside it private if they are
    looser (a log from an older Weboter, a folder made under a permissive umask)."""
    for suffix in LOG_FILES:
        tighten(db_path.with_name(db_path.name + suffix), FILE_MODE)
    for name in OWN_FILES:
        tighten(db_path.parent / name, FILE_MODE)
    for name in OWN_FOLDERS:
        tighten(db_path.parent / name, FOLDER_MODE)


def tighten(path: Path, allowed: int) -> None:
    """Take from `path` every permission bit outside `allowed`; a warning if that cannot be
    done (the file belongs to another account). A symbolic link is left alone."""
    try:
        found = os.lstat(path)
    except OSError:
        return  # not there (yet): made private when it is made
    if stat.S_ISLNK(found.st_mode):
        return
    mode = stat.S_IMODE(found.st_mode)
    if not mode & ~allowed:
        return
    try:
        os.chmod(path, mode & allowed)
    except OSError as exc:
        log.warning(
            "warning: other accounts on this machine can read %s (mode %o), and it cannot be "
            "made private (%s: it belongs to user id %d, this process runs as %d)\n"
            "hint: as its owner, run: chmod %o %s",
            path,
            mode,
            exc.strerror,
            found.st_uid,
            os.geteuid(),
            mode & allowed,
            path,
        )
