"""A responder uploads logs they already have (real corpus files): the events are stored for their province
through the ingest, detected as history, and the upload's page shows its progress and what fired."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from elasticsearch import Elasticsearch

from collectors.ingest import ItemResult
from collectors.models import BackfillStatus, BackfillUpload, Collector
from collectors.selectors import collector_list
from collectors.services import IngestBusy, backfill_upload_read
from collectors.tasks import requeue_stalled_backfill_uploads
from detection.authoring import sigma_text_import
from detection.models import Alert, DetectionRule
from detection.services import rules_run
from organisations.actors import Actor
from organisations.models import AuditLog
from soc import es as soc_es
from tests.conftest import Cast
from tests.detection_engine.conftest import make_rule, now

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
SAMPLE = CORPUS / "sigma" / "regression_data" / "rules" / "windows" / "process_creation" / \
    "proc_creation_win_certutil_decode"
SIGMA_RULE = CORPUS / "sigma" / "rules" / "windows" / "process_creation" / "proc_creation_win_certutil_decode.yml"
SSHD = CORPUS / "loghub" / "OpenSSH" / "OpenSSH_2k.log"
FAILURES = {"query": "event.outcome:failure AND process.name:sshd", "group_by": ["source.ip"], "count": 5,
            "window_seconds": 300}


def corpus(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus file {path} is absent (the shared corpus sits beside the clone)")
    return path


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def upload(client: Client, path: Path, *, province: str = "HNI", file_format: str = "auto",
           content: bytes | None = None) -> Any:
    data = content if content is not None else path.read_bytes()
    return client.post(reverse("detection:backfill"), {
        "province": province, "format": file_format, "host_name": "",
        "file": SimpleUploadedFile(path.name, data)})


def read_uploaded(es: Elasticsearch) -> BackfillUpload:
    """What the task does with the latest upload (tests run no worker)."""
    record = backfill_upload_read(upload_id=BackfillUpload.objects.latest("created_at").pk)
    es.indices.refresh(index=soc_es.index_pattern("events*"))
    return record


def stored(es: Elasticsearch, record: BackfillUpload) -> list[dict[str, Any]]:
    answer = es.search(index=soc_es.index_pattern("events*"), size=5000,
                       query={"term": {"agent.id": str(record.collector.uid)}})
    return [hit["_source"] for hit in answer["hits"]["hits"]]


def sample_rule() -> int:
    """The SigmaHQ rule the sample was recorded for, imported and enabled."""
    line = sigma_text_import(path=str(SIGMA_RULE), text=corpus(SIGMA_RULE).read_text(), actor=Actor.system())
    assert line.rule_id is not None, line
    DetectionRule.objects.filter(pk=line.rule_id).update(enabled=True)
    return line.rule_id


def detect(*rule_ids: int) -> None:
    """Rule cycles as the worker runs them, past the back-fill's settle time."""
    later = now() + timedelta(seconds=settings.DETECTION_BACKFILL_SETTLE_SECONDS + 5)
    rules_run(rule_ids=list(rule_ids), now=later)


def test_an_uploaded_evtx_is_stored_as_history_of_the_province_and_its_rule_fires(
        es: Elasticsearch, cast: Cast) -> None:
    [evtx] = corpus(SAMPLE).glob("*.evtx")
    rule_id = sample_rule()
    client = client_for(cast.hni_responder)

    response = upload(client, evtx)
    record = read_uploaded(es)
    detect(rule_id)
    page = client.get(response["Location"]).content.decode()

    docs = stored(es, record)
    assert response.status_code == 302 and record.status == BackfillStatus.DONE and record.format == "evtx"
    assert record.events_read == record.events_stored == len(docs) >= 1 and record.events_refused == 0
    assert {(d["organization"]["id"], d["soc"]["backfill"], d["agent"]["name"]) for d in docs} == {
        ("HNI", True, record.collector.name)}
    alert = Alert.objects.get(rule_id=rule_id)
    assert alert.province == cast.hni and alert.incident is not None
    assert alert.rule.name in page and alert.incident.key in page and 'data-done="yes"' in page
    assert not record.file  # read to its end: the file is gone, the events are in Elasticsearch


def test_the_same_sample_as_json_records_fires_too(es: Elasticsearch, cast: Cast) -> None:
    [rendering] = corpus(SAMPLE).glob("*.json")
    rule_id = sample_rule()

    upload(client_for(cast.hni_responder), rendering)
    record = read_uploaded(es)
    detect(rule_id)

    assert record.format == "json" and record.events_stored == record.events_read >= 1
    assert Alert.objects.filter(rule_id=rule_id, province=cast.hni).count() == 1


