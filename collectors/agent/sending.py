"""Sending: the spool shipped with up to ``senders`` batches in flight, acknowledged strictly in order.

A pool of ``senders`` threads each delivers one batch until the central side has stored every record
(retrying what it answers ``retry`` and what the transport loses, with backoff and the rate limit). The
spool's cursor only moves past a batch once it and every batch before it are confirmed, so a crash at
any point resends, never skips.

Counts add up: every record taken off the spool (``sent``) is ``created``, ``duplicate`` or ``rejected``;
a batch never loses a record to another that shares its id (``distinct_events``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from collectors.agent import jsonfast
from collectors.agent.config import AgentConfig
from collectors.agent.counters import Counters
from collectors.agent.sender import STORED, Backoff, Client, RateLimiter, TransportError
from collectors.agent.spool import Record, Spool

MAX_BATCH_BYTES = 4 * 1024 * 1024  # well under the central 10 MB body limit
MAX_ID_CHARS = 200  # the central ingest refuses longer ids


class Sender:
    def __init__(self, config: AgentConfig, spool: Spool, client: Client, counters: Counters,
                 stop: threading.Event) -> None:
        self.config, self.spool, self.client, self.counters, self.stop = config, spool, client, counters, stop
        self.limiter = RateLimiter(config.rate_limit)
        self.pool = ThreadPoolExecutor(max_workers=max(1, config.senders), thread_name_prefix="send")

    def set_rate_limit(self, rate: float) -> None:
        self.config.rate_limit = rate
        self.limiter = RateLimiter(rate)

    def send_once(self) -> int:
        """Ship what the spool holds now; returns how many records left it (confirmed centrally)."""
        inflight: deque[tuple[list[Record], Future[bool]]] = deque()
        position: tuple[int, int] | None = None
        sent = 0
        while True:
            while len(inflight) < self.config.senders and not self.stop.is_set():
                records = self.spool.read_batch(self.config.batch_size, MAX_BATCH_BYTES, start=position)
                if not records:
                    break
                position = (records[-1].segment, records[-1].end)
                inflight.append((records, self.pool.submit(self.deliver, records)))
            if not inflight:
                return sent
            records, future = inflight.popleft()
            if not future.result():
                for _, later in inflight:
                    later.result()  # they return promptly: stop is set
                return sent
            self.spool.ack(records)
            self.counters.sent += len(records)
            sent += len(records)

    def deliver(self, records: list[Record]) -> bool:
        """Send until every record is stored centrally; False if stopping first. The caller acknowledges."""
        pending, copies, renamed = distinct_events(records)
        backoff = Backoff()
        while pending:
            if self.stop.is_set():
                return False
            self.limiter.wait(len(pending))
            try:
                statuses = self.client.send_events([r.raw for r in pending])
            except TransportError as exc:
                with self.counters.lock:
                    self.counters.transport_errors += 1
                self.counters.error(str(exc))
                self.stop.wait(backoff.next_delay(exc.retry_after))
                continue
            self._count(statuses)
            pending = [r for r in pending if statuses.get(r.id) not in STORED]
            if pending:
                with self.counters.lock:
                    self.counters.retried += len(pending)
                self.stop.wait(backoff.next_delay())
        with self.counters.lock:  # a copy of a record sent in the same request is that record's duplicate
            self.counters.duplicate += copies
            self.counters.renamed += renamed
        return True

    def _count(self, statuses: dict[str, str]) -> None:
        with self.counters.lock:
            for status in statuses.values():
                if status in STORED:
                    setattr(self.counters, status, getattr(self.counters, status) + 1)

    def close(self) -> None:
        """Waits for the batches in flight (they return promptly once ``stop`` is set)."""
        self.pool.shutdown(wait=True)


def distinct_events(records: list[Record]) -> tuple[list[Record], int, int]:
    """(one record per id to send, identical copies left out, different records given an id of their own).

    The central side answers per id, so a request carries each id once. A copy of a record (the same
    bytes: re-read after a crash) is sent once. A *different* record that shares an id is never folded
    into the first: it goes under ``<id>:<digest of its bytes>``, the same id on every resend.
    """
    sent: dict[str, bytes] = {}
    out: list[Record] = []
    copies = renamed = 0
    for record in records:
        own = sent.get(record.id, record.raw) != record.raw
        if own:
            record = _with_own_id(record)
        if record.id in sent:
            copies += 1
            continue
        sent[record.id] = record.raw
        out.append(record)
        renamed += own
    return out, copies, renamed


def _with_own_id(record: Record) -> Record:
    digest = hashlib.blake2b(record.raw, digest_size=8).hexdigest()
    new_id = f"{record.id[:MAX_ID_CHARS - len(digest) - 1]}:{digest}"
    event = record.event
    event["id"] = new_id  # keeps its place first in the JSON, where the spool reads ids
    return dataclasses.replace(record, id=new_id, raw=jsonfast.dumps(event))
