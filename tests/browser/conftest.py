"""Browser tests of the portal (web/): Debian's Chromium driven by Playwright against the
real system (every service as a process, real RabbitMQ, PostgreSQL), as users would use it.

This folder is a pytest root of its own (tests/browser/pytest.ini): its tests run in a
process that eventlet never patches, because Playwright hangs in a patched one. Run them
with `pytest tests/browser` (or a file or test in it); `make test` does, beside the main
suite (scripts/test.sh). In the main suite's process this file only hides the folder's tests.

One system serves every browser test of the session (`portal`): the tests make their own
uniquely named data through the public API (`portal.admin()`). Each page a test visits is
checked with `assert_accessible` (no serious or critical axe-core violation) and
photographed into the test artefacts (`TEST_ARTIFACTS_DIR`, default var/test-artifacts,
in its screenshots/ folder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]


def green_process() -> bool:
    """Whether eventlet has patched this process (the main suite's tests/conftest.py)."""
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return patcher.is_monkey_patched("socket")


if green_process():
    # Loaded by the main suite (tests/conftest.py patched this process): these tests cannot
    # run here; `make test` runs `pytest tests/browser` on its own.
    collect_ignore_glob = ["test_*.py"]

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.browser.steps import animations_done  # noqa: E402
from tests.support.callers import CALLER_KEY  # noqa: E402
from tests.support.processes import SystemUnderTest  # noqa: E402

AXE_SCRIPT = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS_DIR = (
    Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "var" / "test-artifacts")) / "screenshots"
)
TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# A phone as most alumni hold it, inside WeChat's browser.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47"
    ),
}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
SERIOUS = ("serious", "critical")
# The same caller key as the main suite's, for any process this one starts.
os.environ.setdefault("CALLER_KEY", CALLER_KEY)


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    pytest.fail("The browser tests need Chromium: install Debian's chromium (.ci/run does)")


class PostgresDatabases:
    """Fresh PostgreSQL databases for the session's system, dropped at its end."""

    def __init__(self) -> None:
        self.admin_url = make_url(TEST_POSTGRES_URL).set(drivername="postgresql+psycopg2")
        self.created: list[str] = []

    def _execute(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def new(self, label: str) -> str:
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PortalSystem(SystemUnderTest):
    """The system under test, given longer to start: it starts once for the whole browser
    session, and on a busy machine (CI, several runs at once) a minute is not always enough."""

    def wait_ready(self, timeout: float = 240) -> None:
        super().wait_ready(timeout)


@pytest.fixture(scope="session")
def portal_built() -> None:
    """web/dist as the sources say (scripts/build-portal.sh: a no-op when current)."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-portal.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="session")
def portal(portal_built, request, rabbit_manager, tmp_path_factory) -> Iterator[PortalSystem]:
    """The whole platform on PostgreSQL and its own RabbitMQ vhost, serving the built portal
    at `portal.base_url`; `portal.admin()` is an API client logged in as the office's admin."""
    from services.common import catalogue

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    vhost = f"alumni_portal_{uuid.uuid4().hex[:10]}"
    # Every clean-up step runs even when one before it fails (latest first): nothing of the
    # session is left on the shared broker and database server.
    with ExitStack() as cleanup:
        rabbit_manager.create_vhost(vhost)
        cleanup.callback(rabbit_manager.delete_vhost, vhost)
        rabbit_manager.set_vhost_permissions(vhost, uri.username, ".*", ".*", ".*")
        databases = PostgresDatabases()
        cleanup.callback(databases.drop_all)
        sut = PortalSystem(
            amqp_uri=f"{uri.scheme}://{uri.netloc}/{vhost}",
            database_urls={
                entry.name: databases.new(entry.name) for entry in catalogue.with_database()
            },
            var_dir=tmp_path_factory.mktemp("portal-var"),
        )
        cleanup.callback(sut.remove_broker_accounts)
        cleanup.callback(sut.stop_all)
        sut.start_all()
        yield sut


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if green_process():
        pytest.fail(
            "eventlet has patched this process (something imported tests.conftest?): "
            "Playwright would hang. Browser tests import only tests.browser and tests.support."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            # A camera that shows a test pattern, allowed without asking (the check-in scanner).
            args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
        )
        yield browser
        browser.close()


TIMEOUT_MS = 15_000
# Assertions wait as long as actions do: a page answered slowly on a busy machine is not a
# failure (expect's own default is 5 s).
expect.set_options(timeout=TIMEOUT_MS)


def new_context(browser: Browser, portal: SystemUnderTest, device: dict) -> BrowserContext:
    context = browser.new_context(base_url=portal.base_url, locale="zh-CN", **device)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def phone(browser, portal) -> Iterator[Page]:
    """A page on a phone-sized screen (the alumni site), in a fresh browser context."""
    context = new_context(browser, portal, PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser, portal) -> Iterator[Page]:
    """A page on an office computer's screen (the staff console), in a fresh context."""
    context = new_context(browser, portal, DESKTOP)
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """The whole page as it is now, kept as a test artefact named `name`."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's pages as they were when it failed, kept beside the other screenshots
    and named in its report: a timeout's message says what was awaited, not what the page
    showed instead."""
    report = yield
    if report.when == "call" and report.failed:
        for name in ("desktop", "phone"):
            page = item.funcargs.get(name)
            if page is not None:
                with suppress(Exception):  # the page may be what failed
                    path = screenshot(page, f"failed-{item.name}-{name}")
                    report.sections.append(("screenshot", str(path)))
    return report


def assert_accessible(page: Page, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now; a screenshot of
    it kept either way (as `name`). Runs once animations have ended, because axe
    measures a fading dialog's colours as they are mid-fade."""
    animations_done(page)
    screenshot(page, name)
    # Evaluated through the DevTools protocol, which the pages' CSP (no inline script) allows.
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v.get("impact") in SERIOUS]
    assert not serious, f"axe on {name} ({page.url}):\n" + "\n".join(
        f"{v['impact']}: {v['id']} — {v['help']}; {len(v['nodes'])} element(s), first: "
        f"{v['nodes'][0]['target'] if v['nodes'] else ''} "
        f"{v['nodes'][0].get('failureSummary', '') if v['nodes'] else ''}"
        for v in serious
    )


def settled(page: Page) -> None:
    """Wait out what fades (a toast, a closing select menu, a dialog coming in): axe reads
    colours mid-fade."""
    expect(page.locator(".el-message")).to_have_count(0, timeout=10_000)
    expect(page.locator(".el-select__popper:visible")).to_have_count(0)
    animations_done(page)


def checked(page: Page, name: str) -> None:
    """`assert_accessible` once the page has settled (`settled`)."""
    settled(page)
    assert_accessible(page, name)
