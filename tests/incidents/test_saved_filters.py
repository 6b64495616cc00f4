"""Saved filters: named list filters, private to their owner, holding only known filter keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from incidents.models import Incident, SavedFilter
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


def test_a_saved_filter_keeps_only_list_filters_and_replays_them(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    make_incidents(2, severity="critical")
    make_incidents(1, severity="low")
    analyst = api(cast.analyst)

    saved = analyst.post("/api/v1/saved-filters/", {"name": "Critical", "params": {
        "severity": "critical", "evil": "<script>", "page": "3"}}).json()
    replay = analyst.client.get(f"/incidents/?{saved['query']}").content.decode()

    assert saved["query"] == "severity=critical"
    assert replay.count("incident 0") + replay.count("incident 1") == 2 and "Critical" in replay


def test_a_filter_is_invisible_to_everyone_else(cast: Cast, api: Callable[..., Api]) -> None:
    saved = SavedFilter.objects.create(user=cast.hni_responder, name="mine", query="status=new")
    other = api(cast.analyst)

    assert other.get(f"/api/v1/saved-filters/{saved.pk}/").status_code == 404
    assert other.client.delete(f"/api/v1/saved-filters/{saved.pk}/").status_code == 404
    assert other.get("/api/v1/saved-filters/").json()["results"] == []
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


def test_the_console_saves_the_current_filters_and_auditors_cannot(cast: Cast, api: Callable[..., Api]) -> None:
    response = api(cast.hni_responder).client.post("/incidents/filters/", {"name": "open", "status": "new"})
    refused = api(cast.auditor).client.post("/incidents/filters/", {"name": "open", "status": "new"})

    assert response.status_code == 302 and response["Location"] == "/incidents/?status=new"
    assert refused.status_code == 403
    assert list(SavedFilter.objects.values_list("user__username", "query")) == [("hni.responder", "status=new")]
