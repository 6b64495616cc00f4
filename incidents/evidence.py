"""Evidence upload limits and safe download names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

MAX_BYTES: int = getattr(settings, "SOC_EVIDENCE_MAX_BYTES", 25 * 1024 * 1024)
# Evidence formats analysts exchange; anything else (executables, HTML, SVG, scripts) is refused.
ALLOWED_SUFFIXES = frozenset({
    ".txt", ".log", ".csv", ".json", ".xml", ".pdf", ".png", ".jpg", ".jpeg", ".gif",
    ".pcap", ".pcapng", ".evtx", ".eml", ".zip", ".gz", ".7z",
})
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+")


def safe_name(raw: str) -> str:
    """A file name with no directory part, control characters, quotes or leading dots."""
    base = PureWindowsPath(PurePosixPath(raw).name).name
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip(" .")[:200]
    return base or "evidence"


def evidence_check(upload: UploadedFile) -> str:
    """The safe name of an acceptable upload, or ValidationError saying why not."""
    name = safe_name(upload.name or "")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ValidationError(f"Files of type '{suffix or 'none'}' are not accepted as evidence. "
                              f"Allowed: {', '.join(sorted(ALLOWED_SUFFIXES))}.")
    if not upload.size:
        raise ValidationError("The file is empty.")
    if upload.size > MAX_BYTES:
        raise ValidationError(f"Evidence files are limited to {MAX_BYTES // (1024 * 1024)} MB.")
    return name
