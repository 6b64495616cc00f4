"""The audit log: append-only for every role (ORM, database, admin), readable by auditors, exported safely."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.test import Client

from incidents.services.intake import incident_create
from organisations.actors import Actor
from organisations.exports import neutralise
from organisations.models import AuditLog
from organisations.services import audit_record
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(cast: Cast) -> AuditLog:
    return audit_record(actor=Actor(user=cast.lead, ip="198.51.100.4"), action="incident.edited",
                        object_type="incident", object_ref="HNI-2026-0001", organisation=cast.hni,
                        before={"title": "old"}, after={"title": "=HYPERLINK(\"http://evil\")"})


def test_the_orm_refuses_to_change_or_delete_an_audit_entry(entry: AuditLog) -> None:
    entry.action = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=entry.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=entry.pk).delete()


@pytest.mark.parametrize("sql", ["UPDATE organisations_auditlog SET action = 'tampered'",
                                 "DELETE FROM organisations_auditlog"])
def test_the_database_refuses_raw_updates_and_deletes(entry: AuditLog, sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditLog.objects.get(pk=entry.pk).action == "incident.edited"


def test_even_a_superuser_gets_a_read_only_admin(entry: AuditLog, client: Client) -> None:
    root = User.objects.create_superuser("root", "root@example.org", "a-long-enough-password")
    client.force_login(root)

    assert client.get(f"/admin/organisations/auditlog/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/organisations/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/organisations/auditlog/add/").status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_auditors_read_the_log_and_responders_may_not(entry: AuditLog, cast: Cast, client: Client) -> None:
    client.force_login(cast.auditor)
    assert "HNI-2026-0001" in client.get("/organisations/audit/").content.decode()
    assert client.get("/api/v1/audit/").json()["results"][0]["object_ref"] == "HNI-2026-0001"
    client.force_login(cast.hni_responder)
    assert client.get("/organisations/audit/").status_code == 403
    assert client.get("/api/v1/audit/").status_code == 403


def test_the_csv_export_neutralises_cells_a_spreadsheet_would_run(entry: AuditLog, cast: Cast,
                                                                   client: Client) -> None:
    client.force_login(cast.auditor)

    response = client.get("/organisations/audit.csv")
    raw = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(raw.decode())))

    assert response["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    assert rows[0]["after"] == "{\"title\": \"=HYPERLINK(\\\"http://evil\\\")\"}"  # JSON starts with {, safe
    assert rows[0]["ip"] == "198.51.100.4" and rows[0]["actor"] == "lead"


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), (None, ""),
])
def test_formula_looking_values_get_a_leading_quote(value: str | None, expected: str) -> None:
    assert neutralise(value) == expected


def test_an_actor_named_like_a_formula_is_neutralised_in_the_export(cast: Cast, client: Client) -> None:
    evil = User.objects.create_user("=cmd|' /C calc'!A0", password="a-long-enough-password")
    incident_create(province=cast.hni, title="x", actor=Actor(user=evil, ip=None))
    client.force_login(cast.auditor)

    response = client.get("/api/v1/audit/export/")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]

    assert "'=cmd|" in body and "\n=cmd" not in body and ",=cmd" not in body
