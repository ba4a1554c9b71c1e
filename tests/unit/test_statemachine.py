"""The one transition-table helper: what it allows, and the one refusal it gives."""

from __future__ import annotations

import pytest

from services.common.errors import Conflict
from services.common.statemachine import StateMachine

TASK = StateMachine(
    "任务",
    {"assigned": "已布置", "checked": "已检查", "done": "已落实", "dropped": "已撤销"},
    {
        "check": ("assigned", "checked"),
        "complete": ("checked", "done"),
        "drop": (("assigned", "checked"), "dropped"),
    },
)


def test_allowed_steps_lead_to_their_status():
    assert TASK.target("assigned", "check") == "checked"
    assert TASK.target("checked", "drop") == "dropped"
    assert TASK.step_to("checked", "done") == "complete"


def test_what_may_follow_a_status_in_table_order():
    assert TASK.allowed_steps("assigned") == ["check", "drop"]
    assert TASK.next_statuses("checked") == ["done", "dropped"]
    assert TASK.allowed_steps("done") == []


@pytest.mark.parametrize(
    ("status", "step", "allowed"),
    [
        ("assigned", "complete", ["checked", "dropped"]),
        ("done", "check", []),
        ("checked", "no-such-step", ["done", "dropped"]),
    ],
)
def test_a_step_the_table_does_not_allow_is_one_conflict_naming_what_is(status, step, allowed):
    with pytest.raises(Conflict) as caught:
        TASK.target(status, step)
    error = caught.value
    assert error.reason == "invalid_transition"
    assert error.details["status"] == status
    assert error.details["requested"] == step
    assert error.details["allowed_statuses"] == allowed
    assert error.message.startswith("任务当前状态为")


def test_asking_for_a_status_not_reachable_is_the_same_conflict():
    with pytest.raises(Conflict) as caught:
        TASK.step_to("assigned", "done")
    assert caught.value.details["allowed_steps"] == ["check", "drop"]


def test_a_table_naming_an_unknown_status_is_refused_when_defined():
    with pytest.raises(ValueError):
        StateMachine("x", {"a": "甲"}, {"go": ("a", "b")})
