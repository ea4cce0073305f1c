"""Redaction: secrets read from `$env` never reach the log or artifacts in clear.

Any string equal to a secret becomes its marker; a secret of 6 or more characters is also
replaced inside longer strings ("Bearer s3cr3t" -> "Bearer <marker>"). Shorter secrets are only
redacted as whole values: replacing "1" inside every string would destroy data. The marker is
`\\x00$env{path}\\x00` (runtime/core/references.py), which the resolver turns back into the value
when the variable is used, also after a resume or fork. A string that already contains a
marker-like sequence (it came from outside) is neutralised first, so data cannot smuggle a
reference to an environment variable it was never given.

Encoded forms are recognised too: percent-encoded (as in URLs, with or without `/` kept),
form-encoded (`+` for spaces), JSON-escaped, HTML-escaped and base64 of the whole value. Their
marker names the encoding (`\\x00$env{path}|url\\x00`), so the resolver puts the secret back
encoded the same way. Not recognised: a secret split across values, hashed, encrypted,
encoded twice, or transformed by an action (upper-cased, sliced ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weboter.runtime.core.references import ENCODINGS, marker

MIN_SUBSTRING_SECRET = 6


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every secret (reference -> value) replaced by its marker, also where it
    stands encoded (percent, form, JSON, HTML, base64: the marker says which)."""
    if not secrets:
        return _neutralise(value)
    forms: dict[str, str] = {}
    for path, secret in secrets.items():
        if not secret:
            continue
        for name, encode in ENCODINGS.items():
            encoded = encode(secret)
            if encoded != secret and len(encoded) >= MIN_SUBSTRING_SECRET:
                forms.setdefault(encoded, marker(path, name))
        forms[secret] = marker(path)
    ordered = sorted(forms.items(), key=lambda p: -len(p[0]))
    return _redact(value, ordered)


def _redact(value: Any, ordered: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        text = value.replace("\x00", "\ufffd") if "\x00" in value else value
        for secret, mark in ordered:
            if text == secret:
                return mark
            if len(secret) >= MIN_SUBSTRING_SECRET and secret in text:
                text = text.replace(secret, mark)
        return text
    if isinstance(value, dict):
        return {k: _redact(v, ordered) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, ordered) for v in value]
    return value


def neutralise(value: Any) -> Any:
    """`value` with every NUL replaced (U+FFFD): text from outside can never pass for a
    secret's marker."""
    return _neutralise(value)


def _neutralise(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _neutralise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutralise(v) for v in value]
    return value
