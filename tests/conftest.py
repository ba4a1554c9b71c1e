"""Fixtures shared by the whole suite.

Real parts throughout: RabbitMQ (a throwaway vhost per test or per module,
made through the management API), SQLite files and PostgreSQL databases
created for the test and dropped after it, and real service processes for
system tests.
"""

from __future__ import annotations

import eventlet

# nameko's containers need a green world; it must be patched before anything imports socket users.
eventlet.monkey_patch()

import os  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services.common import catalogue, crypto  # noqa: E402
from tests.support.callers import CALLER_KEY  # noqa: E402
from tests.support.processes import PII_KEYS, SystemUnderTest  # noqa: E402

# This process's key for personal data, the same as the system tests' processes'.
crypto.configure({crypto.SETTING: PII_KEYS})

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Containers started by the tests and the clients that call them agree on the caller key.
os.environ.setdefault("CALLER_KEY", CALLER_KEY)
BACKENDS = ["sqlite", "postgres"]


SHARDS = ("postgres", "others")


def pytest_addoption(parser):
    parser.addoption(
        "--shard",
        choices=SHARDS,
        help="run one half of the suite: the tests on PostgreSQL, or all the others. "
        "`make test` runs both halves at once (scripts/test.sh): each half starts the shared "
        "system (`system`) of its own backend only.",
    )


# After pytest has grouped the tests by the parameters of their fixtures.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "[postgres" in item.nodeid or "-postgres" in item.nodeid:
            item.add_marker(pytest.mark.postgres)
    if shard := config.getoption("shard"):
        kept = [item for item in items if _shard(item) == shard]
        config.hook.pytest_deselected(items=[item for item in items if _shard(item) != shard])
        items[:] = kept
    # The tests on the session's shared systems (`system`) last, in pytest's order (all on
    # one backend, then all on the other): the second system, which a session-scoped
    # fixture keeps until the session ends, then runs beside no other test's processes.
    shared = [item for item in items if _on_shared_system(item)]
    items[:] = [item for item in items if not _on_shared_system(item)] + shared


def _shard(item) -> str:
    return "postgres" if item.get_closest_marker("postgres") else "others"


def _on_shared_system(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.get("system") if info else None
    return bool(definitions) and definitions[-1].scope == "session"


# ---- databases ---------------------------------------------------------------


def _postgres_admin_url() -> str:
    return str(make_url(TEST_POSTGRES_URL).set(drivername="postgresql+psycopg2"))


def _postgres_url(database: str) -> str:
    return str(make_url(_postgres_admin_url()).set(database=database))


def _create_postgres_database(label: str, template: str | None = None) -> str:
    """A new database on the server of TEST_POSTGRES_URL (a copy of `template`, if given);
    its name."""
    name = f"t_{label}_{uuid.uuid4().hex[:10]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    admin.dispose()
    return name


def _drop_postgres_databases(names: list[str]) -> None:
    if not names:
        return
    admin = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class MigratedTemplates:
    """Each service's database migrated once per backend in the session: the fixtures that
    want a migrated database get a copy (the file copied on SQLite, CREATE DATABASE …
    TEMPLATE on PostgreSQL), which is what `upgrade` makes of an empty database, in a
    fraction of its time. The tests of the migrations themselves run `upgrade`."""

    def __init__(self, tmp_path_factory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.sqlite_files: dict[str, Path] = {}
        self.postgres_databases: dict[str, str] = {}

    def sqlite_copy(self, service: str, path: Path) -> str:
        """A migrated SQLite database of `service` at `path`; its URL."""
        from services.common.migrate import upgrade

        if service not in self.sqlite_files:
            template = self.tmp_path_factory.mktemp("template") / f"{service}.db"
            upgrade(service, f"sqlite:///{template}")
            self.sqlite_files[service] = template
        shutil.copyfile(self.sqlite_files[service], path)
        return f"sqlite:///{path}"

    def postgres_template(self, service: str) -> str:
        """The name of the session's migrated PostgreSQL database of `service`."""
        from services.common.migrate import upgrade

        if service not in self.postgres_databases:
            name = _create_postgres_database(f"template_{service}")
            self.postgres_databases[service] = name
            upgrade(service, _postgres_url(name))
        return self.postgres_databases[service]

    def drop_all(self) -> None:
        _drop_postgres_databases(list(self.postgres_databases.values()))


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory)
    yield templates
    templates.drop_all()


class DatabaseFactory:
    """Fresh databases on one backend, empty or migrated (`templates`); all dropped at
    teardown."""

    def __init__(
        self, backend: str, tmp_path_factory, templates: MigratedTemplates | None = None
    ) -> None:
        self.backend = backend
        self.tmp_path_factory = tmp_path_factory
        self.templates = templates
        self.created: list[str] = []

    def new(self, label: str = "db") -> str:
        if self.backend == "sqlite":
            directory = self.tmp_path_factory.mktemp(label)
            return f"sqlite:///{directory / f'{label}.db'}"
        name = _create_postgres_database(label)
        self.created.append(name)
        return _postgres_url(name)

    def migrated(self, service: str) -> str:
        """A new database of `service` at the head of its migrations."""
        assert self.templates is not None, "a DatabaseFactory made without templates"
        if self.backend == "sqlite":
            directory = self.tmp_path_factory.mktemp(service)
            return self.templates.sqlite_copy(service, directory / f"{service}.db")
        name = _create_postgres_database(service, self.templates.postgres_template(service))
        self.created.append(name)
        return _postgres_url(name)

    def drop_all(self) -> None:
        _drop_postgres_databases(self.created)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def databases(backend, tmp_path_factory, migrated_templates):
    factory = DatabaseFactory(backend, tmp_path_factory, migrated_templates)
    yield factory
    factory.drop_all()


@pytest.fixture
def registry_db_url(databases) -> str:
    return databases.migrated("registry")


@pytest.fixture
def registry_session_factory(registry_db_url):
    from sqlalchemy.orm import sessionmaker

    from services.common.db import make_engine

    engine = make_engine(registry_db_url, pool_size=2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


# ---- RabbitMQ ----------------------------------------------------------------


@pytest.fixture
def rabbit_config(rabbit_config):
    """nameko's per-test vhost, on whose one account (guest) every service runs here: so
    each service's broker identity, which consumers check events against
    (services/common/reliable_events.py), is that account. Tests that publish an event as
    its source say so with `user_id` (`as_publisher`)."""
    accounts = {f"{name.upper()}_AMQP_URI": rabbit_config["AMQP_URI"] for name in catalogue.names()}
    return {**rabbit_config, **accounts}


@contextmanager
def own_vhost(request, rabbit_manager) -> Iterator[str]:
    """A vhost of its own on the shared broker, deleted afterwards."""
    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    vhost = f"alumni_test_{uuid.uuid4().hex[:10]}"
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, uri.username, ".*", ".*", ".*")
    try:
        yield f"{uri.scheme}://{uri.netloc}/{vhost}"
    finally:
        rabbit_manager.delete_vhost(vhost)


@pytest.fixture(scope="module")
def module_amqp_uri(request, rabbit_manager):
    """A vhost of its own for a module whose tests share running processes."""
    with own_vhost(request, rabbit_manager) as uri:
        yield uri


@pytest.fixture(scope="session")
def outage_broker(tmp_path_factory):
    """A RabbitMQ node of the session's own, for tests that stop the broker; the shared one
    is never disturbed (tests/support/broker_node.py)."""
    from tests.support.broker_node import RabbitNode, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"cannot start a RabbitMQ node of our own: {reason}")
    node = RabbitNode(tmp_path_factory.mktemp("rabbit"))
    try:
        node.start()
        yield node
    finally:
        node.stop()


