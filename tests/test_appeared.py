"""What appeared on a page after an act that kept its URL (runtime/browser/appeared.py): the
element an agent session records as the act's `expect_visible` post-condition."""

from __future__ import annotations

from weboter.runtime.browser.appeared import appeared

BEFORE = """- generic [ref=e1]:
  - heading "Products" [level=1] [ref=e2]
  - button "Add to cart" [ref=e3] [cursor=pointer]
  - button "Add to cart" [ref=e4] [cursor=pointer]
  - textbox "Search" [ref=e5]
  - paragraph [ref=e6]: Cart is empty"""


def test_a_message_that_appeared_is_found_by_its_text_an_alert_first() -> None:
    after = BEFORE.replace("Cart is empty", "Cart has 1 item") + (
        '\n  - status [ref=e9]: Added "Shoe" to the cart\n  - heading "Cart" [level=2]'
    )
    assert appeared(BEFORE, after) == {
        "element": 'Added "Shoe" to the cart',
        "type": "text",
        "ext": {"exact": True},
    }
    without_status = "\n".join(line for line in after.splitlines() if "status" not in line)
    assert appeared(BEFORE, without_status) == {
        "element": "heading",
        "type": "role",
        "ext": {"name": "Cart", "exact": True},
    }


def test_nothing_new_typed_values_repeats_and_secrets_are_never_expected() -> None:
    assert appeared(BEFORE, BEFORE) is None
    typed = BEFORE.replace('textbox "Search" [ref=e5]', 'textbox "Search" [ref=e5]: shoes')
    assert appeared(BEFORE, typed) is None  # a value the person typed did not "appear"
    twice = BEFORE + '\n  - button "Remove" [ref=e7]\n  - button "Remove" [ref=e8]'
    assert appeared(BEFORE, twice) is None  # not the only one of its kind: not a locator
    welcome = BEFORE + "\n  - paragraph [ref=e7]: Welcome $env{shop.user}"
    assert appeared(BEFORE, welcome) is None
