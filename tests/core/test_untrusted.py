"""What goes to a model (runtime/core/untrusted.py): every secret the run uses is taken out
whatever its length — as it is, encoded, inside longer text that was then encoded — and
shown as its reference."""

from __future__ import annotations

import base64
import json

import pytest

from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.untrusted import scrub, secrets_of

pytestmark = pytest.mark.timeout(30)


def test_a_short_secret_is_taken_out_wherever_it_stands() -> None:
    basic = base64.b64encode(b"user:ab1").decode()
    quoted = json.dumps({"q": 'say "ab1"'})
    text = f"Authorization: Basic {basic}; PIN Zq9x!; {quoted}; https://x/?p=Zq9x%21"
    said = scrub(text, {"K": "ab1", "PIN": "Zq9x!"})
    assert "Zq9x" not in said and "ab1" not in said
    assert basic not in said and base64.b64encode(b"ab1").decode() not in said
    assert "$env{PIN}" in said and "$env{K}" in said


def test_a_group_s_values_and_the_references_a_run_uses() -> None:
    env = EnvSource({"shop": {"user": "ann", "pass": "p4"}, "other": "unused-9"}, use_os=False)
    found = secrets_of([{"inputs": {"u": "$env{shop}"}}, ["$env{missing}"]], env)
    assert found == {"shop": {"user": "ann", "pass": "p4"}}
    said = scrub("ann logs in with p4, not unused-9", found)
    assert said == "$env{shop.user} logs in with $env{shop.pass}, not unused-9"