# ---- containers and processes ------------------------------------------------


@pytest.fixture
def registry_container(container_factory, rabbit_config, registry_db_url):
    from services.registry.service import RegistryService

    container = container_factory(
        RegistryService, {**rabbit_config, "REGISTRY_DATABASE_URL": registry_db_url}
    )
    container.start()
    return container


@pytest.fixture
def rpc_caller():
    """Whom `rpc_cluster` calls for (a module may override this fixture)."""
    from tests.support.callers import OFFICE

    return OFFICE


@pytest.fixture
def rpc_cluster(rabbit_config, rpc_caller):
    """A standalone RPC client calling as `rpc_caller`, signed as the gateway signs."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from tests.support.callers import signed_context

    with ClusterRpcProxy(
        rabbit_config, timeout=15, context_data=signed_context(rpc_caller)
    ) as cluster:
        yield cluster


@contextmanager
def running_system(
    backend: str,
    amqp_uri: str,
    tmp_path_factory,
    templates: MigratedTemplates | None,
    settings: dict[str, str] | None = None,
    without: tuple[str, ...] = (),
) -> Iterator[SystemUnderTest]:
    """Every service of the catalogue as a real process on `backend`, on fresh databases,
    with `settings` over the test suite's and the settings named in `without` left out;
    stopped and its databases and broker accounts removed afterwards.

    The databases are copies of the session's migrated `templates`: each service still
    runs its migrations as it starts and finds nothing to do, which saves every system
    start the migrations' CPU (seconds on CI's two cores). With `templates` None they are
    empty and the services create and migrate them, as on a new machine."""
    factory = DatabaseFactory(backend, tmp_path_factory, templates)
    make = factory.new if templates is None else factory.migrated
    sut = SystemUnderTest(
        amqp_uri=amqp_uri,
        database_urls={entry.name: make(entry.name) for entry in catalogue.with_database()},
        var_dir=tmp_path_factory.mktemp("var"),
    )
    sut.settings.update(settings or {})
    for name in without:
        del sut.settings[name]
    sut.backend = backend
    try:
        sut.start_all()
        yield sut
    finally:
        sut.stop_all()
        sut.remove_broker_accounts()
        factory.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def system(request, rabbit_manager, tmp_path_factory, migrated_templates):
    """Every service of the catalogue as a real process on one backend, driven over HTTP:
    one per backend for the whole session, shared by every module that only needs a
    running system. A test using it makes its own data (`tests/system/helpers.py`
    `unique`), and counts and lists only that: other modules' data are there too."""
    with (
        own_vhost(request, rabbit_manager) as amqp_uri,
        running_system(request.param, amqp_uri, tmp_path_factory, migrated_templates) as sut,
    ):
        yield sut


@pytest.fixture(scope="module")
def gateway_log(system) -> Callable[[], str]:
    """What the gateway has logged since the module's first test (a module that checks none
    of its requests failed inside the gateway names it in `pytest.mark.usefixtures`, so
    that it marks the log before its first request): the other modules' lines on a shared
    system are not the module's."""
    path = system.var_dir / "gateway.log"
    start = path.stat().st_size

    def since_start() -> str:
        with path.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")

    return since_start


@pytest.fixture(scope="module", params=BACKENDS)
def fresh_system(request, module_amqp_uri, tmp_path_factory, migrated_templates):
    """A system of the module's own, for modules that stop, kill or restart its processes
    or need it empty: what they do must not reach other modules' tests."""
    with running_system(
        request.param, module_amqp_uri, tmp_path_factory, migrated_templates
    ) as sut:
        yield sut
