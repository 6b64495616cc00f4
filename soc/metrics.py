"""GET /metrics: what an operator scrapes, in the Prometheus text format.

Every figure is read at scrape time from where the platform already keeps it, never counted on the hot path:
Elasticsearch (events stored in the last minute per province, and their lag), PostgreSQL (collectors'
heartbeats, detection rule runs) and Redis (Celery queue lengths, open console WebSockets). So every web
replica answers the same figures, and a scrape through the load balancer is as good as one per replica.

The rendered answer is shared by all replicas through the cache for ``SOC_METRICS_CACHE_SECONDS``, and only one
replica recomputes it at a time (the others serve the previous answer meanwhile): however many scrapers there
are, the sources see at most one set of reads per period.

Access: a bearer token (``SOC_METRICS_TOKEN``), compared as digests in constant time. Without a token the
endpoint does not exist (404). Label values are province codes from PostgreSQL, queue names from the queue
enum, and collector UUIDs: nothing a log line or an agent wrote reaches a label.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector as PromCollector
from redis import Redis

from collectors.models import Collector
from detection.models import DetectionRule, RuleRun, RuleRunDay
from organisations.models import Organisation
from soc import es, live
from soc.queues import Queue

log = logging.getLogger(__name__)

INGEST_WINDOW_SECONDS = 60
# Lag is read from this many of each province's most recently stored events (docvalues only: the nodes we run
# on have no scripting, and a sample bounds the cost whatever the national rate).
LAG_SAMPLE = 100
RULE_WINDOW_SECONDS = 300
QUANTILES = (("0.5", 50), ("0.95", 95), ("1", 100))
# kombu's Redis transport keeps a queue's messages of priority p > 0 in "<queue>\x06\x16<p>".
_PRIORITY_SUFFIXES = ("", *(f"\x06\x16{p}" for p in (3, 6, 9)))
_CODE = re.compile(r"^[A-Z0-9_-]{1,16}$")
UNKNOWN = "unknown"
CACHE_KEY = "metrics:exposition"
LOCK_KEY = "metrics:lock"


# --- the view -------------------------------------------------------------------------------------------------

@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.SOC_METRICS_TOKEN
    if not token:
        raise Http404
    if not _token_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def _token_matches(header: str, token: str) -> bool:
    """Digests of equal length compared in constant time: neither the token nor its length leaks by timing."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(token.encode()).digest())


def exposition() -> bytes:
    """The text a scrape gets: the shared copy while it is fresh, else computed by one replica at a time."""
    period = settings.SOC_METRICS_CACHE_SECONDS
    if period <= 0:
        return render()
    cached: tuple[float, bytes] | None = cache.get(CACHE_KEY)
    if cached and time.time() - cached[0] < period:
        return cached[1]
    locked = cache.add(LOCK_KEY, 1, timeout=30)
    # Another replica is computing: the previous copy (one period older) rather than a second computation.
    if cached and not locked:
        return cached[1]
    try:
        text = render()
        cache.set(CACHE_KEY, (time.time(), text), timeout=period * 10)
        return text
    finally:
        if locked:
            cache.delete(LOCK_KEY)


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector())
    return generate_latest(registry)


# --- the collector --------------------------------------------------------------------------------------------

