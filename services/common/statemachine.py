"""Workflows as transition tables, one way for every record with a status.

    VISIT = StateMachine(
        "接待申请",
        {"requested": "待处理", "approved": "已批准", ...},
        {"approve": ("requested", "approved"), "decline": ("requested", "declined"), ...},
    )
    VISIT.target(visit.status, "approve")   # "approved", or Conflict

A step that the table does not allow from the record's status is refused with the same
`Conflict` everywhere: reason `invalid_transition`, the current status, the step asked
for, and the steps and statuses allowed from here in `details`, so a client can offer
what may be done next. Writing the new status stays with the caller (compare-and-set or
under a lock, as the record needs).

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.common.errors import Conflict


@dataclass(frozen=True)
class StateMachine:
    """`what` names the record in messages; `names` gives each status its Chinese name;
    `steps` maps each step to (the statuses it may start from, the status it leads to)."""

    what: str
    names: Mapping[str, str]
    steps: Mapping[str, tuple[str | Iterable[str], str]]

    def __post_init__(self) -> None:
        for step, (sources, target) in self.steps.items():
            unknown = (set(_as_set(sources)) | {target}) - set(self.names)
            if unknown:
                raise ValueError(f"{self.what}: step {step} names unknown statuses {unknown}")

    @property
    def statuses(self) -> list[str]:
        return list(self.names)

    def sources(self, step: str) -> frozenset[str]:
        return _as_set(self.steps[step][0])

    def allowed_steps(self, status: str) -> list[str]:
        """The steps that may be taken from `status`, in the table's order."""
        return [step for step in self.steps if status in self.sources(step)]

    def next_statuses(self, status: str) -> list[str]:
        seen: list[str] = []
        for step in self.allowed_steps(status):
            target = self.steps[step][1]
            if target not in seen:
                seen.append(target)
        return seen

    def target(self, status: str, step: str) -> str:
        """The status `step` leads to from `status`; Conflict when the table does not allow it."""
        if step in self.steps and status in self.sources(step):
            return self.steps[step][1]
        raise self.refusal(status, step)

    def step_to(self, status: str, target: str) -> str:
        """The step that leads from `status` to `target` (for APIs that name the new status)."""
        for step in self.allowed_steps(status):
            if self.steps[step][1] == target:
                return step
        raise self.refusal(status, target)

    def refusal(self, status: str, asked: str) -> Conflict:
        allowed = self.next_statuses(status)
        if allowed:
            hint = "只能改为：" + "、".join(f"“{self.names[s]}”" for s in allowed) + "。"
        else:
            hint = "不能再变更状态。"
        return Conflict(
            f"{self.what}当前状态为“{self.names.get(status, status)}”，{hint}",
            {
                "status": status,
                "requested": asked,
                "allowed_steps": self.allowed_steps(status),
                "allowed_statuses": allowed,
            },
            reason="invalid_transition",
        )


def _as_set(sources: str | Iterable[str]) -> frozenset[str]:
    return frozenset({sources} if isinstance(sources, str) else sources)
