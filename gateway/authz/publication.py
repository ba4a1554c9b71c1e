"""Statistics and publication (docs/stewardship.md, item 6): who counts, maps, exports and
reads the yearly report.

| action | office | committee | liaison | alumnus | anonymous |
|---|---|---|---|---|---|
| statistics | all | all | own department's lineage (another: 403) | — | — |
| the alumni map (k-anonymous) | yes | yes | yes | yes | yes |
| export of a search | all, unmasked | all, masked | own department's lineage | — | — |
| the yearly report (HTML, PDF) | yes | yes | — | — | — |
| ask for a yearly report | yes | — | — | — | — |

The export is the search (gateway/authz/registry.py `scope_alumni_search`) in a file: the
same scope, and the registry masks and logs each record as for the search.
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.registry import scope_alumni_search
from services.common.errors import NotFound


def scope_statistics(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison counts only their own department (with the departments merged into it)."""
    return scope_alumni_search(principal, params)


def report_year(text: str) -> int:
    """The year of a report's path: four digits, else the report does not exist (404)."""
    if not (len(text) == 4 and text.isascii() and text.isdigit()):
        raise NotFound("年度报告不存在。", {"year": text[:20]}, reason="report_not_found")
    return int(text)
