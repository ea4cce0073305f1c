"""Key options of the commands that connect to a served engine (`weboter worker`,
`weboter run --engine`): a key file, or the engine's public key given as text or a file."""

from __future__ import annotations

import json
from pathlib import Path

from weboter.runtime.errors import UsageError


def server_key(given: str | None, home: Path) -> bytes:
    """The engine's public key: `given` (Z85 text, a key file, or a file of one line with the
    key: the engine's `keys/serving.pub`), else the one the engine serving from `home` said it
    listens with (runtime/transport/security.py `client_keys`)."""
    from weboter.runtime.transport.security import client_keys  # noqa: PLC0415

    if given is None:
        return client_keys(home)[0]
    key = _key_file(Path(given)) if Path(given).is_file() else given.encode()
    if len(key) != 40:
        raise UsageError(
            f"--server-key {given}: not a public key (40 Z85 characters), a key file nor a "
            "serving.pub",
            hint="copy server_public_key from what `weboter serve` printed",
        )
    return key


def _key_file(path: Path) -> bytes:
    """The public key in a key file, or in a file that holds just the key (serving.pub)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--server-key {path}: cannot be read ({exc})",
            hint="give the key itself (server_public_key, as `weboter serve` printed it)",
        ) from exc
    return text.encode() if len(text) == 40 else key_pair(path)[0]  # (Z85 may start with {)


def key_pair(path: Path) -> tuple[bytes, bytes]:
    """(public, secret) from a key file (`weboter keys --out FILE`)."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
        return keys["public"].encode(), keys.get("secret", "").encode()
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise UsageError(
            f"{path}: not a key file ({exc})", hint="make one with: weboter keys --out FILE"
        ) from exc
