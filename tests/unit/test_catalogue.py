"""The service catalogue is the one list of services: everything that lists them reads it."""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from nameko.extensions import DependencyProvider

from services import deployfiles, launch
from services.common import catalogue
from services.common.contracts import EVENT_SOURCES
from services.common.rpc import TimedRpcProxy
from services.common.topology import consumed_sources, event_queues

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("nameko", "eventlet", "kombu")
AWAITED_PUBLISHERS = {"donations"}
"""Consumed ahead of their arrival in the catalogue (notify reads the donations service's
events with provisional contracts: services/notify/donations_feed.py); drop a name once
its service has its catalogue entry."""
ENTRYPOINT_MODULES = {"service"}
"""Modules of a service folder that may import nameko: its entrypoints."""


def domain_modules() -> list[str]:
    """Every module of every service folder but its entrypoints and migrations."""
    modules = []
    for entry in catalogue.with_database():
        package = entry.models_module.rpartition(".")[0]
        path = ROOT.joinpath(*package.split("."))
        for info in pkgutil.iter_modules([str(path)]):
            if info.name not in ENTRYPOINT_MODULES and info.name != "migrations":
                modules.append(f"{package}.{info.name}")
    return modules


def test_importing_every_domain_module_loads_no_framework():
    modules = domain_modules()
    assert any(m.endswith(".models") for m in modules)
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_names_are_unique_and_the_gateway_is_the_one_http_service():
    names = catalogue.names()
    assert len(names) == len(set(names))
    assert [e.name for e in catalogue.SERVICES if e.readiness == catalogue.HTTP_PROBE] == [
        "gateway"
    ]


@pytest.mark.parametrize("entry", catalogue.SERVICES, ids=lambda e: e.name)
def test_every_entry_names_a_service_class_of_that_name(entry):
    assert entry.service_class().name == entry.name


def test_launch_and_make_run_start_every_service():
    listed = subprocess.run(
        [sys.executable, "-m", "services.common.catalogue"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == catalogue.names()
    assert "services.common.catalogue" in (ROOT / "scripts" / "run.sh").read_text()
    with pytest.raises(SystemExit):
        launch.main(["no-such-service"])


def test_compose_and_database_init_follow_the_catalogue():
    compose = yaml.safe_load(deployfiles.compose_file())
    for entry in catalogue.SERVICES:
        assert compose["services"][entry.name]["command"][-1] == entry.name
    init = deployfiles.postgres_init_file()
    for entry in catalogue.with_database():
        assert f"CREATE DATABASE {entry.name} " in init
    assert deployfiles.stale_files() == []


def test_the_gateway_has_a_proxy_and_a_readiness_probe_for_every_rpc_service():
    from gateway.routes.operations import READINESS_TIMEOUT_SECONDS, probe_name
    from gateway.service import GatewayService

    proxies = {
        name: value
        for name, value in inspect.getmembers(GatewayService)
        if isinstance(value, DependencyProvider)
    }
    for entry in catalogue.rpc_services():
        assert isinstance(proxies[entry.name], TimedRpcProxy)
        assert proxies[entry.name].target_service == entry.name
        probe = proxies[probe_name(entry.name)]
        assert probe.target_service == entry.name
        assert probe.timeout == READINESS_TIMEOUT_SECONDS


@pytest.mark.parametrize("entry", catalogue.SERVICES, ids=lambda e: e.name)
def test_what_an_entry_consumes_is_what_its_handlers_consume(entry):
    service_cls = entry.service_class()
    assert consumed_sources(service_cls) == set(entry.consumes)
    if entry.consumes:
        assert event_queues(service_cls), "its handlers' queues are declared at launch"


def test_every_published_event_type_belongs_to_a_catalogued_publisher():
    assert set(EVENT_SOURCES.values()) == {e.name for e in catalogue.publishers()}
    for entry in catalogue.SERVICES:
        for source in entry.consumes:
            if source in AWAITED_PUBLISHERS:
                continue
            assert catalogue.by_name(source).publishes_events, (entry.name, source)
