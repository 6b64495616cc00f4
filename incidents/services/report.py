"""Producing an incident report: made from the data at the time of the request, and its SHA-256 recorded in the
audit log with the format and language, so a copy handed to the authorities can later be checked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import Incident
from incidents.report import LANGUAGES, report_build, report_filename, report_html, report_pdf
from organisations.actors import Actor
from organisations.selectors import AnyUser
from organisations.services import audit_record

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True)
class ProducedReport:
    content: bytes
    content_type: str
    filename: str
    sha256: str


def incident_report_produce(*, user: AnyUser, incident: Incident, form: str, language: str,
                            actor: Actor) -> ProducedReport:
    """``incident`` was fetched in ``user``'s scope; the report shows only what ``user`` may read."""
    if form not in FORMATS:
        raise ValidationError(f"The report's format must be one of {', '.join(FORMATS)}.")
    if language not in LANGUAGES:
        raise ValidationError(f"The report's language must be one of {', '.join(LANGUAGES)}.")
    report = report_build(user=user, incident=incident, produced_at=timezone.now(), produced_by=actor.name,
                          language=language)
    content = report_pdf(report) if form == "pdf" else report_html(report).encode()
    digest = hashlib.sha256(content).hexdigest()
    audit_record(actor=actor, action="incident.report_produced", object_type="incident", object_ref=incident.key,
                 organisation=incident.province,
                 after={"format": form, "language": language, "sha256": digest, "size": len(content)})
    return ProducedReport(content=content, content_type=FORMATS[form], filename=report_filename(report, form),
                          sha256=digest)
