"""The yearly alumni report on a schedule: the registry's timer queues last year's report
from its publishing day on and generates it, once (services/registry/reports.py)."""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime

from eventlet import patcher
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.registry.models import YearlyReport
from services.registry.service import RegistryService


class NativeThreadsLogging(logging.Handler):
    """Which OS threads of this process handed a record to logging's handlers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.threads: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.threads.add(patcher.original("threading").get_ident())


def test_the_schedule_generates_last_years_report_once(
    container_factory, rabbit_config, registry_db_url, caplog
):
    """And the drawing logs nothing from another thread of the registry's process: logging's
    locks are green there, and a record matplotlib logged from eventlet's pool of threads
    while the hub held a handler's lock killed the hub ("cannot switch to a different
    thread", eventlet#432): every later call to the registry timed out."""
    caplog.set_level(logging.DEBUG)
    logged = NativeThreadsLogging()
    logging.getLogger().addHandler(logged)
    container = container_factory(
        RegistryService,
        {
            **rabbit_config,
            "REGISTRY_DATABASE_URL": registry_db_url,
            # A short interval, and a publishing day that has passed this year.
            "REGISTRY_REPORT_SCAN_SECONDS": "0.2",
            "REGISTRY_REPORT_PUBLISH_ON": "01-01",
        },
    )
    container.start()
    engine = make_engine(registry_db_url, pool_size=1)
    last_year = datetime.now(UTC).year - 1
    try:
        deadline = time.monotonic() + 90
        while True:
            with sessionmaker(engine)() as session:
                reports = session.scalars(select(YearlyReport)).all()
            if reports and reports[0].status == "ready":
                break
            assert time.monotonic() < deadline, "the scheduled report was not generated"
            time.sleep(0.2)
        generated_at = reports[0].generated_at
        time.sleep(1)  # several more ticks: nothing is generated again
        with sessionmaker(engine)() as session:
            again = session.scalars(select(YearlyReport)).all()
    finally:
        container.stop()
        engine.dispose()
        logging.getLogger().removeHandler(logged)
    assert logged.threads == {patcher.original("threading").get_ident()}
    assert [(r.year, r.requested_by) for r in reports] == [(last_year, "system")]
    assert [(r.year, r.generated_at) for r in again] == [(last_year, generated_at)]
    assert reports[0].pdf.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(reports[0].pdf)).pages[-1].images) >= 1
    assert reports[0].html.count("data:image/png;base64,") == 5
