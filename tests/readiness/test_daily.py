"""The daily computation: the beat schedule, the task that computes yesterday once, the recompute command."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from elasticsearch import Elasticsearch

from readiness.models import ReadinessSnapshot
from readiness.services import ReadinessError, scorecards_compute_if_due, scorecards_recompute
from soc.beat import beat_schedule
from soc.queues import Queue
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def local(hour: int, minute: int = 0) -> datetime:
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


def test_beat_runs_the_readiness_task_hourly_and_drops_stale_runs() -> None:
    entry = beat_schedule()["readiness-compute-yesterday"]

    assert entry["task"] == "readiness.tasks.compute_yesterday_if_due"
    assert entry["options"] == {"queue": Queue.REPORTS, "expires": 3600.0}


def test_the_task_waits_for_the_day_to_settle_then_computes_yesterday_once(es: Elasticsearch, cast: Cast) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)

    assert scorecards_compute_if_due(now=local(0, 30)) == "waiting"
    assert not ReadinessSnapshot.objects.exists()
    assert scorecards_compute_if_due(now=local(1, 30)) == "computed"
    assert scorecards_compute_if_due(now=local(2, 30)) == "done"
    assert set(ReadinessSnapshot.objects.values_list("day", flat=True)) == {yesterday}
    assert ReadinessSnapshot.objects.count() == 34


def test_the_command_recomputes_a_past_period(es: Elasticsearch, cast: Cast) -> None:
    end = timezone.localdate() - timedelta(days=1)
    start = end - timedelta(days=1)

    call_command("readiness_compute", "--start", start.isoformat(), "--end", end.isoformat())

    assert ReadinessSnapshot.objects.filter(day__range=(start, end)).count() == 68


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2026-02-30"], "not a date (YYYY-MM-DD): '2026-02-30'"),
    (["--start", "2999-01-01"], "only past days can be computed: the period must end before today"),
])
def test_the_command_refuses_bad_dates_and_computes_nothing(cast: Cast, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("readiness_compute", *args)
    assert not ReadinessSnapshot.objects.exists()


def test_a_period_ending_before_it_starts_is_refused(cast: Cast) -> None:
    with pytest.raises(ReadinessError, match="must start on or before its end"):
        scorecards_recompute(start=timezone.localdate(), end=timezone.localdate() - timedelta(days=3))


def test_the_recompute_task_takes_dates_as_text_and_computes_each_day(es: Elasticsearch, cast: Cast) -> None:
    from readiness.tasks import recompute_period

    end = timezone.localdate() - timedelta(days=1)

    assert recompute_period.apply(args=((end - timedelta(days=1)).isoformat(), end.isoformat())).get() == 2
    assert ReadinessSnapshot.objects.count() == 2 * 34
