"""SLA policies: national targets, provincial overrides, set by the central lead, audited, for new incidents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from incidents.models import Incident, SlaPolicy
from incidents.services.intake import incident_create
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db
FIVE = timedelta(minutes=5)


def _cell(rows: list[dict], code: str, severity: str) -> dict:
    row = next(r for r in rows if r["organisation"] == code)
    return next(c for c in row["cells"] if c["severity"] == severity)


def test_a_province_override_changes_the_due_times_of_its_new_incidents(cast: Cast, api: Callable[..., Api]) -> None:
    lead = api(cast.lead)
    before = incident_create(province=cast.hni, title="before", severity="high")

    response = lead.client.put("/api/v1/sla-policies/HNI/high/", {"acknowledge_minutes": 5, "contain_minutes": 60,
                               "resolve_minutes": 600}, content_type="application/json")
    after = incident_create(province=cast.hni, title="after", severity="high")
    elsewhere = incident_create(province=cast.hcm, title="elsewhere", severity="high")

    assert response.status_code == 200
    assert after.ack_due_at is not None and abs(after.ack_due_at - after.created_at - FIVE) < timedelta(seconds=2)
    assert elsewhere.ack_due_at is not None and elsewhere.ack_due_at - elsewhere.created_at > 2 * FIVE
    assert Incident.objects.get(pk=before.pk).ack_due_at == before.ack_due_at
    entry = AuditLog.objects.get(action="sla_policy.set")
    assert (entry.object_ref, entry.actor_name, entry.after["acknowledge_minutes"]) == ("HNI:high", "lead", 5)


def test_the_table_says_where_each_target_comes_from(cast: Cast, api: Callable[..., Api]) -> None:
    lead = api(cast.lead)
    lead.client.put("/api/v1/sla-policies/VN/low/", {"acknowledge_minutes": 100, "contain_minutes": 200,
                    "resolve_minutes": 300}, content_type="application/json")
    lead.client.put("/api/v1/sla-policies/HNI/low/", {"acknowledge_minutes": 10, "contain_minutes": 20,
                    "resolve_minutes": 30}, content_type="application/json")

    rows = lead.get("/api/v1/sla-policies/").json()
    responder_rows = api(cast.hni_responder).get("/api/v1/sla-policies/").json()

    assert _cell(rows, "VN", "low")["origin"] == "national"
    assert (_cell(rows, "HNI", "low")["origin"], _cell(rows, "HNI", "low")["acknowledge_minutes"]) == ("override", 10)
    assert (_cell(rows, "HCM", "low")["origin"], _cell(rows, "HCM", "low")["acknowledge_minutes"]) == ("national", 100)
    assert [r["organisation"] for r in responder_rows] == ["HNI"]


def test_removing_an_override_brings_back_the_national_targets(cast: Cast, api: Callable[..., Api]) -> None:
    lead = api(cast.lead)
    lead.client.put("/api/v1/sla-policies/HNI/medium/", {"acknowledge_minutes": 1, "contain_minutes": 2,
                    "resolve_minutes": 3}, content_type="application/json")

    assert lead.client.delete("/api/v1/sla-policies/HNI/medium/").status_code == 204
    assert not SlaPolicy.objects.filter(organisation=cast.hni).exists()
    assert AuditLog.objects.filter(action="sla_policy.cleared", object_ref="HNI:medium").exists()
    assert lead.client.delete("/api/v1/sla-policies/VN/medium/").status_code == 400


def test_only_the_central_lead_sets_targets_and_bad_values_are_refused(cast: Cast, api: Callable[..., Api]) -> None:
    body = {"acknowledge_minutes": 5, "contain_minutes": 6, "resolve_minutes": 7}
    put = "/api/v1/sla-policies/HNI/high/"

    assert api(cast.analyst).client.put(put, body, content_type="application/json").status_code == 403
    assert api(cast.hni_responder).client.put(put, body, content_type="application/json").status_code == 403
    assert api(cast.hni_responder).client.put("/api/v1/sla-policies/HCM/high/", body,
                                              content_type="application/json").status_code == 404
    backwards = api(cast.lead).client.put(put, {**body, "resolve_minutes": 1}, content_type="application/json")
    unknown = api(cast.lead).client.put("/api/v1/sla-policies/HNI/urgent/", body, content_type="application/json")
    assert backwards.status_code == unknown.status_code == 400
    assert "acknowledge ≤ contain ≤ resolve" in backwards.json()["error"]["message"]
    assert not SlaPolicy.objects.filter(organisation=cast.hni).exists()


def test_the_console_page_sets_business_hours_and_shows_the_table(cast: Cast, api: Callable[..., Api]) -> None:
    lead = api(cast.lead).client

    saved = lead.post("/incidents/sla/", {"organisation": "HNI", "severity": "critical", "acknowledge_minutes": 30,
                                          "contain_minutes": 60, "resolve_minutes": 120, "business_hours_only": "on",
                                          "business_day_start": "07:30", "business_day_end": "16:30"}, follow=True)
    refused = api(cast.hni_responder).client.post("/incidents/sla/", {"organisation": "HNI"})

    policy = SlaPolicy.objects.get(organisation=cast.hni, severity="critical")
    assert policy.business_hours_only and policy.business_day_start.strftime("%H:%M") == "07:30"
    assert saved.status_code == 200 and b"sla-override" in saved.content
    assert refused.status_code == 403
    assert b"sla-form" not in api(cast.hni_responder).client.get("/incidents/sla/").content
