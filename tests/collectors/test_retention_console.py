"""Per-province event retention in the console and the API: the central lead sets and clears it, audited;
provinces read their own row; the hourly deletion honours what was set."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from elasticsearch import Elasticsearch

from collectors.models import ProvinceRetention
from collectors.services import event_indices_delete_expired
from organisations.models import AuditLog, Kind, Organisation, Role
from organisations.services import user_with_role
from tests.collectors.test_retention import NOW, day_index, left
from tests.conftest import PASSWORD, Cast
from tests.console.test_translations import BLOCK, TRANSLATE, vietnamese
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db

MESSAGE = "Retention must be a whole number of days from 1 to 3650."
PAGE = "/collectors/retention/"


def english(user: User) -> Client:
    """The user's logged-in client (REMOTE_ADDR 203.0.113.9), asking for English (the console defaults to vi)."""
    client = Api(user).client
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def put(user: User, code: str, body: Any) -> Any:
    return english(user).put(f"/api/v1/event-retention/{code}/", body, content_type="application/json")


def delete(user: User, code: str) -> Any:
    return english(user).delete(f"/api/v1/event-retention/{code}/")


def rows(user: User) -> dict[str, dict[str, Any]]:
    return {row["organisation"]: row for row in english(user).get("/api/v1/event-retention/").json()}


# --- API ---------------------------------------------------------------------------------------------------------

def test_the_lead_sets_a_provinces_days_and_the_change_is_audited(cast: Cast) -> None:
    response = put(cast.lead, "HNI", {"days": 7})

    assert response.status_code == 200
    assert (response.json()["days"], response.json()["origin"]) == (7, "override")
    assert ProvinceRetention.objects.get(organisation=cast.hni).days == 7
    entry = AuditLog.objects.get(action="event_retention.set")
    assert (entry.actor_name, entry.ip, entry.object_ref, entry.organisation_id) == (
        "lead", "203.0.113.9", "HNI", cast.hni.pk)
    assert entry.before == {"days": settings.EVENT_RETENTION_DAYS, "origin": "national"}
    assert entry.after == {"days": 7, "origin": "override"}


def test_changing_an_override_records_the_old_and_new_days(cast: Cast) -> None:
    put(cast.lead, "HNI", {"days": 7})
    put(cast.lead, "HNI", {"days": "400"})
    put(cast.lead, "HNI", {"days": 400})  # the value in force: nothing to record

    entries = list(AuditLog.objects.filter(action="event_retention.set").order_by("pk"))
    assert [(e.before["days"], e.after["days"]) for e in entries] == [(settings.EVENT_RETENTION_DAYS, 7), (7, 400)]


def test_removing_an_override_brings_back_the_national_default(cast: Cast) -> None:
    put(cast.lead, "HNI", {"days": 7})

    first, again = delete(cast.lead, "HNI"), delete(cast.lead, "HNI")

    assert first.status_code == again.status_code == 204
    assert not ProvinceRetention.objects.filter(organisation=cast.hni).exists()
    assert (rows(cast.lead)["HNI"]["days"], rows(cast.lead)["HNI"]["origin"]) == (
        settings.EVENT_RETENTION_DAYS, "national")
    cleared = AuditLog.objects.get(action="event_retention.cleared")
    assert (cleared.actor_name, cleared.ip, cleared.before, cleared.after) == (
        "lead", "203.0.113.9", {"days": 7, "origin": "override"},
        {"days": settings.EVENT_RETENTION_DAYS, "origin": "national"})


@pytest.mark.parametrize("body", [{"days": 0}, {"days": 3651}, {"days": "thirty"}, {"days": -5}, {"days": 12.5},
                                  {"days": True}, {"days": None}, {}, ["days", 30]])
def test_bad_days_are_refused_with_a_clear_message_and_nothing_changes(cast: Cast, body: Any) -> None:
    put(cast.lead, "HNI", {"days": 90})

    response = put(cast.lead, "HNI", body)

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid", "message": MESSAGE}
    assert ProvinceRetention.objects.get(organisation=cast.hni).days == 90
    assert AuditLog.objects.filter(action="event_retention.set").count() == 1


def test_the_message_follows_the_users_language(cast: Cast) -> None:
    response = Api(cast.lead).client.put("/api/v1/event-retention/HNI/", {"days": 0}, content_type="application/json")

    assert response.json()["error"]["message"] == "Thời gian lưu phải là số ngày nguyên từ 1 đến 3650."


def test_the_bounds_themselves_are_accepted(cast: Cast) -> None:
    assert put(cast.lead, "HNI", {"days": 1}).json()["days"] == 1
    assert put(cast.lead, "HCM", {"days": 3650}).json()["days"] == 3650


