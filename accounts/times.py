"""How a person reads a moment: in their own time zone, with the zone shown (``2026-12-04 18:02 +07``).

Stored and sent to machines as UTC (the API, CSV files, Elasticsearch); turned into local time only where a
person reads it: pages (the ``when`` filter, accounts/templatetags/times.py), e-mails and old stored texts.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, tzinfo

from django.conf import settings
from django.utils import timezone

from accounts.models import Preference
from accounts.selectors import preference_of
from organisations.selectors import AnyUser

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"
# UTC stamps in stored text: older descriptions of detection incidents (``2026-12-04T11:00:11.000Z``) and the
# values an incident's timeline recorded (``2026-12-04T11:00:11.147710+00:00``).
UTC_STAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(?:Z\b|\+00:00)")


def zone_for(pref: Preference | None) -> tzinfo:
    """The zone a user chose, else the site's (``settings.TIME_ZONE``)."""
    return zoneinfo.ZoneInfo(pref.time_zone if pref and pref.time_zone else settings.TIME_ZONE)


def zone_of(user: AnyUser) -> tzinfo:
    return zone_for(preference_of(user))


def zone_label(moment: datetime | None = None, zone: tzinfo | None = None) -> str:
    """The zone's short name at ``moment`` (``+07``, ``CET``, ``UTC``): what follows every time a person reads."""
    local = timezone.localtime(moment or timezone.now(), zone)
    return local.tzname() or local.strftime("%z")


def local_stamp(moment: datetime, *, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """``moment`` in ``zone`` (default: the active zone, the signed-in user's on a page), zone shown."""
    local = timezone.localtime(moment, zone)
    return f"{local.strftime(SECONDS if seconds else MINUTES)} {local.tzname() or local.strftime('%z')}"


def utc_stamps_localised(text: str, *, zone: tzinfo | None = None) -> str:
    """Stored texts with UTC stamps, read in ``zone``: each UTC stamp becomes a local one, zone shown."""
    def local(match: re.Match[str]) -> str:
        moment = datetime.fromisoformat(f"{match.group(1)}+00:00")
        return local_stamp(moment, zone=zone, seconds=True)
    return UTC_STAMP.sub(local, text)
