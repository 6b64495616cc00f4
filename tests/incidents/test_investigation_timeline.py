"""The investigation timeline: events and alerts by their own time among what people did, filtered by kind, exported,
live, scoped to the reader's provinces, and the same handful of queries at 1,000 items as at ten."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import Elasticsearch

from detection.models import Alert, DetectionRule, RuleKind
from incidents.investigation import KINDS, investigation_timeline
from incidents.models import Comment, Incident, ObservableKind, Status, TimelineEntry
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.requests import request_send
from incidents.services.workflow import incident_change_status, incident_handover
from organisations.actors import Actor
from soc import es as soc_es
from tests.conftest import Cast
from tests.incidents.conftest import Api
from tests.incidents.test_live_feed import _drain, _open

pytestmark = pytest.mark.django_db


def _investigated(cast: Cast, es: Elasticsearch, incident: Incident) -> None:
    """Two hours ago an event (and another province's, wrongly referenced), an hour ago the alert; then the work."""
    now = timezone.now()
    index = soc_es.index_name("events", now - timedelta(hours=2))
    for doc_id, org in (("ev-hni", "HNI"), ("ev-hcm", "HCM")):
        es.index(index=index, id=doc_id, refresh=True, document={
            "@timestamp": (now - timedelta(hours=2)).isoformat(), "organization": {"id": org},
            "host": {"name": f"web-{org.lower()}"}, "message": f"{org} <b>failed</b> password"})
    rule = DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params={},
                                        techniques=["T1110.001"])
    Alert.objects.create(uid="tl-1", rule=rule, province=cast.hni, incident=incident, severity="high",
                         entity_kind="ip", entity_value="203.0.113.5", techniques=["T1110"], count=7,
                         event_refs=[f"{index}/ev-hni", f"{index}/ev-hcm"],
                         first_seen=now - timedelta(hours=1), last_seen=now - timedelta(minutes=50))
    actor = Actor(user=cast.analyst)
    comment_add(incident=incident, body="=HYPERLINK(\"http://evil\") <script>x</script>", actor=actor)
    incident_change_status(incident=incident, status=Status.TRIAGED, actor=actor)
    observable_add(incident=incident, kind=ObservableKind.IP, value="203.0.113.5", actor=actor)
    request_send(incident=incident, instructions="Isolate web-hni", priority="high",
                 due_at=now + timedelta(hours=4), actor=actor)
    attachment_add(incident=incident, upload=SimpleUploadedFile("auth.log", b"evidence"), actor=actor)
    incident_handover(incident=incident, owner="province", actor=Actor(user=cast.lead))


@pytest.fixture
def investigated(cast: Cast, es: Elasticsearch, media: Path, make_incidents: Callable[..., list[Incident]]) -> Incident:
    incident = make_incidents(1)[0]
    _investigated(cast, es, incident)
    return incident


def test_events_and_alerts_come_first_by_their_own_time_then_the_work_in_order(
        cast: Cast, investigated: Incident) -> None:
    items = investigation_timeline(user=cast.hni_responder, incident=investigated, newest_first=False).items

    assert [item.kind for item in items] == [
        "event", "alert", "change", "comment", "status", "observable", "task", "evidence", "handover"]
    assert items[0].values["host"] == "web-hni" and "HCM" not in json.dumps([i.values for i in items])
    assert items[3].text().startswith("=HYPERLINK") and items[3].actor == "analyst"
    assert items[-1].actor == "lead"
    assert "Isolate web-hni" in items[6].text()


def test_each_kind_can_be_shown_alone(cast: Cast, investigated: Incident) -> None:
    for kind in KINDS:
        items = investigation_timeline(user=cast.hni_responder, incident=investigated, kinds={kind}).items
        assert [item.kind for item in items] == [kind], kind


def test_the_page_filters_by_kind_and_escapes_log_content(
        cast: Cast, api: Callable[..., Api], investigated: Incident) -> None:
    client = api(cast.hni_responder).client
    everything = client.get(f"/incidents/{investigated.key}/timeline/").content.decode()
    comments = client.get(f"/incidents/{investigated.key}/timeline/", {"kind": "comment"}).content.decode()

    assert "HNI &lt;b&gt;failed&lt;/b&gt; password" in everything and "<script>x" not in everything
    assert 'data-kind="status"' in everything and 'data-kind="event"' in everything
    assert 'data-kind="comment"' in comments and 'data-kind="status"' not in comments
    assert 'data-kind="event"' not in comments


def test_the_incident_page_shows_the_newest_items_of_the_timeline(
        cast: Cast, api: Callable[..., Api], investigated: Incident) -> None:
    page = api(cast.analyst).client.get(f"/incidents/{investigated.key}/").content.decode()

    assert 'id="investigation-timeline"' in page and 'data-kind="handover"' in page
    assert f"/incidents/{investigated.key}/report/pdf/?lang=vi" in page


