"""The container healthcheck (services/healthcheck.py) against a real registry: healthy while
it answers, unhealthy once its container is dead, as compose's restart policy and a
liveness probe need."""

from __future__ import annotations

import time

import pytest

from services import healthcheck


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_healthcheck_passes_while_the_service_answers_and_fails_once_it_is_dead(
    registry_container, rabbit_config, monkeypatch
):
    # The healthcheck calls as the service's own account: here, the test vhost's one.
    monkeypatch.setenv("REGISTRY_AMQP_URI", rabbit_config["AMQP_URI"])
    assert healthcheck.main(["registry"]) == 0

    registry_container.kill()
    began = time.monotonic()
    assert healthcheck.main(["registry"]) == 1
    assert time.monotonic() - began < healthcheck.HEALTHCHECK_TIMEOUT_SECONDS + 3
