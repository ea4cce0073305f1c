"""The run's steps in outline (runtime/ui/outline.py), event by event: what a step is marked
with (retried, skipped, healed, patched), and what a rewind takes back — also across the
checkpoints the graph at a point starts from."""

from __future__ import annotations

import pytest

from weboter.runtime.ui import outline
from weboter.runtime.ui.outline import _Kind, _Light, _Run, _take

pytestmark = pytest.mark.timeout(30)


def done(node: str, attempts: int = 1, path: str = "f") -> tuple[str, _Light]:
    return "NodeCompleted", _Light(node_id=node, flow_path=[path], next_node="x", attempts=attempts)


def failed(node: str) -> tuple[str, _Light]:
    return "NodeFailed", _Light(node_id=node, flow_path=["f"])


def applied(kind: str, source: str = "person", node: str = "n") -> tuple[str, _Light]:
    return "RepairApplied", _Light(node_id=node, source=source, action=_Kind(kind=kind))


def fed(*events: tuple[str, _Light]) -> _Run:
    run = _Run()
    for seq, (type_, event) in enumerate(events, start=1):
        _take(run, seq, type_, event)
        run.seq = seq  # read up to here (as Outlines does from the log)
    return run


def marked(run: _Run) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(s.node_id, s.outcome, s.marks) for s in run.steps]


def test_a_retry_after_a_failure_is_marked_a_skip_is_not() -> None:
    run = fed(failed("n"), applied("retry"), done("n"), failed("m"), applied("skip"), done("m", 0))
    assert marked(run) == [
        ("n", "failed", ()),
        ("n", "completed", ("retried",)),
        ("m", "failed", ()),
        ("m", "skipped", ()),
    ]


def test_a_failure_then_another_node_then_the_same_node_is_no_retry() -> None:
    run = fed(failed("n"), applied("jump"), done("other"), done("n"))
    assert marked(run)[-1] == ("n", "completed", ())


def test_a_node_of_the_same_id_in_another_flow_is_another_node() -> None:
    run = fed(("NodeAttemptFailed", _Light(node_id="n", error=outline._Where(["sub"]))))
    _take(run, 2, *done("n", path="f"))
    _take(run, 3, *done("n", 2, path="sub"))
    assert marked(run) == [("n", "completed", ()), ("n", "completed", ("retried",))]


def test_healed_and_patched_then_a_rewind_before_the_patch() -> None:
    run = fed(
        done("a"),  # seq 1
        applied("patch", "healer", "n"),
        ("NodePatched", _Light(node_id="n", flow_path=["f"])),  # seq 3
        done("n"),  # seq 4
        done("n"),  # seq 5
        ("RunRewound", _Light(to_seq=1)),  # seq 6: back before the patch
        done("n"),  # seq 7
    )
    assert marked(run) == [
        ("a", "completed", ()),
        ("n", "completed", ("healed", "patched")),
        ("n", "completed", ("patched",)),
        ("n", "completed", ()),
    ]
    assert [s.undone_at for s in run.steps] == [0, 6, 6, 0]


def test_the_counts_at_any_point_across_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outline, "EVERY", 3)  # checkpoints every 3 steps, so several are crossed
    events = [done("n") for _ in range(10)] + [("RunRewound", _Light(to_seq=4))]
    events += [done("n") for _ in range(2)]
    run = fed(*events)
    outlines = outline.Outlines()
    outlines._runs["r"] = run

    class Log:  # the log has nothing newer than what the outline holds
        def of_types(self, *_args: object, **_kw: object) -> list[object]:
            return []

    def ran(at: int | None) -> int:
        return outlines.graph_at(Log(), "r", at)["marks"]["f/n"]["done"]  # type: ignore[arg-type]

    assert [ran(at) for at in (1, 3, 4, 7, 10)] == [1, 3, 4, 7, 10]
    assert ran(11) == 4  # the rewind at seq 11 took steps 5..10 back
    assert ran(13) == ran(None) == 6
