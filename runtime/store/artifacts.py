"""Content-addressed artifacts beside the log: screenshots, DOM, storage state, downloads.

A file is stored once under `<log dir>/artifacts/<sha256[:2]>/<sha256><suffix>`; events refer to
it by its hash. Text artifacts are redacted (secrets) before they are hashed and written.
Folders and files are made for their owner only (0700, 0600: runtime/store/private.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from weboter.runtime.store.location import postgres_url
from weboter.runtime.store.private import private_folder, replace_private


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, db_path: Path) -> ArtifactStore:
        """The artifacts of the log `db_path`: in the folder beside it; for a log engines
        share (PostgreSQL), kept in its database too (runtime/store/shared_artifacts.py)."""
        url = postgres_url(db_path)
        if url is not None:
            from weboter.runtime.store.shared_artifacts import SharedArtifacts  # noqa: PLC0415

            return SharedArtifacts(db_path.parent / "artifacts", url)
        return cls(db_path.parent / "artifacts")

    def addresses(self) -> list[str]:
        """Every artifact this store holds."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob("*/*") if p.is_file())

    def put(self, data: bytes, suffix: str = "") -> str:
        """Store `data`; returns its address (`sha256` hex + suffix)."""
        digest = hashlib.sha256(data).hexdigest() + suffix
        path = self.path(digest)
        if not path.exists():
            replace_private(private_folder(path.parent) / path.name, data)
        return digest

    def path(self, address: str) -> Path:
        return self.root / address[:2] / address

    def shown(self, address: str) -> str:
        """Where a person finds the artifact (in messages)."""
        return str(self.path(address))

    def get(self, address: str) -> bytes:
        return self.path(address).read_bytes()
