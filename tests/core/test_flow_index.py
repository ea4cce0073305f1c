"""`index_for`: a workflow's index of flows and nodes, kept for the workflow asked for last and
for recent others; never another workflow's, even an equal one."""

from __future__ import annotations

import pytest

from tests.conftest import flow, node
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.loader import to_workflow

pytestmark = pytest.mark.timeout(10)


def test_each_workflow_gets_its_own_index_asked_in_turn() -> None:
    first = to_workflow(flow(node("a", "EmptyAction", "EndFlow")), "t")
    second = to_workflow(flow(node("b", "EmptyAction", "EndFlow")), "t")
    for _ in range(3):  # in turn: the one asked for last is never the other's
        assert index_for(first).node(["f"], "a") is not None
        assert index_for(first).node(["f"], "b") is None
        assert index_for(second).node(["f"], "b") is not None
        assert index_for(second).node(["f"], "a") is None
    assert index_for(first) is index_for(first)  # kept, not rebuilt


def test_an_equal_workflow_that_is_another_object_gets_its_own_index() -> None:
    spec = flow(node("a", "EmptyAction", "EndFlow"))
    one, other = to_workflow(spec, "t"), to_workflow(spec, "t")
    assert one == other and one is not other
    assert index_for(one).workflow is one
    assert index_for(other).workflow is other
