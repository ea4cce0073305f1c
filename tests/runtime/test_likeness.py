"""The healer's judgement, without a browser: how alike two fingerprints are, and when a page's
candidate is (for sure) the element a node acted on before."""

from __future__ import annotations

from typing import Any

import pytest

from weboter.runtime.browser.likeness import THRESHOLD, NotHealed, choose, score, selector_for

PASSWORD: dict[str, Any] = {
    "tag": "input",
    "id": "password",
    "name": "",
    "text": "",
    "classes": [],
    "attributes": {"name": "password", "type": "password"},
    "ancestors": ["form", "main", "body", "html"],
    "index": 1,
}


def candidate(**changes: Any) -> dict[str, Any]:
    found = {**PASSWORD, "selectors": [["#" + str(changes.get("id", "password")), 1]]}
    found.update(changes)
    return found


def test_the_same_element_scores_one_and_a_stranger_low() -> None:
    assert score(PASSWORD, candidate()) == 1.0
    stranger = candidate(tag="a", id="home", attributes={"href": "/"}, index=0)
    assert score(PASSWORD, stranger) < 0.3


def test_a_renamed_id_is_found_by_what_else_it_is() -> None:
    user = candidate(id="username", attributes={"name": "username"}, index=0)
    chosen = choose([PASSWORD], [user, candidate(id="pw")], many=False)
    assert chosen.selector == "#pw" and chosen.score >= THRESHOLD > chosen.runner_up


def test_nothing_alike_enough_or_two_as_alike_is_not_healed() -> None:
    with pytest.raises(NotHealed, match=r"alike enough|says what it said"):
        choose([PASSWORD], [candidate(tag="select", attributes={}, id="x")], many=False)
    with pytest.raises(NotHealed, match="about as alike"):
        choose([PASSWORD], [candidate(id="pw-a"), candidate(id="pw-b")], many=False)
    with pytest.raises(NotHealed, match="no earlier successful run"):
        choose([], [candidate()], many=False)


def test_a_list_is_found_by_its_family_one_element_by_a_unique_selector() -> None:
    item = {
        "tag": "li",
        "classes": ["item"],
        "selectors": [["li.item", 4], ["main > ul > li:nth-of-type(1)", 1]],
    }
    assert selector_for(item, many=True) == "li.item"
    assert selector_for(item, many=False) == "main > ul > li:nth-of-type(1)"
    with pytest.raises(NotHealed, match="alone"):
        selector_for({"tag": "li", "selectors": [["li", 4]]}, many=False)


def test_a_site_never_seen_renamed_whole_keeps_its_password_field_by_its_label() -> None:
    """A bank's redesign: every id, class and name renamed, labels and types kept. The only
    password input under the same label is the element (it scored 0.54 before labels and
    the words around an element were fingerprinted)."""
    recorded = {
        **PASSWORD,
        "classes": ["form-control"],
        "label": "Password",
        "near": "Password",
        "ancestors": ["div.field", "form#login", "main", "body"],
    }
    renamed = {
        "id": "nw-secret-q9",
        "classes": ["nw-in-7"],
        "attributes": {"name": "secret_word", "type": "password"},
        "ancestors": ["div.nw-row", "form#nw-f", "main", "body"],
    }
    secret = candidate(**renamed, label="Password", near="Password")
    secret["selectors"] = [["#nw-secret-q9", 1]]
    user = candidate(
        id="nw-id-3",
        attributes={"name": "who", "type": "text"},
        label="Customer number",
        near="Customer number",
        index=0,
        selectors=[["#nw-id-3", 1]],
    )
    chosen = choose([recorded], [user, secret], many=False)
    assert chosen.selector == "#nw-secret-q9" and chosen.score > chosen.runner_up + 0.2
    # the password field gone: the customer number field is never taken for it
    with pytest.raises(NotHealed, match="says what it said"):
        choose([recorded], [user], many=False)


def test_an_element_that_said_nothing_is_healed_only_onto_its_own_id_or_name() -> None:
    """An unlabelled checkbox removed: the one left beside it is not taken for it; renamed
    but keeping its `name`, it is found. A label that became an aria-label still says it."""
    terms = {
        "tag": "input",
        "id": "terms",
        "attributes": {"type": "checkbox", "name": "terms"},
        "ancestors": ["form", "main", "body"],
        "index": 0,
    }
    newsletter = {
        **terms,
        "id": "newsletter",
        "attributes": {"type": "checkbox", "name": "news"},
        "selectors": [["#newsletter", 1]],
    }
    with pytest.raises(NotHealed, match="says what it said"):
        choose([terms], [newsletter], many=False)
    renamed = {**terms, "id": "t-9", "selectors": [["#t-9", 1]]}  # its name kept
    assert choose([terms], [renamed], many=False).selector == "#t-9"
    email = {**PASSWORD, "label": "Email", "attributes": {"name": "email", "type": "email"}}
    named = candidate(id="e", label="", name="Email", attributes=email["attributes"])
    named["selectors"] = [["#e", 1]]
    assert choose([email], [named], many=False).selector == "#e"
