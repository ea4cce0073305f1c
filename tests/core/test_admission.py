"""The engine's run slots on their own (runtime/core/admission.py): first come, first served;
a bound on the places, reserved before a run is created; a run giving its slot up takes one
back ahead of the queue."""

from __future__ import annotations

from weboter.runtime.core.admission import BUSY, Admission


def test_runs_beyond_the_slots_wait_in_order_and_take_freed_slots() -> None:
    slots = Admission(limit=2, bound=10)
    assert [slots.admit(r) for r in ("a", "b", "c", "d")] == [None, None, 0, 1]
    assert slots.counts() == (2, 2)
    assert slots.release("b") == ["c"]  # the first waiting, holding b's slot now
    assert slots.release("d") == []  # d left the queue (paused, stopped): nobody moves up
    assert slots.release("a") == []
    assert slots.counts() == (1, 0)
    assert slots.holds("c") and not slots.holds("a")


def test_the_bound_counts_runs_in_progress_queued_and_being_created() -> None:
    slots = Admission(limit=1, bound=1)
    assert slots.reserve("job-1") is None
    slots.rename("job-1", "r1")
    assert slots.reserve("job-2") is None  # r1 is on its way: job-2 takes the queue's place
    refused = slots.reserve("job-3")
    assert refused is not None and refused.kind == BUSY
    assert refused.message == (
        "the engine has 0 runs in progress (--max-runs 1) and 2 queued (--max-queue 1): "
        "the run was not created"
    )
    slots.cancel("job-2")  # its run was refused for another reason
    assert slots.admit("r1") is None  # its reservation becomes its slot
    assert slots.reserve("job-3") is None
    assert Admission(limit=0).reserve("any") is None  # no limit: never refused


def test_a_run_that_gave_its_slot_up_goes_first() -> None:
    slots = Admission(limit=1, bound=10)
    assert slots.admit("parent") is None
    assert slots.admit("child") == 0
    assert slots.release("parent") == ["child"]  # YieldSlot: the child runs
    assert slots.admit("later") == 0
    assert slots.admit("parent", front=True) == 0  # its next node: ahead of `later`
    assert slots.release("child") == ["parent"]
    assert slots.release("parent") == ["later"]
