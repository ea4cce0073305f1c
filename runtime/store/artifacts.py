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
        share (PostgreSQL), kept in its database too (SharedArtifacts, below)."""
        url = postgres_url(db_path)
        if url is not None:
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


# Artifacts of a log that engines on several hosts share (PostgreSQL): each is written to the
# engine's own folder, as always, and kept in the log's database by its content address; an
# engine that needs one it does not have (another engine's screenshot, the stored browser
# state of a run it took over) fetches it from there once, into its folder. No folder has to
# be shared between hosts.
class SharedArtifacts(ArtifactStore):
    def __init__(self, root: Path, url: str) -> None:
        super().__init__(root)
        self.url = url

    def put(self, data: bytes, suffix: str = "") -> str:
        from weboter.runtime.store.postgres import put_artifact  # noqa: PLC0415

        address = super().put(data, suffix)
        put_artifact(self.url, address, data)
        return address

    def path(self, address: str) -> Path:
        """Where the artifact is on this host, fetched from the database if it is not yet."""
        from weboter.runtime.store.postgres import get_artifact  # noqa: PLC0415

        found = super().path(address)
        if not found.exists():
            data = get_artifact(self.url, address)
            if data is not None:
                replace_private(private_folder(found.parent) / found.name, data)
        return found

    def addresses(self) -> list[str]:
        from weboter.runtime.store.postgres import artifact_addresses  # noqa: PLC0415

        return artifact_addresses(self.url)
