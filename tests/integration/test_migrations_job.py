"""On a cluster a Job migrates each database before the services start, and a service
started with `--migrations wait` only waits for its database to be at head (deploy/k8s)."""

from __future__ import annotations

import threading
import time

import pytest

from services.common import migrate


def test_a_service_waits_for_the_migrations_job_then_goes_on(tmp_path):
    url = f"sqlite:///{tmp_path}/events.db"
    assert not migrate.at_head("events", url)

    job = threading.Timer(0.5, migrate.upgrade, args=("events", url))
    job.start()
    started = time.monotonic()
    try:
        migrate.wait_for_head("events", timeout=30, poll=0.1, url=url)
    finally:
        job.join()
    assert time.monotonic() - started >= 0.4
    assert migrate.at_head("events", url)


def test_a_database_never_migrated_ends_the_wait_with_a_reason(tmp_path):
    url = f"sqlite:///{tmp_path}/notify.db"
    with pytest.raises(TimeoutError, match="migrations Job"):
        migrate.wait_for_head("notify", timeout=0.3, poll=0.1, url=url)
