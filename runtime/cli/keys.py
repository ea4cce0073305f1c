"""Key options of the commands that connect to a served engine (`weboter worker`,
`weboter run --engine`): a key file, or the engine's public key given as text or a file."""

from __future__ import annotations

import json
from pathlib import Path

from weboter.runtime.errors import UsageError


def server_key(given: str | None, home: Path) -> bytes:
    """The engine's public key: `given` (Z85 text, or a key file), else the one the engine
    serving from `home` said it listens with (runtime/transport/security.py `client_keys`)."""
    from weboter.runtime.transport.security import client_keys  # noqa: PLC0415

    if given is None:
        return client_keys(home)[0]
    key = key_pair(Path(given))[0] if Path(given).is_file() else given.encode()
    if len(key) != 40:
        raise UsageError(
            f"--server-key {given}: not a public key (40 Z85 characters) nor a key file",
            hint="copy server_public_key from what `weboter serve` printed",
        )
    return key


def key_pair(path: Path) -> tuple[bytes, bytes]:
    """(public, secret) from a key file (`weboter keys --out FILE`)."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
        return keys["public"].encode(), keys.get("secret", "").encode()
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise UsageError(
            f"{path}: not a key file ({exc})", hint="make one with: weboter keys --out FILE"
        ) from exc
