"""Content-addressed artifacts beside the log: screenshots, DOM, storage state, downloads.

A file is stored once under `<log dir>/artifacts/<sha256[:2]>/<sha256><suffix>`; events refer to
it by its hash. Text artifacts are redacted (secrets) before they are hashed and written.
Folders and files are made for their owner only (0700, 0600: runtime/store/private.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from weboter.runtime.store.private import private_folder, replace_private


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, db_path: Path) -> ArtifactStore:
        return cls(db_path.parent / "artifacts")

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