class PlatformCollector(PromCollector):
    """Reads each source in turn; a source that fails is reported as down and the others still answer."""

    def collect(self) -> Iterable[Metric]:
        began = time.monotonic()
        up = GaugeMetricFamily("soc_metrics_source_up", "1 when the source answered this scrape's reads",
                               labels=["source"])
        sources: list[tuple[str, Callable[[], Iterator[Metric]]]] = [
            ("elasticsearch", ingest_families), ("postgresql", collector_families),
            ("postgresql_detection", detection_families), ("redis_broker", queue_families),
            ("redis", websocket_families),
        ]
        for name, read in sources:
            try:
                families = list(read())
            except Exception:
                log.exception("metrics: %s did not answer", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up
        yield GaugeMetricFamily("soc_metrics_compute_seconds", "Time taken to read every source for this answer",
                                value=time.monotonic() - began)
        yield GaugeMetricFamily("soc_metrics_generated_timestamp_seconds",
                                "When this answer was computed (answers are shared for SOC_METRICS_CACHE_SECONDS)",
                                value=time.time())


def provinces_by_code() -> dict[str, str]:
    """Every organisation's code -> the code of the province it sits in (the national SOC keeps its own).

    These are the only values a province label takes: codes from PostgreSQL, each checked against a strict shape,
    one per province however many sites there are below it.
    """
    found = {}
    for code, path in Organisation.objects.values_list("code", "path"):
        parts = path.strip("/").split("/")
        province = parts[1] if len(parts) > 1 else parts[0]
        if _CODE.match(code) and _CODE.match(province):
            found[code] = province
    return found


def _label(code: object, provinces: dict[str, str]) -> str:
    return provinces.get(code, UNKNOWN) if isinstance(code, str) else UNKNOWN


# --- Elasticsearch: ingest rate and lag per province ------------------------------------------------------------

def ingest_families() -> Iterator[Metric]:
    provinces = provinces_by_code()
    rate = GaugeMetricFamily("soc_ingest_events_per_second",
                             f"Events stored per second over the last {INGEST_WINDOW_SECONDS} s (event.ingested)",
                             labels=["province"])
    lag = GaugeMetricFamily("soc_ingest_lag_seconds",
                            f"event.ingested - @timestamp over the {LAG_SAMPLE} most recently stored events of each "
                            "organisation in the province, by quantile (1 = max)", labels=["province", "quantile"])
    counts: dict[str, float] = dict.fromkeys(provinces.values(), 0.0)
    lags: dict[str, list[float]] = {}
    for bucket in _ingest_buckets():
        province = _label(bucket["key"], provinces)
        counts[province] = counts.get(province, 0.0) + bucket["doc_count"]
        lags.setdefault(province, []).extend(_lags(bucket["lag"]["hits"]["hits"]))
    for province, values in sorted(lags.items()):
        ordered = sorted(values)
        for name, q in QUANTILES if ordered else ():
            lag.add_metric([province, name], nearest_rank(ordered, q))
    for province, count in sorted(counts.items()):
        rate.add_metric([province], count / INGEST_WINDOW_SECONDS)
    yield rate
    yield lag


def _ingest_buckets() -> list[dict[str, Any]]:
    sample = {"size": LAG_SAMPLE, "sort": [{"event.ingested": "desc"}], "_source": False,
              "docvalue_fields": [{"field": "@timestamp", "format": "epoch_millis"},
                                  {"field": "event.ingested", "format": "epoch_millis"}]}
    resp = es.client().options(request_timeout=5).search(
        index=es.events_pattern(), size=0, timeout="4s", ignore_unavailable=True, allow_no_indices=True,
        query={"range": {"event.ingested": {"gte": f"now-{INGEST_WINDOW_SECONDS}s"}}},
        aggs={"provinces": {"terms": {"field": "organization.id", "size": 1000},
                            "aggs": {"lag": {"top_hits": sample}}}},
        filter_path="aggregations.provinces.buckets.key,aggregations.provinces.buckets.doc_count,"
                    "aggregations.provinces.buckets.lag.hits.hits.fields")
    buckets: list[dict[str, Any]] = resp.body.get("aggregations", {}).get("provinces", {}).get("buckets", [])
    return buckets


def _lags(hits: list[dict[str, Any]]) -> Iterator[float]:
    for hit in hits:
        fields = hit.get("fields", {})
        if fields.get("@timestamp") and fields.get("event.ingested"):
            yield (float(fields["event.ingested"][0]) - float(fields["@timestamp"][0])) / 1000


def nearest_rank(ordered: list[float], q: int) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- PostgreSQL: collectors' heartbeats ----------------------------------------------------------------------

def collector_families() -> Iterator[Metric]:
    """One series per enrolled collector: its province and UUID (the name is free text, so never a label)."""
    provinces = provinces_by_code()
    labels = ["province", "collector"]
    depth = GaugeMetricFamily("soc_collector_spool_events", "Events waiting in the agent's spool (last heartbeat)",
                              labels=labels)
    size = GaugeMetricFamily("soc_collector_spool_bytes", "Bytes in the agent's spool (last heartbeat)", labels=labels)
    drops = GaugeMetricFamily("soc_collector_drops", "Events the agent dropped since it started (last heartbeat)",
                              labels=labels)
    age = GaugeMetricFamily("soc_collector_heartbeat_age_seconds", "Seconds since the last heartbeat", labels=labels)
    now = timezone.now()
    rows = (Collector.objects.filter(revoked_at__isnull=True)
            .values_list("uid", "organisation__code", "health", "last_heartbeat_at"))
    for uid, code, health, beat_at in rows:
        key = [_label(code, provinces), str(uid)]
        spool = (health or {}).get("spool") or {}
        depth.add_metric(key, _number(spool.get("depth")))
        size.add_metric(key, _number(spool.get("bytes")))
        drops.add_metric(key, _number((health or {}).get("drops")))
        if beat_at is not None:
            age.add_metric(key, (now - beat_at).total_seconds())
    yield from (depth, size, drops, age)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


# --- PostgreSQL: detection rule runs --------------------------------------------------------------------------

# Each rule's runs of the window that kept a row, through the (rule, -started_at) index. Quiet runs (nothing
# found, nothing wrong) keep no row: they are counted per rule and day (RuleRunDay.quiet_runs), and each rule
# carries its latest live run's time, duration and cycle (DetectionRule.last_*).
_RUNS_SQL = """
SELECT x.duration_ms, x.error, x.timed_out
FROM {rule} r CROSS JOIN LATERAL (
    SELECT duration_ms, error, timed_out FROM {run}
    WHERE rule_id = r.id AND started_at >= %s ORDER BY started_at DESC LIMIT 1000) x
"""


def detection_families() -> Iterator[Metric]:
    now = timezone.now()
    since = now - timedelta(seconds=RULE_WINDOW_SECONDS)
    quote = connection.ops.quote_name
    sql = _RUNS_SQL.format(rule=quote(DetectionRule._meta.db_table), run=quote(RuleRun._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [since])
        rows: list[tuple[int, str, bool]] = cursor.fetchall()
    outcomes = {"ok": 0, "error": 0, "timeout": 0}
    for _, error, timed_out in rows:
        outcomes["timeout" if timed_out else run_outcome(error)] += 1
    runs = GaugeMetricFamily("soc_detection_rule_runs", f"Rule runs that kept a row (found something, failed, "
                             f"gap, cap or back-fill) in the last {RULE_WINDOW_SECONDS} s by outcome",
                             labels=["outcome"])
    for outcome, count in outcomes.items():
        runs.add_metric([outcome], count)
    yield runs
    yield _quiet_runs_today(now)
    latest = _latest_runs(since)
    durations = [row[0] / 1000 for row in rows] + [ms / 1000 for ms, _, _, kept in latest if not kept]
    cycles = [(cycle / 1000, interval) for _, cycle, interval, _ in latest if cycle is not None]
    yield _quantiles("soc_detection_rule_run_seconds", "Duration of one rule run (a quiet run: its rule's latest)",
                     durations)
    yield _quantiles("soc_detection_rule_cycle_seconds", "Time between a rule's two latest runs, over rules run",
                     [cycle for cycle, _ in cycles])
    yield _quantiles("soc_detection_rule_delay_seconds", "How much later than its interval a rule ran again",
                     [max(0.0, cycle - interval) for cycle, interval in cycles])
    yield _overdue()


def _latest_runs(since: datetime) -> list[tuple[int, int | None, int, bool]]:
    """(duration ms, cycle ms, interval s, kept a row) of each rule's latest live run, if in the window."""
    kept = RuleRun.objects.filter(rule=OuterRef("pk"), started_at=OuterRef("last_run_at"), backfill_pass=False)
    return list(DetectionRule.objects.filter(last_run_at__gte=since).annotate(kept=Exists(kept))
                .values_list("last_duration_ms", "last_cycle_ms", "interval_seconds", "kept"))


def _quiet_runs_today(now: datetime) -> GaugeMetricFamily:
    today = now.astimezone(UTC).date()
    quiet = RuleRunDay.objects.filter(day=today).aggregate(n=Sum("quiet_runs"))["n"] or 0
    return GaugeMetricFamily("soc_detection_rule_quiet_runs_today",
                             "Quiet rule runs (no row kept) since 00:00 UTC", value=quiet)


def run_outcome(error: str) -> str:
    if not error:
        return "ok"
    return "timeout" if "timed out" in error.lower() or "timeout" in error.lower() else "error"


def _quantiles(name: str, documentation: str, values: list[float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, f"{documentation} over the last {RULE_WINDOW_SECONDS} s, by quantile (1 = max)",
                               labels=["quantile"])
    ordered = sorted(values)
    for label, q in QUANTILES:
        family.add_metric([label], nearest_rank(ordered, q) if ordered else 0.0)
    return family


def _overdue() -> GaugeMetricFamily:
    """Enabled rules whose next run is late by more than an interval: the workers are not keeping up."""
    now = timezone.now()
    due = (DetectionRule.objects.filter(enabled=True, next_run_at__lt=now - timedelta(seconds=1))
           .values_list("next_run_at", "interval_seconds"))
    late = [at for at, interval in due if at is not None and now - at > timedelta(seconds=interval)]
    return GaugeMetricFamily("soc_detection_rules_overdue", "Enabled rules more than one interval past their due time",
                             value=len(late))


# --- Redis: Celery queues and open WebSockets -----------------------------------------------------------------

def queue_families() -> Iterator[Metric]:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    family = GaugeMetricFamily("soc_celery_queue_length", "Messages waiting in the Celery queue (Redis list lengths)",
                               labels=["queue"])
    with Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2) as redis:
        pipe = redis.pipeline(transaction=False)
        for queue in Queue:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(f"{prefix}{queue.value}{suffix}")
        lengths = pipe.execute()
    for index, queue in enumerate(Queue):
        step = len(_PRIORITY_SUFFIXES)
        family.add_metric([queue.value], sum(lengths[index * step:(index + 1) * step]))
    yield family


def websocket_families() -> Iterator[Metric]:
    with Redis.from_url(settings.REDIS_URL, socket_timeout=2) as redis:
        counts = redis.hvals(live.websocket_key())
    total = sum(max(0, int(count)) for count in counts)
    yield GaugeMetricFamily("soc_websocket_connections", "Console WebSockets open, over every web process",
                            value=total)