def test_the_api_pages_the_timeline_and_filters_by_kind(
        cast: Cast, api: Callable[..., Api], investigated: Incident) -> None:
    body = api(cast.hni_responder).get(f"/api/v1/incidents/{investigated.key}/investigation/",
                                       kind=["status", "alert"]).json()

    assert body["count"] == 2 and body["kinds"] == ["alert", "status"]
    assert [item["kind"] for item in body["results"]] == ["status", "alert"]  # newest first
    assert body["results"][1]["values"]["techniques"] == ["T1110"]


def test_the_csv_export_is_safe_in_a_spreadsheet_and_the_json_export_is_whole(
        cast: Cast, api: Callable[..., Api], investigated: Incident) -> None:
    client = api(cast.hni_responder).client
    url = f"/incidents/{investigated.key}/timeline/export/"
    rows = list(csv.DictReader(io.StringIO(client.get(url, {"format": "csv"}).content.decode())))
    exported = json.loads(client.get(url, {"format": "json", "kind": "comment"}).content)

    assert len(rows) == 9 and rows[0]["kind"] == "event"
    comment = next(row for row in rows if row["kind"] == "comment")
    assert comment["text"].startswith("'=HYPERLINK")
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    assert exported["incident"] == investigated.key and exported["kinds"] == ["comment"]
    assert [item["kind"] for item in exported["items"]] == ["comment"]
    assert client.get(url, {"format": "xlsx"}).status_code == 400


@pytest.mark.parametrize("path", ["/incidents/{key}/timeline/", "/incidents/{key}/timeline/export/",
                                  "/api/v1/incidents/{key}/investigation/"])
def test_another_province_gets_404(cast: Cast, api: Callable[..., Api], investigated: Incident, path: str) -> None:
    assert api(cast.hcm_responder).client.get(path.format(key=investigated.key)).status_code == 404
    assert api(cast.hni_responder).client.get(path.format(key=investigated.key)).status_code == 200


async def _live(cast: Cast, incident: Incident) -> dict[str, list[dict[str, Any]]]:
    from channels.db import database_sync_to_async
    sockets = {name: await _open(getattr(cast, name)) for name in ("hni_responder", "hcm_responder")}

    def work() -> None:
        comment_add(incident=incident, body="look at <web-hni>", actor=Actor(user=cast.analyst))
        incident_change_status(incident=incident, status=Status.TRIAGED, actor=Actor(user=cast.analyst))

    await database_sync_to_async(work)()
    return {name: await _drain(socket) for name, socket in sockets.items()}


