"""Finding one secret in text, in clear or encoded, also inside longer text that was encoded.

Percent-encoding, JSON and HTML escapes change a text character by character, so a secret
inside longer text that was then encoded stands in it as the secret's own characters, each in
clear or escaped. One regular expression per secret finds every such form at once: each
character of the secret may stand as itself, percent-encoded (any case of hex, `+` for a
space, `%uXXXX`, Latin-1), JSON-escaped (`\\"`, `\\\\`, `\\/`, `\\n`, `\\uXXXX` in any case,
surrogate pairs) or as an HTML character reference (named, decimal or hex). Letters and digits
are left as they are by every encoder, so the secret's longest run of them is looked for first
(`str.find`, fast) and the expression runs only on text that holds it.

Base64 does not work character by character; a secret inside base64-encoded text is found by
the characters its bytes become at each of the three alignments (runtime/core/encodings.py).
"""

from __future__ import annotations

import html
import html.entities
import json
import re
from collections.abc import Callable

from weboter.runtime.core.encodings import (
    ENCODINGS,
    FAMILY_DEFAULT,
    STANDARD,
    URLSAFE,
    base64_name,
    base64_part,
)

MIN_SUBSTRING_SECRET = 6  # shorter secrets are redacted only as whole values
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]+")
# the character after the backslash of JSON's short escapes
_SHORT_JSON = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r"}
_SHORT_JSON["\t"] = "t"


def _entity_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for name, text in html.entities.html5.items():
        if len(text) == 1:
            names.setdefault(text, []).append(name)
    for found in names.values():
        found.sort(key=lambda n: (not n.endswith(";"), n))  # `&amp;` before `&amp`
    return names


_ENTITIES = _entity_names()


