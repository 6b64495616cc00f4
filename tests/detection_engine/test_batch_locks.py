"""Rule batches that open incidents take their provinces' locks first, in one order, so two batches finding
alerts in the same provinces wait for each other instead of deadlocking."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from elasticsearch import Elasticsearch

from detection.models import Alert
from detection.services import PROVINCE_LOCK_SPACE, rules_run
from tests.detection_engine.conftest import Index
from tests.detection_engine.test_scheduling import sigma_rule, whoami


def province_lock(action: str, code: str) -> None:
    """A session-level lock on the province, as a batch holding it until its commit would."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_{action}(%s, hashtext(%s))", [PROVINCE_LOCK_SPACE, code])


@pytest.mark.django_db(transaction=True)
def test_a_batch_with_an_alert_in_a_province_waits_for_the_batch_holding_that_province(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = sigma_rule()
    index(whoami(30))  # an HNI event
    finished = threading.Event()

    def batch() -> None:
        try:
            rules_run(rule_ids=[rule.pk])
        finally:
            connection.close()  # this thread's own connection
            finished.set()

    province_lock("lock", "HNI")
    worker = threading.Thread(target=batch)
    worker.start()
    waited = not finished.wait(2)
    province_lock("unlock", "HNI")
    done = finished.wait(60)
    worker.join()

    assert waited and done and Alert.objects.filter(rule=rule).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_without_findings_takes_no_province_lock(es: Elasticsearch, orgs: None) -> None:
    rule = sigma_rule()
    finished = threading.Event()

    def batch() -> None:
        try:
            rules_run(rule_ids=[rule.pk])
        finally:
            connection.close()
            finished.set()

    province_lock("lock", "HNI")
    try:
        worker = threading.Thread(target=batch)
        worker.start()
        done = finished.wait(30)
        worker.join()
    finally:
        province_lock("unlock", "HNI")

    assert done
