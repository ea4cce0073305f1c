"""Text that crosses to a party the engine does not trust: a model, and whoever reads a page's
text through it.

The log's redaction (runtime/core/secrets.py) replaces a short secret only where it is a whole
value, so that replacing "1" inside every string does not destroy data. What goes to a model is
held to a stricter rule: `scrub` replaces every secret value the run may know, whatever its
length, wherever it stands in the text, as it is or encoded (percent, form, JSON, HTML,
base64), by its reference `$env{name}`. A model never needs a secret's value, only its name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from weboter.runtime.core.references import ENCODINGS, MISSING, EnvSource, references_in


def scrub(text: str, secrets: Mapping[str, Any]) -> str:
    """`text` with every secret (reference path -> value; a group's values too) replaced by
    `$env{path}`, whatever its length, also where it stands encoded."""
    forms: dict[str, str] = {}
    for path, value in secrets.items():
        for secret in _texts(value):
            if not secret:
                continue
            shown = f"$env{{{path}}}"
            for encode in ENCODINGS.values():
                forms.setdefault(encode(secret), shown)
            forms[secret] = shown
    for secret in sorted(forms, key=len, reverse=True):  # the longest first: no half-match
        if secret in text:
            text = text.replace(secret, forms[secret])
    return text


def secrets_of(value: Any, env: EnvSource) -> dict[str, Any]:
    """The `$env` values that the references inside `value` (a workflow, a state) name, as
    `env` resolves them now: what must never reach a model in clear."""
    found: dict[str, Any] = {}
    for scope, path in references_in(value):
        if scope == "env" and path not in found:
            resolved = env.get(path)
            if resolved is not MISSING:
                found[path] = resolved
    return found


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif value is not None:
        yield str(value)
