"""The broker's accounts as derived from the catalogue (services/broker_accounts.py), and
the settings each service connects with (services/common/config.py). The broker's own
enforcement of them is tried in tests/system/test_broker_accounts.py."""

from __future__ import annotations

import re
import ssl

import pytest

from services import broker_accounts
from services.common import catalogue, config
from services.common.topology import event_queues


def allows(pattern: str, name: str) -> bool:
    return re.search(pattern, name) is not None


@pytest.fixture
def settings(monkeypatch, tmp_path):
    for name in ("AMQP_URI", "BROKER_VHOST", "BROKER_USER_PREFIX", "AMQP_SSL_CA_CERTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALUMNI_VAR_DIR", str(tmp_path))
    return monkeypatch


def test_each_service_connects_with_its_own_account_on_the_platforms_vhost(settings):
    settings.setenv("BROKER_PASSWORD_EVENTS", "s3cret/pw")
    assert config.service_amqp_uri("events") == (
        "amqp://alumni-events:s3cret%2Fpw@localhost:5672/alumni"
    )
    settings.setenv("AMQP_URI", "amqps://guest:guest@broker.example:5671/campus")
    settings.setenv("BROKER_USER_PREFIX", "prod-")
    assert config.service_amqp_uri("events") == (
        "amqps://prod-events:s3cret%2Fpw@broker.example:5671/campus"
    )
    assert config.broker_username("events") == "prod-events"


def test_a_password_not_in_the_environment_is_generated_once_into_var(settings, tmp_path):
    first = config.service_amqp_uri("registry")
    assert first == config.service_amqp_uri("registry")
    secret = (tmp_path / "broker-password-registry").read_text()
    assert f":{secret}@" in first
    assert oct((tmp_path / "broker-password-registry").stat().st_mode & 0o777) == "0o600"


def test_an_explicit_uri_names_the_account_consumers_expect(settings):
    settings.setenv("REGISTRY_AMQP_URI", "amqp://someone:pw@host/vh")
    assert config.service_amqp_uri("registry") == "amqp://someone:pw@host/vh"
    assert config.broker_username("registry") == "someone"


def test_tls_options_reach_nameko_and_kombu_when_a_ca_is_configured(settings, tmp_path):
    assert config.amqp_ssl() is None
    assert "AMQP_SSL" not in config.nameko_config()
    settings.setenv("AMQP_SSL_CA_CERTS", str(tmp_path / "ca.pem"))
    settings.setenv("AMQP_SSL_CERTFILE", str(tmp_path / "client.pem"))
    settings.setenv("AMQP_SSL_KEYFILE", str(tmp_path / "client.key"))
    expected = {
        "ca_certs": str(tmp_path / "ca.pem"),
        "cert_reqs": ssl.CERT_REQUIRED,
        "certfile": str(tmp_path / "client.pem"),
        "keyfile": str(tmp_path / "client.key"),
    }
    assert config.amqp_ssl() == expected
    assert config.nameko_config()["AMQP_SSL"] == expected


def test_a_subscriber_may_touch_only_its_own_queues_and_read_the_event_exchanges():
    grant = broker_accounts.subscriber_grant("crm", "alumni-sub-crm")
    assert allows(grant.configure, "sub.crm.alumni")
    assert allows(grant.read, "sub.crm.alumni")
    assert allows(grant.read, "registry.events")
    for other in ("sub.crmx.a", "sub.other.a", "rpc-registry", "evt-registry-x--events.y"):
        assert not allows(grant.configure, other), other
        assert not allows(grant.read, other), other
    for exchange in ("registry.events", "nameko-rpc", "amq.default", "events.events"):
        assert not allows(grant.write, exchange), exchange
    with pytest.raises(ValueError):
        broker_accounts.subscriber_grant("Bad Name", "x")


def test_a_subscriber_may_be_limited_to_the_events_of_some_services():
    grant = broker_accounts.subscriber_grant("library", "alumni-sub-library", ["events"])
    assert allows(grant.read, "events.events")
    assert not allows(grant.read, "registry.events"), "no alumni records for it"
    with pytest.raises(ValueError, match="gateway"):
        broker_accounts.subscriber_grant("library", "x", ["gateway"])


def test_a_service_publishes_only_its_own_events_and_calls_only_what_it_calls():
    grants = {g.user: g for g in broker_accounts.service_grants("alumni-")}
    events = grants["alumni-events"]
    assert allows(events.write, "events.events")
    assert not allows(events.write, "registry.events")
    assert allows(events.read, "registry.events")
    assert allows(events.rpc_write, "registry.search_alumni")
    assert allows(events.rpc_write, "events.health")
    assert not allows(events.rpc_write, "notify.list_templates")
    assert not allows(events.rpc_write, "events.create_event")
    assert not allows(events.read, "rpc-registry")
    gateway = grants["alumni-gateway"]
    assert all(allows(gateway.rpc_write, f"{e.name}.x") for e in catalogue.rpc_services())
    assert not allows(gateway.write, "amq.default")
    assert not allows(grants["alumni-registry"].write, "amq.default"), "it consumes nothing"


def test_every_consumers_queues_are_in_the_definitions_and_its_own_to_use():
    document = broker_accounts.definitions("alumni", "alumni-")
    declared = {q["name"] for q in document["queues"]}
    for entry in catalogue.SERVICES:
        grant = broker_accounts.service_grant(entry, f"alumni-{entry.name}")
        for queue in event_queues(entry.service_class()):
            assert queue.name in declared
            assert allows(grant.configure, queue.name) and allows(grant.read, queue.name)
            others = [g for g in broker_accounts.service_grants("alumni-") if g.user != grant.user]
            assert not any(allows(g.read, queue.name) for g in others), queue.name


def test_the_definitions_file_is_the_definitions_of_the_defaults():
    import json

    written = json.loads(broker_accounts.definitions_file())
    assert written == broker_accounts.definitions(
        config.DEFAULTS["BROKER_VHOST"], config.DEFAULTS["BROKER_USER_PREFIX"]
    )


def test_rabbitmqs_password_hash_is_salted_sha256():
    import base64
    import hashlib

    encoded = broker_accounts.password_hash("pw", salt=b"\x01\x02\x03\x04")
    raw = base64.b64decode(encoded)
    assert raw == b"\x01\x02\x03\x04" + hashlib.sha256(b"\x01\x02\x03\x04pw").digest()
