"""Any secret, inside any text, encoded by any of the encoders below: redaction leaves none of
the secret's own characters (in that encoding) behind, and the resolver puts the text back
exactly (named encodings) or as text that decodes to the same (other variants)."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weboter.runtime.core.references import EnvSource, Resolver, display
from weboter.runtime.core.secrets import redact

pytestmark = pytest.mark.timeout(120)

# (encode, decode: None where the text must come back character for character)
ENCODERS: dict[str, tuple[Callable[[str], str], Callable[[str], str] | None]] = {
    "quote": (lambda t: quote(t, safe=""), None),
    "quote /": (quote, None),
    "quote_plus": (quote_plus, None),
    "lower-case hex": (
        lambda t: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(t, safe="")),
        unquote,
    ),
    "json": (json.dumps, None),
    "json as it is": (lambda t: json.dumps(t, ensure_ascii=False), None),
    "json \\u003c": (
        lambda t: json.dumps(t).replace("<", "\\u003c").replace("&", "\\u0026"),
        json.loads,
    ),
    "html": (html.escape, None),
    "html text": (lambda t: html.escape(t, quote=False), None),
    "html attribute": (lambda t: t.replace("&", "&amp;").replace('"', "&quot;"), None),
    "html decimal": (
        lambda t: "".join(c if c.isalnum() else f"&#{ord(c)};" for c in t),
        html.unescape,
    ),
    "base64": (lambda t: base64.b64encode(t.encode()).decode(), None),
    "base64 url-safe": (lambda t: base64.urlsafe_b64encode(t.encode()).decode(), None),
    "base64 unpadded": (lambda t: base64.b64encode(t.encode()).decode().rstrip("="), None),
}
CHARS = st.sampled_from(list("abcXYZ019 &\"<>'/\\%+=?#:;@é€😀\n~*()!$"))
SECRETS = st.text(CHARS, min_size=6, max_size=16).filter(lambda s: any(c.isalnum() for c in s))
AROUND = st.text(CHARS, max_size=7)


def own_characters(name: str, secret: str, encoded_text: str, text: str) -> str:
    """The characters that stand for the secret alone in `encoded_text` (for base64: those
    made of its bits only)."""
    encode = ENCODERS[name][0]
    if not name.startswith("base64"):
        return encode(secret)[1:-1] if name.startswith("json") else encode(secret)
    before, data = text.split(secret, 1)[0].encode(), secret.encode()
    start, end = 8 * len(before), 8 * (len(before) + len(data))
    return encoded_text[-(-start // 6) : end // 6]


@settings(max_examples=150, deadline=None)
@given(secret=SECRETS, before=AROUND, after=AROUND, name=st.sampled_from(sorted(ENCODERS)))
def test_a_secret_encoded_inside_text_is_redacted_and_comes_back(
    secret: str, before: str, after: str, name: str
) -> None:
    text = before + secret + after
    encode, decode = ENCODERS[name]
    encoded = encode(text)
    stored = redact({"v": encoded}, {"k": secret})["v"]
    assert own_characters(name, secret, encoded, text) not in stored.replace("\x00", "|")
    assert "$env{k}" in display(stored)
    back = Resolver(EnvSource({"k": secret}, use_os=False)).unmark(stored)
    assert back == encoded if decode is None else decode(back) == decode(encoded)