def test_a_provincial_user_reads_only_their_own_province(cast: Cast) -> None:
    put(cast.lead, "HCM", {"days": 400})

    own = rows(cast.hni_responder)

    assert list(own) == ["HNI"]
    assert own["HNI"]["origin"] == "national"
    assert english(cast.hni_responder).get("/api/v1/event-retention/HNI/").json()["organisation"] == "HNI"


def test_another_province_an_unknown_code_a_site_and_the_nation_are_404(cast: Cast) -> None:
    Organisation.objects.create(code="HNI-S1", name="Sở Y tế Hà Nội", kind=Kind.SITE, parent=cast.hni)

    for code in ("HCM", "ZZZ"):
        assert english(cast.hni_responder).get(f"/api/v1/event-retention/{code}/").status_code == 404
        assert put(cast.hni_responder, code, {"days": 5}).status_code == 404
        assert delete(cast.hni_responder, code).status_code == 404
    for code in ("HNI-S1", "VN", "ZZZ"):
        assert put(cast.lead, code, {"days": 5}).status_code == 404
    assert not ProvinceRetention.objects.exists()


def test_only_the_central_lead_may_change_retention(cast: Cast) -> None:
    admin = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni,
                           role=Role.PROVINCIAL_ADMIN)
    assert isinstance(admin, User)
    put(cast.lead, "HNI", {"days": 30})

    for user in (cast.analyst, cast.auditor, cast.hni_responder, admin):
        assert put(user, "HNI", {"days": 5}).status_code == 403, user
        assert delete(user, "HNI").status_code == 403, user
    assert put(cast.hni_responder, "HNI", {"days": 0}).status_code == 403  # the right is checked before the input
    assert ProvinceRetention.objects.get(organisation=cast.hni).days == 30
    assert "retention_manage" in put(cast.analyst, "HNI", {"days": 5}).json()["error"]["message"]


def test_the_list_costs_the_same_queries_for_one_override_or_many(cast: Cast) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(rows(cast.lead)) == Organisation.objects.filter(kind=Kind.PROVINCE).count()
        return len(captured)

    put(cast.lead, "HNI", {"days": 5})
    one = queries()
    for province in Organisation.objects.filter(kind=Kind.PROVINCE)[:10]:
        put(cast.lead, province.code, {"days": 9})

    assert queries() == one


# --- the deletion and the oldest day kept ----------------------------------------------------------------------

def test_the_hourly_deletion_honours_days_set_through_the_api(cast: Cast, es: Elasticsearch) -> None:
    hni_old = day_index(es, 20, "HNI")
    recent = day_index(es, 5, "HNI")
    hcm_old = day_index(es, 21, "HCM")

    put(cast.lead, "HNI", {"days": 10})

    assert event_indices_delete_expired(now=NOW, days=30) == [hni_old]
    assert left(es) == {recent, hcm_old}


def test_a_cleared_override_keeps_days_for_the_national_default_again(cast: Cast, es: Elasticsearch) -> None:
    put(cast.lead, "HNI", {"days": 10})
    delete(cast.lead, "HNI")
    hni_old = day_index(es, 20, "HNI")

    assert event_indices_delete_expired(now=NOW, days=30) == []
    assert left(es) == {hni_old}


def test_the_table_shows_each_provinces_oldest_day_and_when_it_may_go(cast: Cast, es: Elasticsearch) -> None:
    Organisation.objects.create(code="HNI-S1", name="Sở Y tế Hà Nội", kind=Kind.SITE, parent=cast.hni)
    put(cast.lead, "HNI", {"days": 30})
    day_index(es, 5, "HNI")
    site_day = day_index(es, 25, "HNI-S1")
    hcm_day = day_index(es, 40, "HCM")

    lead_rows, province_rows = rows(cast.lead), rows(cast.hni_responder)

    assert lead_rows["HNI"]["oldest_index"] == province_rows["HNI"]["oldest_index"] == site_day
    assert lead_rows["HNI"]["deletable_from"] == str((NOW - timedelta(days=25) + timedelta(days=31)).date())
    assert lead_rows["HCM"]["oldest_index"] == hcm_day
    assert hcm_day not in str(province_rows)


def test_the_page_says_when_a_provinces_oldest_day_is_already_due(cast: Cast, es: Elasticsearch) -> None:
    put(cast.lead, "HCM", {"days": 10})
    hcm_day = day_index(es, 40, "HCM")

    page = english(cast.hcm_responder).get(PAGE).content.decode()

    assert hcm_day in page and str((NOW - timedelta(days=40) + timedelta(days=11)).date()) in page
    assert "due: deleted at the next hourly run unless a province sharing the day keeps longer" in page


