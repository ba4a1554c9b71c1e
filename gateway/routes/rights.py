"""The alumni's rights (PIPL arts. 44–47) and who saw what: an alumnus's own record, its
correction and export, erasure requests and their decision, and the access log.

Staff read `GET /api/v1/me` too (their account, `alumnus` null); the rest of `/me` is the
alumnus's. The office decides erasure requests and searches the access log.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import eventlet
from werkzeug.wrappers import Request, Response

from gateway import export_page
from gateway.auth import Principal
from gateway.authz.base import ALUMNUS, OFFICE, own_alumnus_id
from gateway.http import api
from services.common.contracts import registry as contract
from services.common.contracts.base import AccessLogEntry, AccessLogQuery
from services.common.paging import decode_cursor, encode_cursor

EXPORT = "/api/v1/me/export"
ERASURE_REQUEST = "/api/v1/erasure-requests/{erasure_request_id}"
# Every service that holds something on a person answers `export_person`.
EXPORTERS = ("registry", "events", "donations", "notify")


class RightsRoutes:
    registry: Any
    events: Any
    donations: Any
    notify: Any

    # ---- the alumnus's own record ------------------------------------------------------

    @api(
        "PATCH",
        "/api/v1/me",
        "Correct my own record (PIPL art. 46); recorded in the history as `self_service`.",
        "me",
        (ALUMNUS,),
        body=contract.SelfPatch,
        response=contract.Alumnus,
    )
    def correct_me(self, request: Request, principal: Principal, body: dict[str, Any]):
        own_alumnus_id(principal)  # 403 for an alumnus login without a record
        return self.registry.correct_own_record(body)

    @api(
        "GET",
        EXPORT,
        "A copy of everything the platform holds on me (PIPL art. 45), from every service.",
        "me",
        (ALUMNUS,),
        response=contract.PersonExport,
    )
    def export_me(self, request: Request, principal: Principal) -> dict[str, Any]:
        return self._export(own_alumnus_id(principal))

    @api(
        "GET",
        EXPORT + ".html",
        "The same copy as a readable page (zh-CN HTML), to save or print.",
        "me",
        (ALUMNUS,),
        content_type="text/html",
    )
    def export_me_html(self, request: Request, principal: Principal) -> Response:
        page = export_page.render(self._export(own_alumnus_id(principal)))
        return Response(
            page,
            content_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )

    def _export(self, alumnus_id: str) -> dict[str, Any]:
        """Each service's part, asked at once; each call keeps its own RPC deadline, and a
        service that does not answer fails the export (a partial copy would mislead)."""
        pile = eventlet.GreenPile(len(EXPORTERS))
        for name in EXPORTERS:
            pile.spawn(getattr(self, name).export_person, alumnus_id)
        parts = dict(zip(EXPORTERS, pile, strict=True))
        return {
            "alumnus_id": alumnus_id,
            "generated_at": datetime.now(UTC).isoformat(),
            **parts,
        }

    # ---- erasure ---------------------------------------------------------------------------

    @api(
        "POST",
        "/api/v1/me/erasure",
        "Ask for my personal information to be erased (PIPL art. 47); the office decides.",
        "me",
        (ALUMNUS,),
        body=contract.ErasureInput,
        body_optional=True,
        response=contract.ErasureRequest,
        status=201,
    )
    def request_erasure(self, request: Request, principal: Principal, body: dict[str, Any]):
        own_alumnus_id(principal)
        return self.registry.request_erasure(body)

    @api(
        "GET",
        "/api/v1/erasure-requests",
        "Erasure requests, oldest first (by status).",
        "erasure",
        (OFFICE,),
        query=contract.ErasureSearch,
        response=contract.ErasureRequest,
        many=True,
    )
    def list_erasure_requests(self, request: Request, principal: Principal, query: dict):
        return self.registry.list_erasure_requests(query)

    @api(
        "GET",
        ERASURE_REQUEST,
        "One erasure request.",
        "erasure",
        (OFFICE,),
        response=contract.ErasureRequest,
    )
    def get_erasure_request(self, request: Request, principal: Principal, erasure_request_id):
        return self.registry.get_erasure_request(erasure_request_id)

    @api(
        "POST",
        ERASURE_REQUEST + "/approve",
        "Approve: the record is blanked now and every service removes the identity "
        "(event `alumnus_erased`); money records stay, anonymised.",
        "erasure",
        (OFFICE,),
        body=contract.ErasureDecision,
        body_optional=True,
        response=contract.ErasureRequest,
    )
    def approve_erasure(
        self, request: Request, principal: Principal, erasure_request_id: str, body: dict
    ):
        return self.registry.decide_erasure(erasure_request_id, "approve", body)

    @api(
        "POST",
        ERASURE_REQUEST + "/reject",
        "Reject, with the reason in `note` (e.g. records the law requires to keep).",
        "erasure",
        (OFFICE,),
        body=contract.ErasureDecision,
        body_optional=True,
        response=contract.ErasureRequest,
    )
    def reject_erasure(
        self, request: Request, principal: Principal, erasure_request_id: str, body: dict
    ):
        return self.registry.decide_erasure(erasure_request_id, "reject", body)

    # ---- who saw what --------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/access-log",
        "Unmasked reads of personal fields, newest first: who, when, whose record, which "
        "fields, for which route.",
        "access-log",
        (OFFICE,),
        query=AccessLogQuery,
        response=AccessLogEntry,
        many=True,
    )
    def access_log(self, request: Request, principal: Principal, query: dict[str, Any]):
        return merged_access_log(self, query)


# ---- the access log of several services as one list ------------------------------------

# The services that keep an access log, in the order of the merged cursor's positions.
ACCESS_LOGS = ("registry", "events", "notify")
START, DONE = "", "."


def merged_access_log(gateway: Any, query: dict[str, Any]) -> dict[str, Any]:
    """One page, newest first, of the logs of every service in ACCESS_LOGS.

    Each service is asked for a page from its own position; the entries are merged by time
    and cut at `limit`. The cursor holds each service's position: where its list continues
    after the last entry shown (START: not read yet, DONE: nothing more).
    """
    limit = query["limit"]
    positions = (
        list(decode_cursor(query["cursor"], (str,) * len(ACCESS_LOGS)))
        if query.get("cursor")
        else [START] * len(ACCESS_LOGS)
    )
    asked = [i for i, position in enumerate(positions) if position != DONE]
    pile = eventlet.GreenPile(max(len(asked), 1))
    for i in asked:
        params = {**query, "cursor": positions[i] or None}
        pile.spawn(getattr(gateway, ACCESS_LOGS[i]).access_log, params)
    pages = dict(zip(asked, pile, strict=True))
    # A merge keeps each service's own order, so what is shown of each is a prefix of it.
    streams = [[(entry["at"], i, entry) for entry in page["items"]] for i, page in pages.items()]
    entries = list(islice(heapq.merge(*streams, key=lambda e: e[0], reverse=True), limit))
    for i, page in pages.items():
        taken = [entry for _, j, entry in entries if j == i]
        if len(taken) == len(page["items"]):
            positions[i] = page["next_cursor"] or DONE
        elif taken:
            positions[i] = taken[-1]["cursor"]
    items = [{k: v for k, v in entry.items() if k != "cursor"} for _, _, entry in entries]
    more = any(position != DONE for position in positions)
    return {"items": items, "next_cursor": encode_cursor(positions) if more else None}
