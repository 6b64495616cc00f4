"""Collector-facing endpoints (enrollment, heartbeat, event ingest) and the console's collector API.

The collector-facing ones are plain Django views, not DRF: the body is
size-checked before it is read and may be gzip-compressed, and
authentication is the collector's own credential, never a user session
(hence no CSRF). The console's are DRF views scoped by ``collector_list``.

Ingest and heartbeat are async views: 680 collectors keep hundreds of requests in flight, and a worker must not
wait for PostgreSQL, Redis and Elasticsearch one request at a time. The credential check is answered from memory
for a bounded time (``collectors.credentials``), the rate limit and the bulk are awaited, and the CPU work (decode,
normalise, serialise) runs on the loop between the waits. ``collectors.middleware`` spares them the browser
middleware's thread hops.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from collectors import ingest
from collectors.agent import jsonfast
from collectors.contact import heartbeat_record, seen_record
from collectors.credentials import collector_authenticate_cached
from collectors.models import Collector
from collectors.ratelimit import ingest_admit
from collectors.services import EnrollmentError, collector_enroll
from soc.aio import loop_client
from soc.api import json_error

HEARTBEAT_MAX_BYTES = 256 * 1024


class BodyError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _read_json(request: HttpRequest, limit: int = 0) -> object:
    limit = limit or settings.INGEST_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BodyError(400, "bad_request", "invalid Content-Length") from exc
    if declared > limit:
        raise BodyError(413, "too_large", f"body larger than {limit} bytes")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BodyError(413, "too_large", f"body larger than {limit} bytes")
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        raw = _gunzip(raw, limit)
    try:
        return jsonfast.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(400, "malformed_json", f"body is not valid JSON: {exc}") from exc


def _gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress with the same limit as the plain body (no zip bombs)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, "bad_encoding", "body is not valid gzip") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyError(413, "too_large", f"decompressed body larger than {limit} bytes")
    return out


def _bearer(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


async def _authenticated(request: HttpRequest) -> Collector | None:
    return await collector_authenticate_cached(secret=_bearer(request))


def _unauthenticated() -> JsonResponse:
    return json_error(401, "unauthenticated", "unknown or revoked collector credential", WWW_Authenticate="Bearer")


def _clock_offset(request: HttpRequest) -> float:
    """The agent's measured offset of its host clock (X-SOC-Clock-Offset); 0 when absent or unreadable."""
    try:
        offset = float(request.META.get("HTTP_X_SOC_CLOCK_OFFSET", "0"))
    except ValueError:
        return 0.0
    return offset if math.isfinite(offset) else 0.0


def collector_endpoint(view: Callable[[HttpRequest, Collector], Awaitable[HttpResponse]]) -> Callable[..., Any]:
    """A view a collector calls with its credential: POST only, no CSRF (there is no session), 401 for an unknown or
    revoked credential, and a body that cannot be read answered with its own status."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    async def endpoint(request: HttpRequest) -> HttpResponse:
        collector = await _authenticated(request)
        if collector is None:
            return _unauthenticated()
        try:
            return await view(request, collector)
        except BodyError as exc:
            return json_error(exc.status, exc.code, exc.message)

    return endpoint


@collector_endpoint
async def ingest_events_view(request: HttpRequest, collector: Collector) -> HttpResponse:
    async with _batch_slots():
        return await _ingest(request, collector)


def _batch_slots() -> asyncio.Semaphore:
    """At most ``INGEST_BATCHES_IN_FLIGHT`` batches of a worker are decoded and stored at once; the others wait
    in turn (first come, first served) holding only their compressed bodies. When every collector of the country
    ships its backlog at once, memory stays flat and Elasticsearch is not sent more bulks than it can take."""
    return loop_client("ingest-batch-slots", lambda: asyncio.Semaphore(settings.INGEST_BATCHES_IN_FLIGHT), _nothing)


async def _nothing(_: object) -> None:
    return None


async def _ingest(request: HttpRequest, collector: Collector) -> HttpResponse:
    batch, invalid, count = _prepared(request, collector)
    verdict = await ingest_admit(collector=collector, events=count)
    if not verdict.admitted:
        return json_error(429, "rate_limited", "ingest rate limit of this collector or province reached; "
                          f"resend in {verdict.retry_after}s", Retry_After=str(verdict.retry_after))
    if batch is None:
        return json_error(400, "invalid_batch", str(invalid))
    results = await ingest.abatch_store(batch=batch)
    await seen_record(collector=collector)
    return HttpResponse(jsonfast.dumps({"results": [r.as_dict() for r in results]}), content_type="application/json")


def _prepared(request: HttpRequest, collector: Collector) -> tuple[ingest.PreparedBatch | None, str, int]:
    """The request's batch prepared for the bulk, or why it is invalid, and how many events it is charged for.

    Decoded and prepared before the first wait, without garbage collection (``ingest.collection_paused``): the
    decoded documents are freed on the way out of ``_decoded_and_prepared``, before collections resume, so no
    collection ever walks them, and none of the hundreds of requests waiting (for the rate limit, for
    Elasticsearch) holds any. The body is already in memory (or spooled): no wait here."""
    with ingest.collection_paused():
        return _decoded_and_prepared(request, collector)


def _decoded_and_prepared(request: HttpRequest, collector: Collector) -> tuple[ingest.PreparedBatch | None, str, int]:
    payload = _read_json(request)
    events = payload.get("events") if isinstance(payload, dict) else None
    count = len(events) if isinstance(events, list) else 0
    try:
        batch = ingest.batch_prepare(collector=collector, payload=payload, clock_offset=_clock_offset(request))
    except ingest.BatchError as exc:
        return None, str(exc), count
    return batch, "", count


@collector_endpoint
async def heartbeat_view(request: HttpRequest, collector: Collector) -> HttpResponse:
    """The agent's report; the answer carries the central configuration it must apply."""
    report = _read_json(request, HEARTBEAT_MAX_BYTES)
    if not isinstance(report, dict):
        return json_error(400, "invalid", "heartbeat must be a JSON object")
    config = await heartbeat_record(collector=collector, report=report)
    if config is None:  # revoked since the (cached) credential check
        return _unauthenticated()
    return JsonResponse({"collector_id": str(collector.uid), "config": config,
                         "config_version": collector.config_version, "server_time": time.time()})


@csrf_exempt
@require_POST
def enroll_view(request: HttpRequest) -> JsonResponse:
    try:
        body = _read_json(request)
    except BodyError as exc:
        return json_error(exc.status, exc.code, exc.message)
    if not isinstance(body, dict) or not isinstance(body.get("token"), str) or not isinstance(
            body.get("name"), str) or not 0 < len(body["name"]) <= 100:
        return json_error(400, "invalid", 'body must be {"token": "...", "name": "<1-100 chars>"}')
    try:
        collector, secret = collector_enroll(token=body["token"], name=body["name"],
                                             version=str(body.get("version", ""))[:40])
    except EnrollmentError as exc:
        return json_error(403, "enrollment_refused", str(exc))
    return JsonResponse({"collector_id": str(collector.uid), "secret": secret,
                         "organisation": collector.organisation.code}, status=201)