def _hex(value: int, width: int) -> str:
    """`value` in hex as a pattern that takes either case."""
    return "".join(f"[{d.upper()}{d}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def char_pattern(ch: str) -> str:
    """Every way one character of a secret may stand in encoded text, as a pattern."""
    if ch.isascii() and ch.isalnum():
        return ch  # no encoder touches it: the prefilter (`Finder.anchor`) relies on it
    point = ord(ch)
    ways = ["".join("%" + _hex(b, 2) for b in ch.encode("utf-8", "surrogatepass"))]
    if 0x80 <= point < 0x100:
        ways.append("%" + _hex(point, 2))  # Latin-1, as JavaScript's escape() writes it
    elif 0x100 <= point < 0x10000:
        ways.append("%[uU]" + _hex(point, 4))
    if point < 0x10000:
        ways.append(r"\\u" + _hex(point, 4))
    else:
        high, low = 0xD800 + ((point - 0x10000) >> 10), 0xDC00 + ((point - 0x10000) & 0x3FF)
        ways.append(r"\\u" + _hex(high, 4) + r"\\u" + _hex(low, 4))
    if ch in _SHORT_JSON:
        ways.append(re.escape("\\" + _SHORT_JSON[ch]))
    ways += [re.escape("&" + name) for name in _ENTITIES.get(ch, [])]
    ways += [f"&#0*{point};", f"&#[xX]0*{_hex(point, 1)};"]
    if ch == " ":
        ways.append(r"\+")
    return "(?:" + "|".join([*ways, re.escape(ch)]) + ")"


class Finder:
    """One secret (`path` -> `secret`): where it stands in a text, and the marker for each
    place (`mark(encoding)` makes a marker)."""

    def __init__(
        self, path: str, secret: str, mark: Callable[[str, str], str], *, everywhere: bool = False
    ) -> None:
        self.secret = secret
        self.plain = mark(path, "")
        self._mark = lambda encoding: mark(path, encoding)
        named: dict[str, str] = {}
        for name, encode in ENCODINGS.items():
            named.setdefault(encode(secret), name)
        named.pop(secret, None)
        self.named = named  # an encoded form -> its encoding
        self.whole = {form: mark(path, name) for form, name in named.items()}
        self.whole[secret] = self.plain
        self._forms = sorted(self.whole, key=lambda f: -len(f))
        # `everywhere`: inside longer text whatever its length (what goes to a model)
        long = everywhere or len(secret) >= MIN_SUBSTRING_SECRET
        runs = _ASCII_ALNUM.findall(secret)
        self.anchor = max(runs, key=len) if runs else ""
        # replaced wherever they stand: every named form (a short secret: those long enough
        # to be told from other text), split by whether they hold the anchor
        exact = [f for f in self._forms if long or len(f) >= MIN_SUBSTRING_SECRET]
        exact = [f for f in exact if f]
        self._anchored = [f for f in exact if self.anchor in f]
        self._unanchored = [f for f in exact if self.anchor not in f]
        self.pattern = re.compile("".join(map(char_pattern, secret))) if long else None
        self.base64 = _base64_needles(secret.encode()) if long else []
        # no text shorter than this holds the secret in any form (a fast way past most text)
        self.shortest = min(len(f) for f in (*self.whole, *(b[0] for b in self.base64)))

    def exact(self, text: str) -> str:
        """`text` with the secret marked where it stands as itself or in a named encoding.
        Done for every secret before `variants`: an exact form is the surest reading."""
        if self.anchor in text:
            for form in self._anchored:
                if form in text:
                    text = text.replace(form, self.whole[form])
        for form in self._unanchored:
            if form in text:
                text = text.replace(form, self.whole[form])
        return text

    def variants(self, text: str) -> str:
        """`text` with the secret marked where it stands escaped in any other way (a mix
        of escapes, lower-case hex, numeric references ...) or inside longer base64."""
        if self.pattern is not None and self.anchor in text:
            text = self._escaped(text, self.pattern)
        for needle, align, urlsafe in self.base64:
            if needle in text:
                text = self._base64(text, needle, align, urlsafe)
        return text

    def _escaped(self, text: str, pattern: re.Pattern[str]) -> str:
        """Every place the secret stands in clear or escaped character by character, marked."""
        pieces, at = [], 0
        while (found := pattern.search(text, at)) is not None:
            start, end = found.span()
            form = found.group(0)
            mark = self.whole.get(form)
            if mark is None:
                # a match that begins with a character of the text before it (`\"` where a
                # `\` precedes the secret's `"`): the exact form inside is marked, and what
                # follows it is searched again (it may begin the next place)
                inside = next(((form.find(f), f) for f in self._forms if f in form), None)
                if inside is not None:
                    offset, exact = inside
                    pieces += [text[at : start + offset], self.whole[exact]]
                    at = start + offset + len(exact)
                    continue
                mark = self._mark(_family(form, self.secret))
            pieces += [text[at:start], mark]
            at = end
        pieces.append(text[at:])
        return "".join(pieces)

    def _base64(self, text: str, needle: str, align: int, urlsafe: bool | None) -> str:
        """Every place `needle` (the secret's own characters at `align`) stands, with the
        character before and after that hold bits of the secret, marked. `urlsafe` None:
        the needle is the same in both alphabets; the characters beside it tell which."""
        data = self.secret.encode()
        pieces, at = [], 0
        while (start := text.find(needle, at)) >= 0:
            end = start + len(needle)
            before = text[start - 1] if start > at else ""
            after = text[end] if end < len(text) else ""
            safe = urlsafe if urlsafe is not None else bool({before, after} & {"-", "_"})
            alphabet = URLSAFE if safe else STANDARD
            head = _head(before, alphabet, align, data[0])
            tail = _tail(after, alphabet, align, data)
            pieces.append(text[at : start - (head is not None)])
            pieces.append(self._mark(base64_name(align, head, tail, urlsafe=safe)))
            at = end + (tail is not None)
        pieces.append(text[at:])
        return "".join(pieces)


def _base64_needles(data: bytes) -> list[tuple[str, int, bool | None]]:
    """(characters, alignment, URL-safe) of `data` inside longer base64, longest first;
    URL-safe None where both alphabets give the same characters."""
    found: list[tuple[str, int, bool | None]] = []
    for align in (0, 1, 2):
        standard = base64_part(data, align, None, None)
        urlsafe = base64_part(data, align, None, None, urlsafe=True)
        if urlsafe == standard:
            found.append((standard, align, None))
        else:
            found += [(standard, align, False), (urlsafe, align, True)]
    return sorted(found, key=lambda f: -len(f[0]))


def _head(ch: str, alphabet: str, align: int, first: int) -> int | None:
    """The bits of the byte before the secret in the character `ch` before its own, if `ch`
    holds the secret's first bits (alignment 1: 4 of them, 2: 2); else None."""
    mine = (0, 4, 2)[align]
    value = alphabet.find(ch) if ch else -1
    if not mine or value < 0 or value & ((1 << mine) - 1) != first >> (8 - mine):
        return None
    return value >> mine


def _tail(ch: str, alphabet: str, align: int, data: bytes) -> int | None:
    """The bits of the byte after the secret in the character `ch` after its own, if `ch`
    holds the secret's last bits; else None."""
    mine = (8 * (align + len(data))) % 6
    value = alphabet.find(ch) if ch else -1
    if not mine or value < 0 or value >> (6 - mine) != data[-1] & ((1 << mine) - 1):
        return None
    return value & ((1 << (6 - mine)) - 1)


def _family(text: str, secret: str) -> str:
    """The encoding that puts a found form back (one no named encoding reproduces): its
    family's first, which decodes to the same text."""
    try:
        if json.loads(f'"{text}"') == secret:
            return FAMILY_DEFAULT["json"]
    except ValueError:
        pass
    if html.unescape(text) == secret:
        return FAMILY_DEFAULT["html"]
    return FAMILY_DEFAULT["percent"]  # percent-encoded, or families mixed: put back so
