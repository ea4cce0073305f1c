"""Where a workflow may write and read files: its workspace, and the folders a person allowed.

A path from a workflow is resolved the way the operating system will use it — relative to the
workspace, `~` expanded, `..` and symbolic links followed — and refused unless it ends up
inside the workspace or an allowed folder. The event log (with its -wal/-shm files) and the
artifacts folder are never writable by a workflow, even when they lie inside an allowed
folder, and neither are the engine's keys (`keys/`). The workspace defaults to the folder
`workspace` beside the log; `--workspace DIR` moves it and `--allow-path DIR` (repeatable)
widens it. Reading (a `file://` page and what it loads, `UploadFile`) follows the same rule:
a workflow never reads the home folder, `/etc` or the engine's keys unless a person allowed the
folder. Folders made for a workflow's files are 0700, the files 0600 (`write_private`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from weboter.runtime.errors import ActionError
from weboter.runtime.store.private import private_folder


class PathRefused(ActionError):
    """A workflow tried to write outside its workspace, or onto the log."""


@dataclass(frozen=True)
class Workspace:
    root: Path
    allowed: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = field(default_factory=tuple)  # files and folders: never

    @classmethod
    def beside(
        cls, db_path: Path, root: Path | None = None, allow: list[Path] | None = None
    ) -> Workspace:
        """The workspace of an engine whose log is `db_path`."""
        log = _real(db_path)
        protected = (
            log,
            log.with_name(log.name + "-wal"),
            log.with_name(log.name + "-shm"),
            log.with_name(log.name + "-journal"),
            _real(db_path.parent / "artifacts"),
            _real(db_path.parent / "keys"),  # the engine's and the local client's CURVE keys
        )
        home = _real(root) if root is not None else _real(db_path.parent / "workspace")
        return cls(home, tuple(_real(p) for p in allow or ()), protected)

    def writable(self, text: str) -> Path:
        """The real path a workflow may write `text` to; PathRefused otherwise."""
        target = self._inside(text, "writes")
        private_folder(target.parent)  # folders made for a workflow's files: 0700
        return target

    def readable(self, text: str) -> Path:
        """The real path a workflow may read (`file://` pages and what they load, uploads);
        PathRefused otherwise."""
        return self._inside(text, "reads")

    def _inside(self, text: str, verb: str) -> Path:
        if not text or "\x00" in text:
            raise PathRefused(f"{text!r} is not a file path", hint="give a file name")
        wanted = Path(os.path.expanduser(text))
        target = _real(wanted if wanted.is_absolute() else self.root / wanted)
        for no in self.protected:
            if target == no or no in target.parents:
                raise PathRefused(
                    f"{text!r} is the event log, its artifacts or the engine's keys ({no}); a "
                    f"workflow never {verb} there",
                    hint="use the workspace: a relative path like out/report.csv",
                )
        if not any(target == ok or ok in target.parents for ok in (self.root, *self.allowed)):
            raise PathRefused(
                f"{text!r} resolves to {target}, outside the workspace {self.root}",
                hint="use a path inside the workspace (relative paths are), or allow the folder: "
                "--allow-path DIR",
            )
        return target


def _real(path: Path) -> Path:
    """The absolute path with symbolic links and `..` resolved (as far as it exists)."""
    return Path(os.path.realpath(os.path.expanduser(path)))
