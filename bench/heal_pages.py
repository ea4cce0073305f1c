"""The pages of the relocation benchmark (bench/heal.py): small sites of varied kinds, each
written once as a list of blocks, and drawn again as a redesign would change them.

A block is one element the site shows (`key` names the benchmark's target; None: scenery).
`draw(site, change)` renders the site before (`change` None) or after one kind of change:

- renamed:   every id, class and name attribute renamed (as a new front-end build does)
- moved:     the blocks in another order (a form's fields, a page's sections)
- wrapped:   each block inside two new wrappers (a new layout grid)
- text:      the words of buttons and links edited a little ("Sign in" -> "Sign in now")
- reordered: the items of every list shuffled (the target is the same item, by its words)
- decoys:    look-alikes added beside each target (same tag and kind, other words)
- redesign:  renamed, moved and wrapped at once
- removed:   one target gone (the healer must refuse: any element it picks is wrong)

Targets carry `data-bench` (no fingerprint reads it: runtime/browser/support.py lists what
one reads), so the benchmark knows which element is which.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field, replace

KINDS = ("renamed", "moved", "wrapped", "text", "reordered", "decoys", "redesign", "removed")


@dataclass(frozen=True)
class Block:
    tag: str
    text: str = ""
    key: str | None = None
    label: str = ""  # a <label for> before it (inputs, selects)
    attrs: dict[str, str] = field(default_factory=dict)
    ident: str = ""
    classes: tuple[str, ...] = ()
    items: tuple[Block, ...] = ()  # a list's items (ul/ol/table body)
    decoy: str = ""  # the words of a look-alike (kind "decoys")


@dataclass(frozen=True)
class Site:
    name: str
    title: str
    blocks: tuple[Block, ...]


def _input(key: str, label: str, kind: str = "text", name: str = "", ph: str = "") -> Block:
    attrs = {"type": kind, "name": name or key}
    if ph:
        attrs["placeholder"] = ph
    return Block(
        "input",
        key=key,
        label=label,
        attrs=attrs,
        ident=f"f-{key}",
        classes=("field",),
        decoy=f"{label} (again)",
    )


def _button(key: str, text: str, cls: str = "btn") -> Block:
    return Block(
        "button", text, key=key, ident=f"b-{key}", classes=(cls, "primary"), decoy=f"{text} later"
    )


def _link(key: str, text: str, href: str) -> Block:
    return Block(
        "a", text, key=key, attrs={"href": href}, classes=("link",), decoy=f"More {text.lower()}"
    )


def _items(prefix: str, names: list[str], keyed: set[int], button: str) -> tuple[Block, ...]:
    rows = []
    for i, name in enumerate(names):
        key = f"{prefix}{i}" if i in keyed else None
        rows.append(
            Block(
                "li",
                classes=("row",),
                items=(
                    Block("span", name, classes=("item-name",)),
                    Block("button", button, key=key, classes=("act",), attrs={"type": "button"}),
                ),
            )
        )
    return tuple(rows)


SITES = (
    Site(
        "bank",
        "Sign in to your bank",
        (
            Block("h1", "Online banking"),
            _input("user", "Customer number", name="customer", ph="12345678"),
            _input("secret", "Password", "password", name="password"),
            Block(
                "input",
                key="remember",
                label="Remember me",
                attrs={"type": "checkbox", "name": "remember"},
                decoy="Remember my device",
            ),
            _button("signin", "Sign in"),
            _link("forgot", "Forgot your password?", "/forgot"),
            _link("open", "Open an account", "/open"),
        ),
    ),
    Site(
        "search",
        "Find a flight",
        (
            Block("h1", "Flights"),
            _input("from", "From", name="origin", ph="City or airport"),
            _input("to", "To", name="destination", ph="City or airport"),
            _input("date", "Departure", "date", name="depart"),
            Block(
                "select",
                key="cabin",
                label="Cabin",
                attrs={"name": "cabin"},
                items=(Block("option", "Economy"), Block("option", "Business")),
            ),
            _button("find", "Search flights"),
        ),
    ),
    Site(
        "shop",
        "Products",
        (
            Block("h1", "Our products"),
            _input("q", "Search products", "search", name="q", ph="Search"),
            Block(
                "ul",
                classes=("products",),
                items=_items(
                    "add",
                    [
                        "Walnut Desk Lamp",
                        "Linen Tea Towel",
                        "Oak Cutting Board",
                        "Wool Throw",
                        "Brass Hook",
                        "Clay Mug",
                    ],
                    {0, 2, 4, 5},
                    "Add to cart",
                ),
            ),
            _link("next", "Next page", "/products?page=2"),
            _link("cart", "Your cart", "/cart"),
        ),
    ),
    Site(
        "settings",
        "Account settings",
        (
            Block("h2", "Profile"),
            _input("display", "Display name", name="display_name"),
            _input("email", "Email address", "email", name="email"),
            Block("h2", "Notifications"),
            Block(
                "input",
                key="news",
                label="Newsletter",
                attrs={"type": "checkbox", "name": "news"},
                decoy="Partner offers",
            ),
            Block(
                "input",
                key="alerts",
                label="Security alerts",
                attrs={"type": "checkbox", "name": "alerts"},
                decoy="Marketing alerts",
            ),
            Block(
                "select",
                key="lang",
                label="Language",
                attrs={"name": "lang"},
                items=(Block("option", "English"), Block("option", "Deutsch")),
            ),
            _button("save", "Save changes"),
            _button("delete", "Delete account", "danger"),
        ),
    ),
    Site(
        "blog",
        "A blog post",
        (
            Block(
                "nav",
                items=(
                    Block("a", "Home", key="home", attrs={"href": "/"}),
                    Block("a", "Archive", key="archive", attrs={"href": "/archive"}),
                    Block("a", "About", key="about", attrs={"href": "/about"}),
                ),
            ),
            Block("h1", "Ten years of plain HTML", key="title"),
            Block("p", "Written by Ada, in March."),
            _link("comments", "Read the comments", "/post/10#comments"),
            _button("share", "Share this post"),
        ),
    ),
    Site(
        "admin",
        "Users",
        (
            Block("h1", "Users"),
            Block(
                "ul",
                classes=("users",),
                items=_items(
                    "edit",
                    [
                        "ada@example.org",
                        "grace@example.org",
                        "alan@example.org",
                        "edsger@example.org",
                        "barbara@example.org",
                    ],
                    {1, 3, 4},
                    "Edit",
                ),
            ),
            _button("invite", "Invite a user"),
            _input("filter", "Filter users", name="filter", ph="Name or email"),
        ),
    ),
    Site(
        "checkout",
        "Checkout",
        (
            Block("h1", "Shipping address"),
            _input("fullname", "Full name", name="name"),
            _input("street", "Street and number", name="street"),
            _input("zip", "Postcode", name="zip"),
            _input("city", "City", name="city"),
            Block(
                "select",
                key="country",
                label="Country",
                attrs={"name": "country"},
                items=(Block("option", "France"), Block("option", "Italy")),
            ),
            _button("pay", "Continue to payment"),
            _link("back", "Back to cart", "/cart"),
        ),
    ),
)


def targets(site: Site) -> list[Block]:
    found: list[Block] = []

    def walk(blocks: tuple[Block, ...]) -> None:
        for b in blocks:
            if b.key:
                found.append(b)
            walk(b.items)

    walk(site.blocks)
    return found


def _renamed(name: str) -> str:
    return f"x{abs(hash(('renamed', name))) % 10**6:06d}-{name[::-1][:3]}"


def _edited(text: str) -> str:
    return f"{text} now" if len(text.split()) < 3 else text.replace(" ", "  ", 1) + "!"


def _change_block(b: Block, change: str, rng: random.Random) -> Block:
    items = tuple(_change_block(i, change, rng) for i in b.items)
    if change in ("reordered",) and b.tag in ("ul", "ol"):
        items = tuple(rng.sample(items, len(items)))
    attrs = dict(b.attrs)
    ident, classes, text = b.ident, b.classes, b.text
    if change in ("renamed", "redesign"):
        ident = _renamed(ident) if ident else ""
        classes = tuple(_renamed(c) for c in classes)
        if "name" in attrs:
            attrs["name"] = _renamed(attrs["name"])
    if change == "text" and b.tag in ("button", "a") and text:
        text = _edited(text)
    return replace(b, attrs=attrs, ident=ident, classes=classes, text=text, items=items)


def draw(site: Site, change: str | None = None, removed: str | None = None, seed: int = 7) -> str:
    """The site's HTML: as it was (`change` None), or after `change` (`removed`: that target's
    element left out)."""
    rng = random.Random(f"{site.name}/{change}/{removed}/{seed}")
    blocks = [_change_block(b, change, rng) if change else b for b in site.blocks]
    blocks = [b for b in blocks if b.key is None or b.key != removed]
    if change in ("moved", "redesign"):
        head, rest = blocks[:1], blocks[1:]
        blocks = head + rest[::-1]
    body = "\n".join(_render(b, change, removed, rng) for b in blocks)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(site.title)}"
        f"</title></head><body><main>\n{body}\n</main></body></html>"
    )


def _render(b: Block, change: str | None, removed: str | None, rng: random.Random) -> str:
    if b.key is not None and b.key == removed:
        return ""
    own = dict(b.attrs)
    if b.ident:
        own["id"] = b.ident
    if b.classes:
        own["class"] = " ".join(b.classes)
    if b.key:
        own["data-bench"] = b.key
    if b.label and "id" not in own:
        own["id"] = f"in-{b.key or rng.randrange(10**6)}"
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in own.items())
    inner = html.escape(b.text) + "".join(_render(i, change, removed, rng) for i in b.items)
    element = f"<{b.tag}{attrs}>" if b.tag == "input" else f"<{b.tag}{attrs}>{inner}</{b.tag}>"
    if b.label:
        element = f'<label for="{own["id"]}">{html.escape(b.label)}</label> {element}'
    if change == "decoys" and b.key and b.decoy:
        decoy = replace(
            b,
            key=None,
            label=b.label and b.decoy,
            text=b.text and b.decoy,
            ident=f"{b.ident}-2" if b.ident else "",
            decoy="",
            attrs={**b.attrs, **({"name": b.attrs["name"] + "2"} if "name" in b.attrs else {})},
        )
        element += _render(decoy, None, None, rng)
    if change in ("wrapped", "redesign"):
        element = f'<div class="grid"><div class="cell">{element}</div></div>'
    return (
        f"<div class='block'>{element}</div>"
        if b.tag not in ("li", "option", "a", "span", "button") or b.label
        else element
    )
