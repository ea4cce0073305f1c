"""How a secret may stand encoded in what a run records, and how it is put back exactly so.

A redacted secret's marker names the encoding it stood in (`\\x00$env{path}|name\\x00`,
runtime/core/references.py), and `encode_as(name, secret)` gives back the very characters
that stood there, so a resumed or forked run gets the same text with the secret in it.

Named encodings, each reproducing its text exactly:

- percent: `url` (every character but letters, digits and `-._~`), `urlpath` (`/` too),
  `form` (`+` for spaces), `component` and `uri` (JavaScript's encodeURIComponent and
  encodeURI), `wwwform` (URLSearchParams), and how browsers encode a URL's `query`, `path`,
  `fragment` and `userinfo` (what a page's URL holds);
- JSON string escapes: `json` (non-ASCII as `\\uXXXX`), `jsonu` (non-ASCII as it is: what
  JSON.stringify and JsonStringify write);
- HTML: `html` (`& < > " '`), `htmltext` (`& < >`: text as a browser serializes a page),
  `htmlattr` (`& "`: an attribute's value), `htmlattr5` (`& " < >`: newer browsers' attributes);
- base64: `base64` (of the whole value), and `b64_A_H_T` / `b64url_A_H_T` for a secret inside
  longer text that was then base64-encoded (`base64_part`).

A secret's bytes inside base64 of longer text sit at one of three alignments `A` (its offset
in the encoded bytes, modulo 3). The characters that hold only the secret's bits are the same
whatever surrounds it; the one character before and the one after may hold a few bits of the
secret and a few of its neighbours'. The marker takes the place of all of them and keeps the
neighbours' bits (`H`, `T`, or `n` where no such character was taken), so the text comes back
exactly and no bit of the secret is left beside the marker.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _whatwg(encoded: str) -> Callable[[str], str]:
    """Percent-encoding the way browsers do in one part of a URL (the WHATWG URL standard):
    only the characters of `encoded`, controls and non-ASCII are encoded."""
    safe = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in encoded)
    return lambda s: quote(s, safe=safe)


def _keeping(kept: str, *, plus: bool = False) -> Callable[[str], str]:
    """Percent-encoding of everything but letters, digits and `kept` (UTF-8, upper-case hex);
    `plus`: a space as `+`."""
    safe = frozenset(_ALNUM + kept)

    def encode(text: str) -> str:
        out = []
        for ch in text:
            if ch in safe:
                out.append(ch)
            elif ch == " " and plus:
                out.append("+")
            else:
                out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        return "".join(out)

    return encode


def _html(*escaped: str) -> Callable[[str], str]:
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    replace = str.maketrans({ch: table[ch] for ch in escaped})
    return lambda s: s.translate(replace)


_QUERY = ' "#<>'
# every named encoding; the order is the preference when two give the same text
ENCODINGS: dict[str, Callable[[str], str]] = {
    "url": lambda s: quote(s, safe=""),
    "urlpath": lambda s: quote(s, safe="/"),
    "query": _whatwg(_QUERY + "'"),  # what a browser reports as page.url
    "path": _whatwg(_QUERY + "?`{}"),
    "fragment": _whatwg(' "<>`'),
    "userinfo": _whatwg(_QUERY + "?`{}/:;=@[\\]^|"),
    "form": quote_plus,
    "component": _keeping("-_.!~*'()"),
    "uri": _keeping("-_.!~*'();,/?:@&=+$#"),
    "wwwform": _keeping("*-._", plus=True),
    "json": lambda s: json.dumps(s)[1:-1],
    "jsonu": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "html": lambda s: html.escape(s, quote=True),
    "htmltext": _html("&", "<", ">"),
    "htmlattr": _html("&", '"'),
    "htmlattr5": _html("&", '"', "<", ">"),
    "base64": lambda s: base64.b64encode(s.encode()).decode("ascii"),
}
# of a form no named encoding reproduces (lower-case hex, `\u003c`, `&#60;` ...), the one
# that puts it back in the same family: it decodes to the same text
FAMILY_DEFAULT = {"percent": "url", "json": "json", "html": "html"}

_BASE64 = re.compile(r"(b64|b64url)_([012])_(n|\d+)_(n|\d+)")
STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
URLSAFE = STANDARD[:62] + "-_"


def encode_as(encoding: str, secret: str) -> str:
    """The text `secret` stood as in `encoding` (a marker's); unknown: the secret itself."""
    named = ENCODINGS.get(encoding)
    if named is not None:
        return named(secret)
    found = _BASE64.fullmatch(encoding)
    if found is None:
        return secret
    kind, align, head, tail = found.groups()
    return base64_part(
        secret.encode(),
        int(align),
        None if head == "n" else int(head),
        None if tail == "n" else int(tail),
        urlsafe=kind == "b64url",
    )


def shown(encoding: str) -> str:
    """An encoding's name for people (`b64_1_2_n` is base64)."""
    found = _BASE64.fullmatch(encoding)
    return ("base64url" if found.group(1) == "b64url" else "base64") if found else encoding


def base64_part(
    secret: bytes, align: int, head: int | None, tail: int | None, *, urlsafe: bool = False
) -> str:
    """The base64 characters `secret` becomes at alignment `align` (its offset in the
    encoded bytes, modulo 3): those made of its bits only, and, where `head` / `tail` give
    the neighbours' bits, the one character before / after that holds bits of both."""
    start, end = 8 * align, 8 * (align + len(secret))
    before = bytearray(align)
    if align and head is not None:
        before[-1] = head  # the low bits of the byte before the secret
    spare = 6 - end % 6  # bits of the next byte in the last character, if it is shared
    after = bytes([tail << (8 - spare)]) if end % 6 and tail is not None else b""
    stream = base64.b64encode(bytes(before) + secret + after + b"\0\0").decode("ascii")
    first = start // 6 if align and head is not None else -(-start // 6)
    last = end // 6 if end % 6 and tail is not None else end // 6 - 1
    part = stream[first : last + 1]
    return part.replace("+", "-").replace("/", "_") if urlsafe else part


def base64_name(align: int, head: int | None, tail: int | None, *, urlsafe: bool) -> str:
    """The marker's encoding for a secret found at `align` with these neighbours' bits."""
    shown_head = "n" if head is None else str(head)
    shown_tail = "n" if tail is None else str(tail)
    return f"{'b64url' if urlsafe else 'b64'}_{align}_{shown_head}_{shown_tail}"