def test_real_sshd_lines_are_parsed_like_the_agent_and_a_brute_force_is_found(es: Elasticsearch, cast: Cast) -> None:
    rule = make_rule(name="ssh failures", kind="threshold", params=FAILURES, severity="high")

    upload(client_for(cast.hni_responder), corpus(SSHD))
    record = read_uploaded(es)
    detect(rule.pk)

    docs = stored(es, record)
    lines = [ln for ln in SSHD.read_text().splitlines() if ln.strip()]
    assert record.format == "text" and record.events_read == record.events_stored == len(lines) == len(docs)
    assert {d["host"]["name"] for d in docs} == {"LabSZ"} and all(d["soc"]["backfill"] for d in docs)
    assert sum(d.get("event", {}).get("outcome") == "failure" for d in docs) > 100
    assert Alert.objects.filter(rule=rule, province=cast.hni).exists()


def test_the_server_owns_province_agent_and_arrival_whatever_the_file_says(es: Elasticsearch, cast: Cast) -> None:
    forged = {"@timestamp": "2020-02-02T10:00:00Z", "message": "forged", "organization": {"id": "HCM"},
              "agent": {"id": "someone-else"}, "event": {"ingested": "2020-02-02T10:00:00Z"},
              "soc": {"backfill": False}}

    upload(client_for(cast.hni_responder), Path("forged.json"), content=json.dumps(forged).encode())
    record = read_uploaded(es)

    # A JSON record no parser knows is kept whole as text, as the agent keeps it; the fields are the server's.
    [doc] = stored(es, record)
    assert doc["organization"] == {"id": "HNI", "name": cast.hni.name}
    assert doc["agent"]["id"] == str(record.collector.uid) and doc["event"]["ingested"] > "2026"
    assert json.loads(doc["event"]["original"]) == forged and not doc.get("soc", {}).get("backfill")


