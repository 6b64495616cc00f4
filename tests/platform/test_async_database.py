"""soc.aio.database: a connection that died under it (a PostgreSQL restart) is replaced, in both of its modes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from soc.aio import database


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _close() -> None:
    connection.close()


def _terminate(pid: int) -> None:
    """End that backend from a connection of our own, as a server restart would."""
    conf = connection.settings_dict
    with psycopg.connect(dbname=conf["NAME"], user=conf["USER"], password=conf["PASSWORD"], host=conf["HOST"],
                         port=conf["PORT"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


# 0: the caller's thread (the tests' mode, and asgiref's shared thread for the collector endpoints); 1: one kept
# thread, so the second call meets the connection the first one's backend was ended under.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [0, 1])
def test_a_connection_ended_by_the_server_is_replaced(threads: int, settings: Any) -> None:
    settings.ASYNC_DB_THREADS = threads
    first = async_to_sync(database)(_backend_pid)
    _terminate(first)
    try:
        second = async_to_sync(database)(_backend_pid)

        assert second != first
        assert async_to_sync(database)(_backend_pid) == second  # and kept from then on
    finally:
        async_to_sync(database)(_close)  # the kept thread's, before the test database is dropped
