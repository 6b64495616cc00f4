"""The incident report: what it says, in the language asked for, as HTML and as a PDF whose text (read back with
pdftotext) keeps the Vietnamese diacritics; its SHA-256 is in the audit log and verifies a copy."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from detection.models import Alert, DetectionRule, RuleKind
from incidents.models import Incident, ObservableKind, Playbook, Status
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.intake import incident_create
from incidents.services.playbooks import playbook_apply, playbook_starter_load
from incidents.services.requests import request_send, request_update
from incidents.services.tasks import task_update
from incidents.services.workflow import incident_change_status
from organisations.actors import Actor
from organisations.models import AuditLog
from tests.conftest import Cast
from tests.incidents.conftest import Api
from tests.incidents.test_investigation_timeline import _queries, _thousand_items

pytestmark = pytest.mark.django_db
EVIDENCE = b"Nhat ky xac thuc: failed password for root"


@pytest.fixture
def reported(cast: Cast, media: Path) -> Incident:
    incident = incident_create(province=cast.hni, title="Sự cố mã độc tại Hà Nội <script>alert(1)</script>",
                               description="Máy chủ cổng thông tin bị dò mật khẩu.",
                               affected_systems="portal-01.hanoi.gov.vn")
    analyst, responder = Actor(user=cast.analyst), Actor(user=cast.hni_responder)
    rule = DetectionRule.objects.create(name="SSH brute force", kind=RuleKind.THRESHOLD, params={},
                                        techniques=["T1110.001"])
    now = timezone.now()
    Alert.objects.create(uid="rep-1", rule=rule, province=cast.hni, incident=incident, severity="high",
                         entity_kind="host", entity_value="web-hni-02", techniques=["T1110"], count=40,
                         first_seen=now - timedelta(hours=1), last_seen=now)
    incident_change_status(incident=incident, status=Status.TRIAGED, actor=analyst)
    comment_add(incident=incident, body="Đã chặn địa chỉ 203.0.113.5 trên tường lửa", actor=analyst)
    observable_add(incident=incident, kind=ObservableKind.IP, value="203.0.113.5", actor=analyst)
    attachment = attachment_add(incident=incident, upload=SimpleUploadedFile("auth.log", EVIDENCE), actor=analyst)
    playbook_starter_load(actor=Actor.system())
    tasks = playbook_apply(incident=incident, playbook=Playbook.objects.get(slug="brute-force"), actor=analyst,
                           reason="manual")
    confirm = next(task for task in tasks if task.owner == "central")
    task_update(task=confirm, actor=analyst, changes={"assignee": cast.analyst.pk, "evidence": [attachment.pk],
                                                      "status": "done", "note": "Không có đăng nhập thành công"})
    request = request_send(incident=incident, instructions="Cách ly máy chủ web-hni-02", priority="high",
                           due_at=now + timedelta(hours=4), actor=analyst)
    request_update(request=request, status="in_progress", note="Đang cách ly", actor=responder)
    return incident


def pdf_text(content: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext (Debian poppler-utils) is needed: scripts/test.sh installs it"
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def test_the_vietnamese_pdf_keeps_its_diacritics_and_says_everything(
        cast: Cast, api: Callable[..., Api], reported: Incident, tmp_path: Path) -> None:
    response = api(cast.hni_responder).client.get(f"/incidents/{reported.key}/report/pdf/", {"lang": "vi"})

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(pdf_text(response.content, tmp_path).split())  # table cells wrap: compare word by word
    for words in ("Báo cáo sự cố", "Sự cố mã độc tại Hà Nội", "Tỉnh/thành", "Hà Nội", "Trạng thái",
                  "Đã chặn địa chỉ 203.0.113.5", "Cách ly máy chủ web-hni-02", "Đang xử lý",
                  "Kỹ thuật ATT&CK", "T1110, T1110.001", "portal-01.hanoi.gov.vn", "web-hni-02",
                  "Máy chủ và tài sản bị ảnh hưởng", "Các hành động đã thực hiện", "Bên thực hiện",
                  "Không có đăng nhập thành công"):
        assert words in text, words
    assert hashlib.sha256(EVIDENCE).hexdigest()[:32] in text.replace(" ", "")
    assert "<script>alert(1)</script>" in text  # printed as text, not lost and not markup
    assert f"{reported.key} · TLP:AMBER" in text and "Trang 1" in text  # every page's footer


def test_the_english_html_report_is_print_ready_escaped_and_complete(
        cast: Cast, api: Callable[..., Api], reported: Incident) -> None:
    response = api(cast.analyst).client.get(f"/incidents/{reported.key}/report/", {"lang": "en"})
    page = response.content.decode()

    assert response.status_code == 200 and '<html lang="en">' in page and "css/report.css" in page
    assert "Incident report" in page and "Affected hosts and assets" in page and "Actions taken" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert hashlib.sha256(EVIDENCE).hexdigest() in page
    assert "In progress" in page and "Cách ly máy chủ web-hni-02" in page  # the request's status and text
    # Every task of the playbook, with who does it, who has it, its status, its note and its evidence.
    assert "Confirm the attempts and whether any login succeeded" in page and "Done by" in page
    assert "Block the source addresses at the perimeter" in page and "Central SOC" in page
    assert "Note: Không có đăng nhập thành công" in page and "Evidence: auth.log" in page
    assert page.count("<td>Done</td>") == 1 and page.count("<td>Open</td>") >= 4
    assert "T1110.001" in page and "203.0.113.5" in page and "web-hni-02" in page
    assert "Status New → Triaged" in page and "hni.responder" in page  # who did what


def test_each_report_records_its_sha256_in_the_audit_log_and_a_copy_can_be_verified(
        cast: Cast, api: Callable[..., Api], reported: Incident) -> None:
    client = api(cast.hni_responder).client
    pdf = client.get(f"/incidents/{reported.key}/report/pdf/", {"lang": "en"})
    html = client.get(f"/incidents/{reported.key}/report/", {"lang": "vi"})

    entries = list(AuditLog.objects.filter(action="incident.report_produced", object_ref=reported.key)
                   .order_by("id"))
    assert [(e.after["format"], e.after["language"], e.actor_name, e.organisation_id) for e in entries] == [
        ("pdf", "en", "hni.responder", cast.hni.pk), ("html", "vi", "hni.responder", cast.hni.pk)]
    for response, entry in ((pdf, entries[0]), (html, entries[1])):
        digest = hashlib.sha256(response.content).hexdigest()
        assert entry.after["sha256"] == digest == response["X-Report-SHA256"]
        assert entry.after["size"] == len(response.content)
    verify = f"/incidents/{reported.key}/report/verify/"
    assert 'id="verify-result"' in client.get(verify, {"sha256": entries[0].after["sha256"]}).content.decode()
    assert "hni.responder" in client.get(verify, {"sha256": entries[0].after["sha256"]}).content.decode()
    tampered = hashlib.sha256(pdf.content + b" ").hexdigest()
    refused = client.get(verify, {"sha256": tampered}).content.decode()
    assert "No report of this incident" in refused or "Nền tảng chưa từng" in refused
    assert "64" in client.get(verify, {"sha256": "not-a-hash"}).content.decode()


def test_the_report_reads_the_data_at_the_time_of_the_request(
        cast: Cast, api: Callable[..., Api], reported: Incident) -> None:
    client = api(cast.analyst).client
    before = client.get(f"/incidents/{reported.key}/report/", {"lang": "en"}).content.decode()
    comment_add(incident=reported, body="Second finding: lateral movement", actor=Actor(user=cast.analyst))
    after = client.get(f"/incidents/{reported.key}/report/", {"lang": "en"}).content.decode()

    assert "Second finding" not in before and "Second finding" in after


def test_an_unknown_language_or_format_is_refused_and_nothing_is_recorded(
        cast: Cast, api: Callable[..., Api], reported: Incident) -> None:
    client = api(cast.analyst)
    assert client.client.get(f"/incidents/{reported.key}/report/", {"lang": "fr"}).status_code == 400
    assert client.get(f"/api/v1/incidents/{reported.key}/report/", output="docx").status_code == 400
    assert not AuditLog.objects.filter(action="incident.report_produced").exists()


def test_the_api_hands_out_the_pdf_with_its_hash(
        cast: Cast, api: Callable[..., Api], reported: Incident, tmp_path: Path) -> None:
    response = api(cast.lead).get(f"/api/v1/incidents/{reported.key}/report/", lang="vi")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["X-Report-SHA256"] == hashlib.sha256(response.content).hexdigest()
    assert "Sự cố mã độc tại Hà Nội" in " ".join(pdf_text(response.content, tmp_path).split())


@pytest.mark.parametrize("path", ["/incidents/{key}/report/", "/incidents/{key}/report/pdf/",
                                  "/incidents/{key}/report/verify/", "/api/v1/incidents/{key}/report/"])
def test_another_province_gets_404_and_no_report_is_recorded(
        cast: Cast, api: Callable[..., Api], reported: Incident, path: str) -> None:
    assert api(cast.hcm_responder).client.get(path.format(key=reported.key)).status_code == 404
    assert not AuditLog.objects.filter(action="incident.report_produced").exists()


def test_a_report_of_a_thousand_items_costs_the_queries_of_ten(
        cast: Cast, api: Callable[..., Api], make_incidents: Callable[..., list[Incident]], tmp_path: Path) -> None:
    small, large = make_incidents(2)
    _thousand_items(cast, small, 10)
    _thousand_items(cast, large, 1000)
    client = api(cast.analyst).client
    client.get(f"/incidents/{small.key}/report/pdf/")  # warm the session and the font

    few, _, _ = _queries(client, f"/incidents/{small.key}/report/pdf/")
    many, pdf_seconds, pdf = _queries(client, f"/incidents/{large.key}/report/pdf/")
    html_queries, html_seconds, _ = _queries(client, f"/incidents/{large.key}/report/")

    assert many == few <= 15, f"{few} queries at 10 items, {many} at 1,000"
    assert pdf_text(pdf.content, tmp_path).count("note ") >= 333  # every comment made it into the PDF
    print(f"\nreport at 1,001 items: PDF {many} queries, {pdf_seconds:.2f} s, {len(pdf.content)} bytes; "
          f"HTML {html_queries} queries, {html_seconds:.2f} s")
