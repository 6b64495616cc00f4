"""The time window a daily scorecard covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

# Sources seen in this many days before the day and silent on it are "silent sources".
LOOKBACK_DAYS = 7
# Response measures (MTTA, MTTR, SLA) need more incidents than one day gives.
RESPONSE_DAYS = 30


@dataclass(frozen=True)
class Window:
    day: date
    start: datetime
    end: datetime

    @property
    def lookback_start(self) -> datetime:
        return self.start - timedelta(days=LOOKBACK_DAYS)

    @property
    def response_start(self) -> datetime:
        return self.end - timedelta(days=RESPONSE_DAYS)


def window_for(day: date) -> Window:
    """The local day (settings.TIME_ZONE), as aware datetimes: midnight to midnight."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return Window(day=day, start=start, end=datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz))


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