@pytest.mark.django_db(transaction=True)
def test_a_new_comment_and_status_change_reach_the_open_timelines_of_the_province_only(
        cast: Cast, make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    seen = async_to_sync(_live)(cast, incident)

    items = [m for m in seen["hni_responder"] if m["kind"] == "timeline.item"]
    assert [m["item"]["kind"] for m in items] == ["comment", "status"]
    assert all(m["incident"] == incident.key for m in items)
    assert items[0]["item"]["text"]["en"] == "look at <web-hni>" and items[0]["item"]["actor"] == "analyst"
    assert items[1]["item"]["text"]["en"] == "Status New → Triaged"
    assert items[1]["item"]["text"]["vi"].startswith("Trạng thái ")
    assert seen["hcm_responder"] == []


def _thousand_items(cast: Cast, incident: Incident, n: int) -> None:
    """``n`` items in bulk: a third comments, a third status entries, a third alerts."""
    now = timezone.now()
    comments = Comment.objects.bulk_create([Comment(incident=incident, author=cast.analyst, body=f"note {i}")
                                            for i in range(n // 3)])
    TimelineEntry.objects.bulk_create(
        [TimelineEntry(incident=incident, created_at=now - timedelta(seconds=i), actor_name="analyst",
                       kind="comment.added", after={"comment": c.pk}) for i, c in enumerate(comments)]
        + [TimelineEntry(incident=incident, created_at=now - timedelta(seconds=i), actor_name="lead",
                         kind="incident.status_changed", before={"status": "new"}, after={"status": "triaged"})
           for i in range(n // 3)])
    rule = DetectionRule.objects.create(name=f"rule {n}", kind=RuleKind.THRESHOLD, params={})
    Alert.objects.bulk_create([
        Alert(uid=f"bulk-{n}-{i}", rule=rule, province=cast.hni, incident=incident, severity="low",
              entity_kind="ip", entity_value=f"198.51.100.{i % 250}", first_seen=now - timedelta(minutes=i),
              last_seen=now, event_refs=[f"none/{n}-{i}"])
        for i in range(n - 2 * (n // 3))])


def _queries(client: Any, url: str) -> tuple[int, float, Any]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return len(queries), elapsed, response


def test_a_thousand_items_cost_the_same_queries_as_ten_and_one_page_is_shown(
        cast: Cast, api: Callable[..., Api], es: Elasticsearch,
        make_incidents: Callable[..., list[Incident]]) -> None:
    small, large = make_incidents(2)
    _thousand_items(cast, small, 10)
    _thousand_items(cast, large, 1000)
    client = api(cast.hni_responder).client
    client.get(f"/incidents/{small.key}/timeline/")  # warm the session and the caches of the first request

    few, _, _ = _queries(client, f"/incidents/{small.key}/timeline/")
    many, elapsed, response = _queries(client, f"/incidents/{large.key}/timeline/")
    detail, detail_elapsed, _ = _queries(client, f"/incidents/{large.key}/")
    api_many, api_elapsed, api_response = _queries(
        client, f"/api/v1/incidents/{large.key}/investigation/?page_size=1000")

    assert many == few <= 12, f"{few} queries at 10 items, {many} at 1,000"
    assert response.content.decode().count('<li class="tl ') == 100  # one page of the 1,001 items
    assert api_response.json()["count"] == 1001 and len(api_response.json()["results"]) == 1000
    print(f"\ntimeline page at 1,001 items: {many} queries, {elapsed * 1000:.0f} ms; incident page {detail} "
          f"queries, {detail_elapsed * 1000:.0f} ms; API (1,000 per page) {api_many} queries, "
          f"{api_elapsed * 1000:.0f} ms")
    assert elapsed < 2.0


def test_tasks_and_playbooks_are_tasks_on_the_timeline(cast: Cast,
                                                       make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    TimelineEntry.objects.bulk_create([
        TimelineEntry(incident=incident, actor_name="lead", kind="playbook.applied",
                      after={"playbook": "malware", "version": 2, "tasks": [1, 2, 3]}),
        TimelineEntry(incident=incident, actor_name="hni.responder", kind="task.updated",
                      before={"status": "open"}, after={"task": 7, "owner": "province", "title": "Isolate the host",
                                                        "status": "done"}),
    ])
    items = investigation_timeline(user=cast.hni_responder, incident=incident, kinds={"task"}, newest_first=False).items

    with translation.override("en"):
        assert [item.text() for item in items] == ["Playbook malware (version 2) applied: 3 tasks",
                                                   "Task #7 Isolate the host: status=done"]


def test_without_the_search_cluster_the_rest_of_the_timeline_is_shown_and_said_so(
        cast: Cast, api: Callable[..., Api], investigated: Incident, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**_kwargs: Any) -> None:
        raise TransportConnectionError("Elasticsearch is down")
    monkeypatch.setattr("incidents.investigation.event_hits", unreachable)

    page = api(cast.hni_responder).client.get(f"/incidents/{investigated.key}/timeline/").content.decode()

    assert 'data-kind="event"' not in page and 'data-kind="comment"' in page and 'data-kind="alert"' in page
    assert "The events could not be read just now" in page or "Hiện không đọc được các sự kiện" in page


def test_items_made_at_the_same_moment_keep_the_order_they_were_made_in(
        cast: Cast, make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    moment = timezone.now() + timedelta(minutes=1)
    made = TimelineEntry.objects.bulk_create([
        # ids across a power of ten: "entry-1000000" sorts before "entry-999999" as text
        TimelineEntry(pk=999_995 + n, incident=incident, created_at=moment, actor_name="lead",
                      kind="incident.edited", after={"title": f"t{n}"}) for n in range(12)])
    items = investigation_timeline(user=cast.analyst, incident=incident, kinds={"change"}, newest_first=False).items

    assert [item.ref for item in items][-12:] == [f"entry-{entry.pk}" for entry in made]



@pytest.mark.parametrize("query", ["", "?kind=comment"])
def test_the_incident_page_lists_the_alerts_linked_alerts_reads_whether_the_timeline_read_them_or_not(
        cast: Cast, api: Callable[..., Api], es: Elasticsearch, make_incidents: Callable[..., list[Incident]],
        query: str) -> None:
    """By default the page's alert lists come from the timeline's read of the alerts (one query fewer); with a
    filter that leaves alerts out of the timeline they are read alone. Either way the same alerts, newest first."""
    from incidents.selectors import linked_alerts

    incident = make_incidents(1)[0]
    _thousand_items(cast, incident, 150)  # 50 alerts, all last seen at the same moment
    Alert.objects.filter(incident=incident, uid="bulk-150-7").update(
        last_seen=timezone.now() + timedelta(hours=1), group={"source.ip": "<b>x</b>"})
    page = api(cast.hni_responder).client.get(f"/incidents/{incident.key}/{query}").content.decode()

    detected = page.split('<ul class="detected">')[1].split("</ul>")[0].split("<li>")[1:]
    listed = page.split(f'/incidents/{incident.key}/events/"')[1].split("</ul>")[0].split("<li>")[1:]
    expected = [alert.entity_value for alert in linked_alerts(incident=incident)]
    assert len(detected) == len(listed) == len(expected) == 50
    assert "source.ip=<code>&lt;b&gt;x&lt;/b&gt;</code>" in detected[0]  # the newest first, its group escaped
    shown = [line.split("<code>")[1].split("</code>")[0] for line in listed]
    assert shown[0] == expected[0] == "198.51.100.7" and sorted(shown) == sorted(expected)
