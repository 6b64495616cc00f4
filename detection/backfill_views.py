"""Console pages to detect attacks in logs a responder already has: upload a file, follow its back-fill.

The upload is stored for a province the user may file incidents for (``collectors.selectors.backfill_provinces``)
and read by a task through the ingest (``collectors.services.backfill_upload_read``); detection evaluates the
events like any collector's (history as back-fill), and the upload's page shows what fired.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from elasticsearch import ApiError, TransportError

from collectors.forms import BackfillUploadForm
from collectors.models import BackfillStatus, BackfillUpload
from collectors.selectors import backfill_provinces, backfill_upload_get, backfill_upload_list
from collectors.services import backfill_upload_create
from detection.selectors import BackfillRow, alerts_from_collector, backfill_rows
from organisations.actors import Actor

UPLOADS_SHOWN = 50
ALERTS_SHOWN = 100


@login_required
@require_http_methods(["GET", "POST"])
def backfill_view(request: HttpRequest) -> HttpResponse:
    provinces = backfill_provinces(user=request.user)
    if not provinces.exists():
        raise PermissionDenied("Your role does not upload logs.")
    form = BackfillUploadForm(request.POST or None, request.FILES or None, provinces=provinces)
    status = 200
    if request.method == "POST":
        upload = _create(request, form)
        if upload is not None:
            return redirect("detection:backfill-upload", upload_uid=upload.uid)
        status = 400
    return render(request, "detection/backfill.html", {
        "form": form, "uploads": backfill_upload_list(user=request.user)[:UPLOADS_SHOWN],
        "max_mb": settings.BACKFILL_UPLOAD_MAX_BYTES // 2**20,
    }, status=status)


def _create(request: HttpRequest, form: BackfillUploadForm) -> BackfillUpload | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return backfill_upload_create(organisation=data["province"], upload=data["file"],
                                      file_name=data["file"].name or "upload", file_format=data["format"],
                                      host_name=data["host_name"], actor=Actor.from_request(request))
    except ValidationError as exc:
        form.add_error("file", exc)
        return None


@login_required
@require_GET
def backfill_upload_view(request: HttpRequest, upload_uid: str) -> HttpResponse:
    upload = backfill_upload_get(user=request.user, uid=upload_uid)
    collector_id = str(upload.collector.uid)
    alerts = alerts_from_collector(user=request.user, collector_id=collector_id, since=upload.created_at)
    alerts = alerts.select_related("rule", "incident").order_by("-created_at")
    return render(request, "detection/backfill_upload.html", {
        "upload": upload, "reading": upload.status in (BackfillStatus.QUEUED, BackfillStatus.RUNNING),
        "detection": _detection_row(request, collector_id), "alerts": alerts[:ALERTS_SHOWN],
        "alert_count": alerts.count(),
        "incidents": sorted({a.incident for a in alerts[:ALERTS_SHOWN] if a.incident}, key=lambda i: i.key),
    })


def _detection_row(request: HttpRequest, collector_id: str) -> BackfillRow | str | None:
    """The rules' progress over the upload's history; None: none of it was history (the live pass reads it);
    a string: Elasticsearch did not answer."""
    try:
        rows = backfill_rows(user=request.user, now=timezone.now(), collector_ids=[collector_id])
    except (ApiError, TransportError):
        return "unavailable"
    return rows[0] if rows else None
