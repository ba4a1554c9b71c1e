"""The office's access log is one list across the services that keep one: paging through
it shows every entry once, newest first (gateway/routes/rights.py `merged_access_log`)."""

from __future__ import annotations

import types

from gateway.routes.rights import merged_access_log
from services.common.paging import decode_cursor, encode_cursor


def fake_log(name: str, times: list[str]):
    """A service's log: entries newest first, paged by position as the services page."""
    entries = [{"at": at, "service": name, "seq": seq} for seq, at in sorted(enumerate(times, 1))][
        ::-1
    ]

    def access_log(params):
        start = decode_cursor(params["cursor"], (int,))[0] if params["cursor"] else None
        rest = [e for e in entries if start is None or e["seq"] < start]
        shown = rest[: params["limit"]]
        return {
            "items": [{**e, "cursor": encode_cursor([e["seq"]])} for e in shown],
            "next_cursor": encode_cursor([shown[-1]["seq"]]) if len(rest) > len(shown) else None,
        }

    return types.SimpleNamespace(access_log=access_log)


def test_paging_through_three_logs_shows_each_entry_once_newest_first():
    gateway = types.SimpleNamespace(
        registry=fake_log("registry", ["10:00", "10:02", "10:05", "10:06"]),
        events=fake_log("events", ["10:01", "10:03", "10:04"]),
        notify=fake_log("notify", ["09:59"]),
    )
    seen, cursor = [], None
    for _ in range(10):
        page = merged_access_log(gateway, {"limit": 2, "cursor": cursor})
        assert len(page["items"]) <= 2
        assert all("cursor" not in e for e in page["items"])
        seen += [e["at"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["10:06", "10:05", "10:04", "10:03", "10:02", "10:01", "10:00", "09:59"]