# --- console page ----------------------------------------------------------------------------------------------

def test_the_lead_sets_and_clears_a_province_on_the_page(cast: Cast) -> None:
    lead = english(cast.lead)

    saved = lead.post("/collectors/retention/HNI/", {"days": "45"}, follow=True)
    shown = saved.content.decode()
    cleared = lead.post("/collectors/retention/HNI/clear", follow=True)

    assert saved.status_code == 200 and "HNI keeps its events 45 days" in shown
    assert 'class="retention-override"' in shown and "/collectors/retention/HNI/clear" in shown
    assert cleared.status_code == 200 and "HNI follows the national default again." in cleared.content.decode()
    assert not ProvinceRetention.objects.exists()
    assert [e.action for e in AuditLog.objects.filter(object_type="event_retention").order_by("pk")] == [
        "event_retention.set", "event_retention.cleared"]
    assert {e.ip for e in AuditLog.objects.filter(object_type="event_retention")} == {"203.0.113.9"}


@pytest.mark.parametrize("days", ["0", "3651", "abc", "", "1e3"])
def test_the_page_refuses_bad_days_with_a_clear_message(cast: Cast, days: str) -> None:
    response = english(cast.lead).post("/collectors/retention/HNI/", {"days": days}, follow=True)

    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not ProvinceRetention.objects.exists() and not AuditLog.objects.filter(object_type="event_retention")


def test_a_provincial_user_sees_their_own_row_read_only(cast: Cast) -> None:
    put(cast.lead, "HCM", {"days": 400})
    client = english(cast.hni_responder)

    page = client.get(PAGE).content.decode()

    assert "HNI" in page and "HCM" not in page
    assert "<form" not in page.split('id="retention-table"')[1]
    assert client.post("/collectors/retention/HNI/", {"days": "5"}).status_code == 403
    assert client.post("/collectors/retention/HNI/clear").status_code == 403
    assert client.post("/collectors/retention/HCM/", {"days": "5"}).status_code == 404
    assert client.post("/collectors/retention/HCM/clear").status_code == 404
    assert ProvinceRetention.objects.get().days == 400


def test_the_page_lists_every_province_for_the_lead_and_explains_the_floor(cast: Cast) -> None:
    put(cast.lead, "HCM", {"days": 400})

    page = english(cast.lead).get(PAGE).content.decode()
    listing = english(cast.lead).get("/collectors/").content.decode()

    provinces = Organisation.objects.filter(kind=Kind.PROVINCE).count()
    assert page.count('class="retention-national"') + page.count('class="retention-override"') == provinces
    assert 'id="retention-floor"' in page and "a day is deleted only when every province" in page
    assert f"Events are kept {settings.EVENT_RETENTION_DAYS} days nationally" in page
    assert 'href="/collectors/retention/"' in listing


def test_every_string_of_the_retention_pages_is_translated_to_vietnamese() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "collectors/templates/collectors/retention.html").read_text(encoding="utf-8")
    strings = [re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", s) for s in TRANSLATE.findall(text) + BLOCK.findall(text)]
    strings += [MESSAGE, "Retention is set per province.", "%(code)s keeps its events %(days)d days from the next "
                "hourly run.", "%(code)s follows the national default again.", "Event retention"]

    untranslated = [s for s in strings if vietnamese(s) == s]

    assert len(strings) > 10 and not untranslated


def test_the_admin_shows_retention_but_cannot_change_it_unaudited(cast: Cast, admin_client: Client) -> None:
    put(cast.lead, "HCM", {"days": 400})
    row = ProvinceRetention.objects.get()

    assert admin_client.get("/admin/collectors/provinceretention/").status_code == 200
    assert admin_client.post("/admin/collectors/provinceretention/add/",
                             {"organisation": cast.hni.pk, "days": 5}).status_code == 403
    assert admin_client.post(f"/admin/collectors/provinceretention/{row.pk}/change/",
                             {"organisation": row.organisation_id, "days": 5}).status_code == 403
    assert admin_client.post(f"/admin/collectors/provinceretention/{row.pk}/delete/",
                             {"post": "yes"}).status_code == 403
    assert list(ProvinceRetention.objects.values_list("days", flat=True)) == [400]


def test_refusals_carry_their_own_error_codes_in_the_standard_body(cast: Cast) -> None:
    # The views raise Django's PermissionDenied and Http404; the shared handler names them like DRF's own.
    refused = put(cast.hni_responder, "HNI", {"days": 5})
    missing = put(cast.hni_responder, "HCM", {"days": 5})

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert set(refused.json()["error"]) == {"code", "message"}
