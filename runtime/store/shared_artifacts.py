"""Artifacts of a log that engines on several hosts share (PostgreSQL): each is written to the
engine's own folder, as always, and kept in the log's database by its content address; an
engine that needs one it does not have (another engine's screenshot, the stored browser state
of a run it took over) fetches it from there once, into its folder. No folder has to be shared
between hosts. A screenshot is tens of kilobytes; a run keeps what its evidence policy asks."""

from __future__ import annotations

from pathlib import Path

from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.postgres import artifact_addresses, get_artifact, put_artifact
from weboter.runtime.store.private import private_folder, replace_private


class SharedArtifacts(ArtifactStore):
    def __init__(self, root: Path, url: str) -> None:
        super().__init__(root)
        self.url = url

    def put(self, data: bytes, suffix: str = "") -> str:
        address = super().put(data, suffix)
        put_artifact(self.url, address, data)
        return address

    def path(self, address: str) -> Path:
        """Where the artifact is on this host, fetched from the database if it is not yet."""
        found = super().path(address)
        if not found.exists():
            data = get_artifact(self.url, address)
            if data is not None:
                replace_private(private_folder(found.parent) / found.name, data)
        return found

    def addresses(self) -> list[str]:
        return artifact_addresses(self.url)