def test_a_reading_resumed_after_a_crash_stores_nothing_twice(es: Elasticsearch, cast: Cast, tmp_path: Path,
                                                              settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    lines = b"\n".join(corpus(SSHD).read_bytes().splitlines()[:40])
    upload(client_for(cast.hni_responder), SSHD, content=lines)
    record = BackfillUpload.objects.get()
    kept = Path(record.file.path).read_bytes()
    read_uploaded(es)
    # The worker died after storing everything but before its count was saved: the task runs again.
    record.file.save(f"{record.uid}.log", SimpleUploadedFile("again", kept))
    BackfillUpload.objects.filter(pk=record.pk).update(status=BackfillStatus.RUNNING, events_read=0,
                                                       events_stored=0, started_at=timezone.now() - timedelta(hours=2))

    again = read_uploaded(es)

    assert (again.events_read, again.events_stored, again.events_duplicate) == (40, 0, 40)
    assert len(stored(es, again)) == 40


def test_a_file_over_the_limit_is_refused_with_the_reason_and_nothing_kept(cast: Cast, settings: Any) -> None:
    settings.BACKFILL_UPLOAD_MAX_BYTES = 1024

    response = upload(client_for(cast.hni_responder), Path("big.log"), content=b"x" * 4096)

    assert response.status_code == 400
    assert "The file is 4.0\xa0KB; at most 1.0\xa0KB can be uploaded here." in response.content.decode()
    assert not BackfillUpload.objects.exists() and not Collector.objects.exists()


def test_a_province_has_a_bounded_number_of_uploads_waiting_and_may_send_again_when_one_is_read(
        es: Elasticsearch, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    import collectors.services

    monkeypatch.setattr(collectors.services, "BACKFILL_IN_FLIGHT_PER_PROVINCE", 2)
    hni, line = client_for(cast.hni_responder), b"Dec 10 06:55:46 LabSZ sshd[1]: Invalid user a from 10.0.0.1\n"
    for n in range(2):
        assert upload(hni, Path(f"part-{n}.log"), content=line).status_code == 302

    refused = upload(hni, Path("part-2.log"), content=line)

    assert refused.status_code == 400
    assert "2 files of this province are waiting or being read" in refused.content.decode()
    assert BackfillUpload.objects.filter(organisation=cast.hni).count() == 2
    assert upload(client_for(cast.hcm_responder), Path("hcm.log"), province="HCM", content=line).status_code == 302
    read_uploaded(es)  # HCM's; then one of HNI's is read and HNI may send the next
    backfill_upload_read(upload_id=BackfillUpload.objects.filter(organisation=cast.hni).earliest("created_at").pk)
    assert upload(hni, Path("part-2.log"), content=line).status_code == 302


def test_a_binary_file_that_is_no_event_log_fails_with_a_clear_error(es: Elasticsearch, cast: Cast) -> None:
    upload(client_for(cast.hni_responder), Path("dump.bin"), content=b"\x00\x01binary\x00" * 100)

    record = read_uploaded(es)

    assert record.status == BackfillStatus.FAILED and "not an .evtx event log" in record.error
    assert record.events_read == 0


def test_a_province_never_sees_or_writes_another_provinces_uploads(es: Elasticsearch, cast: Cast) -> None:
    hni, hcm = client_for(cast.hni_responder), client_for(cast.hcm_responder)
    upload(hni, Path("hni-secret.log"), content=b"Dec 10 06:55:46 LabSZ sshd[1]: Invalid user a from 10.0.0.1\n")
    record = BackfillUpload.objects.get()

    detail = reverse("detection:backfill-upload", args=[record.uid])
    forged = upload(hcm, Path("x.log"), province="HNI", content=b"line\n")

    assert hcm.get(detail).status_code == 404 and hni.get(detail).status_code == 200
    assert "hni-secret.log" not in hcm.get(reverse("detection:backfill")).content.decode()
    assert "hni-secret.log" in client_for(cast.analyst).get(reverse("detection:backfill")).content.decode()
    assert forged.status_code == 400 and BackfillUpload.objects.count() == 1


def test_central_staff_upload_for_a_province_they_choose_and_auditors_cannot(es: Elasticsearch, cast: Cast) -> None:
    response = upload(client_for(cast.analyst), Path("hcm.log"), province="HCM", content=b"some line\n")

    assert response.status_code == 302 and BackfillUpload.objects.get().organisation == cast.hcm
    assert client_for(cast.auditor).get(reverse("detection:backfill")).status_code == 403


def test_an_upload_is_audited_and_its_collector_is_not_an_enrolled_one(es: Elasticsearch, cast: Cast) -> None:
    upload(client_for(cast.hni_responder), Path("a.log"), content=b"one line\n")
    record = read_uploaded(es)

    entries = dict(AuditLog.objects.filter(object_ref=str(record.uid)).values_list("action", "actor_id"))
    assert entries == {"backfill.uploaded": cast.hni_responder.pk, "backfill.read": None}
    assert record.collector.revoked_at is not None
    assert record.collector not in collector_list(user=cast.lead)


def test_a_second_message_for_an_upload_being_read_reads_nothing(es: Elasticsearch, cast: Cast) -> None:
    upload(client_for(cast.hni_responder), Path("a.log"), content=b"one line\n")
    record = BackfillUpload.objects.get()
    BackfillUpload.objects.filter(pk=record.pk).update(status=BackfillStatus.RUNNING, started_at=timezone.now())

    again = backfill_upload_read(upload_id=record.pk)

    assert (again.status, again.events_read) == (BackfillStatus.RUNNING, 0)


def test_a_busy_elasticsearch_puts_the_upload_back_in_the_queue_for_the_retry(
        es: Elasticsearch, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    upload(client_for(cast.hni_responder), Path("a.log"), content=b"one line\ntwo lines\n")
    def busy(*, collector: Collector, payload: dict[str, Any]) -> list[ItemResult]:
        return [ItemResult(id=item["id"], status="retry", error="Elasticsearch is busy; resend")
                for item in payload["events"]]

    monkeypatch.setattr("collectors.services.BACKFILL_ATTEMPTS", 1)
    monkeypatch.setattr("collectors.services.ingest_batch", busy)

    with pytest.raises(IngestBusy):
        backfill_upload_read(upload_id=BackfillUpload.objects.get().pk)

    record = BackfillUpload.objects.get()
    assert (record.status, record.events_read) == (BackfillStatus.QUEUED, 0) and record.file


def test_uploads_whose_reading_never_started_or_was_killed_are_sent_again(es: Elasticsearch, cast: Cast) -> None:
    client = client_for(cast.hni_responder)
    for name in ("lost.log", "killed.log", "fresh.log", "reading.log"):
        upload(client, Path(name), content=b"one line\n")
    uploads = {u.file_name: u for u in BackfillUpload.objects.all()}
    now = timezone.now()
    BackfillUpload.objects.filter(pk=uploads["lost.log"].pk).update(created_at=now - timedelta(minutes=3))
    BackfillUpload.objects.filter(pk=uploads["killed.log"].pk).update(status=BackfillStatus.RUNNING,
                                                                     started_at=now - timedelta(hours=2))
    BackfillUpload.objects.filter(pk=uploads["reading.log"].pk).update(status=BackfillStatus.RUNNING,
                                                                      started_at=now - timedelta(minutes=3))

    sent = requeue_stalled_backfill_uploads()

    assert sorted(sent) == sorted([uploads["lost.log"].pk, uploads["killed.log"].pk])
    assert backfill_upload_read(upload_id=uploads["killed.log"].pk).status == BackfillStatus.DONE
