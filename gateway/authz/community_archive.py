"""The distinguished-alumni archive (杰出校友档案) and stories and news (校友风采):
who sees and does what (docs/community.md).

Archive (an entry is a nomination until the office approves it):

| action | office | committee | liaison |
|---|---|---|---|
| nominate | any alumnus | — | an alumnus of their department (another: 422, as unknown) |
| a nomination's status | all | all | the ones they made; others 404 |
| approve, reject, name the steward, record an honour | yes | — | — |
| the archive: list, entry, log, honours | all | all | entries they are steward of; others 404 |
| record an interaction | yes | — | as the entry's steward; others 404 |

A nomination not (or not yet) approved is not in the archive: reading it as an archive
entry answers 404 to everyone.

Stories and news:

| action | office | committee | liaison |
|---|---|---|---|
| stories: list, read | all | all | their department's; others 404 (another's list: 403) |
| write a draft, change a draft | yes | — | their department's, about alumni of their department |
| review, send back, publish, withdraw, redraft | yes | — | — |
| submit news | yes | — | about an alumnus of their department |
| the news queue: list, read | all | all | their department's; others 404 |
| accept, dismiss news | yes | — | — |

Anyone, signed in or not, reads published stories on the public routes; a draft, reviewed
or withdrawn story answers 404 there.
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import COMMITTEE, LIAISON, OFFICE, unknown_alumnus
from services.common.errors import NotFound, PermissionDenied
from services.common.visibility import departments_of

READ_ALL = (OFFICE, COMMITTEE)
NOMINATION_FIELDS = (
    "id",
    "alumnus_id",
    "alumnus_name",
    "status",
    "reasons",
    "department_id",
    "nominated_by",
    "nominator_id",
    "nominated_at",
    "decided_by",
    "decided_at",
    "decision_note",
)


def check_alumnus_in_scope(principal: Principal, alumnus: dict[str, Any], field: str) -> None:
    """A liaison names only alumni of their own department; another's is answered exactly
    as an unknown one (422 naming the field), so the answer does not tell it exists."""
    if principal.role == LIAISON and principal.department_id not in departments_of(alumnus):
        raise unknown_alumnus(field)


# ---- the archive ------------------------------------------------------------------------


def entry_not_found(entry: dict[str, Any]) -> NotFound:
    # The registry's own body for an id that does not exist: nothing to tell apart.
    return NotFound(
        "杰出校友档案不存在。", {"entry_id": entry["id"]}, reason="distinguished_not_found"
    )


def is_steward(principal: Principal, entry: dict[str, Any]) -> bool:
    steward = entry.get("steward")
    return bool(steward) and steward["id"] == principal.account_id


def check_nomination_read(principal: Principal, entry: dict[str, Any]) -> dict[str, Any]:
    """The nomination as its reader may see it: its status and outcome, not the archive."""
    if principal.role not in READ_ALL and entry["nominator_id"] != principal.account_id:
        raise entry_not_found(entry)
    return nomination_view(entry)


def nomination_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {name: entry[name] for name in NOMINATION_FIELDS}


def check_entry_read(principal: Principal, entry: dict[str, Any]) -> None:
    """Only the office, the committee and the entry's steward see an archive entry."""
    if entry["status"] != "approved":
        raise entry_not_found(entry)
    if principal.role not in READ_ALL and not is_steward(principal, entry):
        raise entry_not_found(entry)


def check_interaction_write(principal: Principal, entry: dict[str, Any]) -> None:
    """The office, and the steward, keep the log (the committee writes nothing but plans)."""
    check_entry_read(principal, entry)
    if principal.role != OFFICE and not is_steward(principal, entry):
        raise PermissionDenied("只有校友会办公室和负责人可以记录往来。", reason="not_steward")


def scope_archive(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison lists the entries they look after; asking for another steward's: 403."""
    if principal.role in READ_ALL:
        return params
    asked = params.get("steward_id")
    if asked is not None and str(asked) != principal.account_id:
        raise PermissionDenied("只能查看本人负责的杰出校友档案。", reason="other_steward")
    return {**params, "steward_id": principal.account_id}


def nominator_scope(principal: Principal) -> str | None:
    """Whose nominations a caller lists: everyone's for the office and the committee."""
    return None if principal.role in READ_ALL else principal.account_id


# ---- stories and news ---------------------------------------------------------------------


def _in_scope(principal: Principal, record: dict[str, Any]) -> bool:
    return principal.role != LIAISON or record.get("department_id") == principal.department_id


def check_story_read(principal: Principal, story: dict[str, Any]) -> None:
    if not _in_scope(principal, story):
        raise NotFound("文章不存在。", {"story_id": story["id"]}, reason="story_not_found")


def check_news_read(principal: Principal, news: dict[str, Any]) -> None:
    if not _in_scope(principal, news):
        raise NotFound("校友动态不存在。", {"news_id": news["id"]}, reason="news_not_found")


def scope_by_department(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison lists only their own department's (asking for another's: 403)."""
    if principal.role != LIAISON:
        return params
    asked = params.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能查看本院系的记录。", reason="other_department")
    return {**params, "department_id": principal.department_id}


def check_story_department(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A liaison's story is filed under their own department (naming another: 403)."""
    if principal.role != LIAISON:
        return body
    asked = body.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能撰写本院系的文章。", reason="other_department")
    return {**body, "department_id": principal.department_id}
