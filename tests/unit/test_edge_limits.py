"""The gateway's token buckets (gateway/edge.py) on a clock the test moves, and which address
a request is counted under."""

from __future__ import annotations

import pytest

from gateway import edge
from gateway.edge import TokenBucket, client_address, trusted_networks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_spends_its_burst_then_refills_at_its_rate():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)

    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("a") == pytest.approx(0.5)  # one token comes back in 1/rate s
    assert bucket.take("b") == 0  # each key has its own bucket
    clock.now += 0.5
    assert bucket.take("a") == 0
    assert bucket.take("a") > 0
    clock.now += 60
    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0]  # never more than the burst
    assert bucket.take("a") > 0


def test_a_rate_of_zero_is_no_limit():
    bucket = TokenBucket(rate=0, burst=1)
    assert all(bucket.take("a") == 0 for _ in range(1000))


def test_idle_buckets_are_forgotten_so_a_flood_of_addresses_cannot_grow_memory(monkeypatch):
    monkeypatch.setattr(edge, "MAX_BUCKETS", 10)
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=5, clock=clock)
    for n in range(10):
        bucket.take(f"old{n}")
    clock.now += 60  # every old bucket is full again: nothing to remember
    for n in range(5):
        bucket.take(f"new{n}")
    assert len(bucket._buckets) <= 10
    assert not any(key.startswith("old") for key in bucket._buckets)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("192.0.2.1", None, [], "192.0.2.1"),
        ("192.0.2.1", "203.0.113.9", [], "192.0.2.1"),  # no proxy trusted: header ignored
        ("127.0.0.1", "203.0.113.9", ["127.0.0.1"], "203.0.113.9"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.9", ["127.0.0.0/8"], "203.0.113.9"),
        ("192.0.2.1", "203.0.113.9", ["127.0.0.1"], "192.0.2.1"),  # not from the proxy
        ("127.0.0.1", "not-an-address", ["127.0.0.1"], "127.0.0.1"),
        ("::1", "2001:db8::7", ["::1"], "2001:db8::7"),
    ],
)
def test_the_counted_address(peer, forwarded, trusted, expected):
    environ = {"REMOTE_ADDR": peer}
    if forwarded:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(environ, trusted_networks(trusted)) == expected
