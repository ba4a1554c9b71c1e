"""What an RPC caller is told when the service's database is out of reach."""

from __future__ import annotations

from sqlalchemy import exc as sqlalchemy_errors

from services.common.entrypoints import reply_error
from services.common.errors import NotFound, ServiceUnavailable


def test_a_database_that_refuses_connections_is_a_service_unavailable():
    refused = sqlalchemy_errors.OperationalError(
        "SELECT 1", {}, Exception("FATAL: sorry, too many clients already")
    )
    told = reply_error(refused)
    assert isinstance(told, ServiceUnavailable)
    assert told.details["reason"] == "database_unavailable"
    assert "too many clients" not in told.message


def test_an_exhausted_connection_pool_is_a_service_unavailable():
    assert isinstance(reply_error(sqlalchemy_errors.TimeoutError("pool")), ServiceUnavailable)


def test_other_errors_are_told_as_they_are():
    missing = NotFound("没有这个校友。")
    assert reply_error(missing) is missing
    bug = ZeroDivisionError()
    assert reply_error(bug) is bug
