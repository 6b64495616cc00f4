"""How the web tier serves (issue 14): sync views in threads, async views on the loop, pooled connections,
and the cheap renderings of the triage rows and the incident page's blank forms keep their markup."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import Client, override_settings
from django.urls import path
from django.utils import timezone, translation

from incidents import forms
from incidents.models import Incident
from incidents.services.intake import incident_create
from incidents.views import blank_form, edit_form
from soc.asgi import on_event_loop, view_is_async
from tests.conftest import Cast


async def an_async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async")


def a_sync_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("sync")


urlpatterns = [path("async/", an_async_view), path("sync/", a_sync_view)]


@override_settings(ROOT_URLCONF=__name__)
def test_it_sends_async_views_to_the_event_loop_and_the_rest_to_the_threads() -> None:
    assert view_is_async("/async/")
    assert not view_is_async("/sync/")
    assert not view_is_async("/no/such/page/")  # the 404 page is a sync view too


def test_console_pages_run_in_threads() -> None:
    assert not view_is_async("/incidents/")
    assert not view_is_async("/api/v1/incidents/")


def test_every_process_draws_connections_from_a_bounded_pool() -> None:
    pool: dict[str, int] = settings.DATABASES["default"]["OPTIONS"]["pool"]  # type: ignore[index]
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool
    assert settings.WEB_THREADS < pool["max_size"] <= 64  # a thread never waits for a connection its pool lacks


def _old_rows(incidents: list[Incident], can_bulk: bool) -> str:
    """The loop the triage template had before the tag, for comparison."""
    return Template(
        "{% load times %}{% for incident in incidents %}<tr data-key=\"{{ incident.key }}\"><td>"
        "{% if can_bulk %}<input "
        "type=\"checkbox\" name=\"keys\" value=\"{{ incident.key }}\" aria-label=\"{{ incident.key }}\"> {% endif %}"
        "<a href=\"{% url 'incidents:detail' incident.key %}\">{{ incident.key }}</a></td><td>{{ incident.title }}"
        "</td><td class=\"sev sev-{{ incident.severity }}\">{{ incident.get_severity_display }}</td><td>"
        "{{ incident.get_status_display }}</td><td>{{ incident.province.code }}</td><td>{{ incident.alert_count }}"
        "</td><td>{{ incident.created_at|when }}</td></tr>\n{% endfor %}"
    ).render(Context({"incidents": incidents, "can_bulk": can_bulk}))


@pytest.mark.parametrize("can_bulk", [True, False])
@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_triage_rows_are_the_markup_the_template_loop_made(cast: Cast, can_bulk: bool, language: str) -> None:
    incident_create(province=cast.hni, title='<script>alert("x")</script> & "quotes"', severity="critical")
    incident_create(province=cast.hcm, title="plain", severity="low")
    incidents = list(Incident.objects.select_related("province").order_by("-id"))
    with translation.override(language), timezone.override("Asia/Ho_Chi_Minh"):
        new = Template("{% load incident_rows %}{% incident_rows incidents can_bulk %}").render(
            Context({"incidents": incidents, "can_bulk": can_bulk}))
        assert new == _old_rows(incidents, can_bulk)
    assert "<script>" not in new and "&lt;script&gt;" in new


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("form_class", [forms.StatusForm, forms.HandoverForm, forms.CommentForm, forms.ObservableForm,
                                        forms.RequestForm, forms.AttachmentForm, forms.MergeForm])
def test_a_blank_form_renders_as_it_did_in_each_language(form_class: Any, language: str) -> None:
    with translation.override(language):
        assert blank_form(form_class).as_p == form_class().as_p()


def _old_edit_form(incident: Incident) -> str:
    """How the incident view rendered the edit form before the cache, for comparison."""
    return str(forms.EditForm(initial={**{f: getattr(incident, f) for f in ("title", "severity", "category", "tlp")},
                                       "mitre_techniques": " ".join(incident.mitre_techniques)}).as_p())


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(("title", "techniques"), [
    ('<script>alert("x")</script> & \'quotes\' &amp;', ["T1110.001", "T1078"]),
    ("plain", []),
    ("", ["<b>T1</b>"]),
    ("a title naming soc-slot-mitre_techniques and {}", ["T1059"]),
])
def test_the_edit_form_is_the_markup_django_renders_for_the_incident(cast: Cast, language: str, title: str,
                                                                    techniques: list[str]) -> None:
    incident = incident_create(province=cast.hni, title="x", severity="high")
    incident.title, incident.mitre_techniques = title, techniques
    with translation.override(language):
        assert edit_form(incident=incident).as_p == _old_edit_form(incident)
        incident.severity, incident.category, incident.tlp = "low", "fraud", "red"
        assert edit_form(incident=incident).as_p == _old_edit_form(incident)  # another cached combination


def test_the_queue_and_the_incident_page_still_render_for_a_responder(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="seen from the queue")
    client = Client()
    client.force_login(cast.hni_responder)
    queue = client.get("/incidents/")
    assert queue.status_code == 200 and f'data-key="{incident.key}"' in queue.content.decode()
    page = client.get(f"/incidents/{incident.key}/")
    assert page.status_code == 200 and 'name="body"' in page.content.decode()  # the comment form, from the cache


def _scope(path: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "path": path, "headers": list(headers)}


def test_ingest_and_chunked_bodies_stay_on_the_event_loop() -> None:
    assert on_event_loop(_scope("/api/v1/ingest/events"))
    assert on_event_loop(_scope("/incidents/", (b"transfer-encoding", b"chunked")))
    assert not on_event_loop(_scope("/incidents/", (b"content-length", b"10")))
