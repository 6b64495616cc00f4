"""Merging duplicates moves everything to the survivor; evidence is limited, hashed and only downloaded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from elasticsearch import Elasticsearch

from detection.models import Alert, DetectionRule, RuleKind
from incidents import evidence
from incidents.models import Attachment, Incident, Observable, RequestForAction, Status
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.requests import request_send
from organisations.actors import Actor
from soc import es as soc_es
from tests.conftest import Cast
from tests.incidents.conftest import Api

pytestmark = pytest.mark.django_db


def _furnish(incident: Incident, ip: str, media: Path) -> None:
    actor = Actor.system()
    comment_add(incident=incident, body=f"seen from {ip}", actor=actor)
    observable_add(incident=incident, kind="ip", value=ip, actor=actor)
    observable_add(incident=incident, kind="ip", value="198.51.100.1", actor=actor)
    request_send(incident=incident, instructions="block it", priority="normal",
                 due_at=timezone.now() + timedelta(hours=1), actor=actor)
    attachment_add(incident=incident, upload=SimpleUploadedFile("auth.log", b"sshd failure"), actor=actor)


def test_merging_moves_comments_observables_requests_evidence_and_timeline(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]], media: Path) -> None:
    survivor, duplicate = make_incidents(2)
    _furnish(survivor, "198.51.100.2", media)
    _furnish(duplicate, "198.51.100.3", media)
    Incident.objects.filter(pk=duplicate.pk).update(alert_count=5)
    rule = DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params={})
    alert = Alert.objects.create(uid="a1", rule=rule, province=cast.hni, incident=duplicate, severity="high",
                                 first_seen=timezone.now(), last_seen=timezone.now())

    response = api(cast.analyst).post(f"/api/v1/incidents/{duplicate.key}/merge/", {"into": survivor.key})

    assert response.status_code == 200 and response.json()["alert_count"] == 5
    merged = Incident.objects.get(pk=duplicate.pk)
    assert (merged.status, merged.merged_into_id) == (Status.DUPLICATE, survivor.pk)
    assert survivor.comments.count() == 2 and survivor.attachments.count() == 2
    assert RequestForAction.objects.filter(incident=survivor).count() == 2
    assert sorted(Observable.objects.filter(incident=survivor).values_list("value", flat=True)) == [
        "198.51.100.1", "198.51.100.2", "198.51.100.3"]
    assert survivor.timeline.filter(kind="comment.added").count() == 2
    assert not duplicate.comments.exists()
    assert Alert.objects.get(pk=alert.pk).incident_id == survivor.pk


def test_merging_across_provinces_or_into_itself_is_refused(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]]) -> None:
    hni = make_incidents(1)[0]
    hcm = make_incidents(1, province=cast.hcm)[0]
    analyst = api(cast.analyst)

    assert analyst.post(f"/api/v1/incidents/{hni.key}/merge/", {"into": hcm.key}).status_code == 400
    assert analyst.post(f"/api/v1/incidents/{hni.key}/merge/", {"into": hni.key}).status_code == 400
    assert api(cast.hni_responder).post(f"/api/v1/incidents/{hni.key}/merge/", {"into": hni.key}).status_code == 403


def test_evidence_is_stored_under_media_with_a_random_name_and_its_sha256(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]], media: Path) -> None:
    incident = make_incidents(1)[0]
    content = b"Jan  1 00:00:01 web01 sshd[1]: Failed password for root"

    response = api(cast.hni_responder).client.post(
        f"/api/v1/incidents/{incident.key}/attachments/",
        {"file": SimpleUploadedFile("../../etc/auth\".log", content)})

    assert response.status_code == 201, response.content
    stored = Attachment.objects.get()
    assert stored.sha256 == hashlib.sha256(content).hexdigest() == response.json()["sha256"]
    assert stored.name == "auth_.log"
    path = Path(stored.file.path)
    assert path.is_relative_to(media) and path.read_bytes() == content and "auth" not in path.name


def test_evidence_downloads_only_as_an_attachment_with_a_safe_name(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]], media: Path) -> None:
    incident = make_incidents(1)[0]
    attachment = attachment_add(incident=incident, actor=Actor.system(),
                                upload=SimpleUploadedFile("báo cáo <x>.pdf", b"%PDF-1.4 <script>"))

    for path in (f"/incidents/attachments/{attachment.pk}/download/",
                 f"/api/v1/attachments/{attachment.pk}/download/"):
        response = api(cast.hni_responder).client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "<" not in response["Content-Disposition"] and '"' not in attachment.name
        assert b"".join(response.streaming_content) == b"%PDF-1.4 <script>"  # type: ignore[attr-defined]
    assert api(cast.hcm_responder).client.get(f"/incidents/attachments/{attachment.pk}/download/").status_code == 404


@pytest.mark.parametrize("name", ["payload.exe", "page.html", "image.svg", "noextension", "script.js"])
def test_file_types_outside_the_evidence_list_are_refused(
        name: str, cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]],
        media: Path) -> None:
    incident = make_incidents(1)[0]

    response = api(cast.analyst).client.post(f"/api/v1/incidents/{incident.key}/attachments/",
                                             {"file": SimpleUploadedFile(name, b"x")})

    assert response.status_code == 400 and not Attachment.objects.exists()
    assert not any(media.rglob("*.bin"))


def test_files_over_the_size_limit_are_refused_and_nothing_is_stored(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]], media: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_BYTES", 1024)
    incident = make_incidents(1)[0]

    response = api(cast.analyst).client.post(f"/api/v1/incidents/{incident.key}/attachments/",
                                             {"file": SimpleUploadedFile("big.log", b"x" * 1025)})

    assert response.status_code == 400 and "limited" in response.json()["error"]["message"]
    assert not Attachment.objects.exists() and not any(media.rglob("*.bin"))


def test_the_incident_page_lists_its_detection_alerts(cast: Cast, api: Callable[..., Api],
                                                      make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    rule = DetectionRule.objects.create(name="SSH <brute> force", kind=RuleKind.THRESHOLD, params={})
    Alert.objects.create(uid="a2", rule=rule, province=cast.hni, incident=incident, severity="high",
                         entity_kind="ip", entity_value="203.0.113.5", first_seen=timezone.now(),
                         last_seen=timezone.now(), count=7)

    page = api(cast.hni_responder).client.get(f"/incidents/{incident.key}/").content.decode()

    assert "SSH &lt;brute&gt; force" in page and "203.0.113.5" in page and "\u00d77" in page


def test_an_incidents_events_are_read_lazily_and_only_within_scope(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]], es: Elasticsearch) -> None:
    incident = make_incidents(1)[0]
    now = timezone.now()
    index = soc_es.index_name("events", now)
    for doc_id, org in (("e-hni", "HNI"), ("e-hcm", "HCM")):
        es.index(index=index, id=doc_id, refresh=True, document={
            "@timestamp": now.isoformat(), "organization": {"id": org}, "message": f"<b>{org}</b> failed password"})
    rule = DetectionRule.objects.create(name="r", kind=RuleKind.THRESHOLD, params={})
    # An alert that (wrongly) points at another province's event must not leak it.
    Alert.objects.create(uid="a3", rule=rule, province=cast.hni, incident=incident, severity="high",
                         event_refs=[f"{index}/e-hni", f"{index}/e-hcm"], first_seen=now, last_seen=now)

    page = api(cast.hni_responder).client.get(f"/incidents/{incident.key}/events/").content.decode()
    body = api(cast.hni_responder).get(f"/api/v1/incidents/{incident.key}/events/").json()

    assert "&lt;b&gt;HNI&lt;/b&gt; failed password" in page and "HCM" not in page
    assert [e["organization"]["id"] for e in body["events"]] == ["HNI"]
    assert api(cast.hcm_responder).get(f"/api/v1/incidents/{incident.key}/events/").status_code == 404
