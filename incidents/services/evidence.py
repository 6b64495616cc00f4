"""Files attached to an incident as evidence."""

from __future__ import annotations

import hashlib
import mimetypes
import uuid

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from incidents.evidence import evidence_check
from incidents.models import Attachment, Incident
from incidents.services.live import broadcast_updated
from incidents.timeline import record as _record
from organisations.actors import Actor


def attachment_add(*, incident: Incident, upload: UploadedFile, actor: Actor) -> Attachment:
    """Size and type checked before anything is stored; the stored file name is random, never the user's."""
    name = evidence_check(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    with transaction.atomic():
        attachment = Attachment(incident=incident, uploaded_by=actor.user, name=name, content_type=content_type,
                                size=upload.size or 0, sha256=digest.hexdigest())
        attachment.file.save(f"{uuid.uuid4().hex}.bin", upload, save=False)
        try:
            attachment.save()
            _record(incident, actor=actor, kind="attachment.added",
                    after={"name": name, "sha256": attachment.sha256, "size": attachment.size})
        except Exception:
            attachment.file.delete(save=False)
            raise
        broadcast_updated(incident)
    return attachment
