"""Evidence: copies of the events an incident's alerts refer to, kept while the incident exists.

Event indices are deleted whole by retention (``collectors.services.event_indices_delete_expired``), on the
events' own days or, for back-fill, their arrival month. An incident may outlive that by years, so when an
alert joins an incident its events (at most 100, as the alert refers to) are copied, under their own ``_id``
and unchanged (``organization.id`` included, so the one scoped search reads them for the same users), into the
evidence index of the current month, ``<prefix>evidence-YYYY.MM``. The alert records that index. Writes use
``op_type: create``: a rerun copies nothing twice.

An evidence index is deleted (``evidence_indices_delete_unreferenced``) only once no alert that points at it
belongs to an incident any more (incidents deleted, or never attached); monthly indices keep the shard count
small (one shard a month, not one per incident or province).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from detection.alerts import alert_uid
from detection.engine import Finding
from detection.models import Alert, DetectionRule
from soc import es

log = logging.getLogger(__name__)
EVIDENCE = "evidence"
COPY_CHUNK = 2000  # events per mget and bulk: a run's 200 alerts may refer to 20,000


def evidence_index_name(moment: datetime) -> str:
    return f"{es.index_pattern(EVIDENCE)[:-1]}{moment:%Y.%m}"


def evidence_keep(*, rule: DetectionRule, findings: list[Finding]) -> str:
    """Copy the events of the alerts ``rule`` raised for ``findings`` to evidence, those that joined an incident.

    One read of the alerts, one ``mget`` and one bulk write for all their events (an attack wave raises hundreds
    of alerts a run). Returns the evidence index ("" when nothing was kept). A failure is logged, not raised: the
    alerts and their incidents stand, and the events stay where they are until retention.
    """
    uids = [alert_uid(rule, finding) for finding in findings]
    alerts = [a for a in Alert.objects.filter(uid__in=uids, incident__isnull=False).only("pk", "uid", "event_refs")
              if a.event_refs]
    if not alerts:
        return ""
    index = evidence_index_name(timezone.now())
    try:
        refs = sorted({ref for alert in alerts for ref in alert.event_refs})
        copied = sum(_copy(refs[start:start + COPY_CHUNK], index) for start in range(0, len(refs), COPY_CHUNK))
    except Exception:  # evidence is a copy: never lose the alert over it
        log.exception("evidence of alerts %s not copied", ", ".join(a.uid for a in alerts[:5]))
        return ""
    if copied:
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(evidence_index=index)
    return index if copied else ""


def _copy(refs: list[str], index: str) -> int:
    docs = [{"_index": ref.rsplit("/", 1)[0], "_id": ref.rsplit("/", 1)[1]} for ref in refs if "/" in ref]
    found = es.client().mget(docs=docs)["docs"] if docs else []
    operations: list[dict[str, Any]] = []
    for doc in found:
        if doc.get("found"):
            operations += [{"create": {"_index": index, "_id": doc["_id"]}}, doc["_source"]]
    if not operations:
        return 0
    answer = es.client().bulk(operations=operations, refresh=False)
    failed = [item["create"] for item in answer["items"] if item["create"].get("status", 200) not in (200, 201, 409)]
    if failed:
        log.warning("evidence copy into %s: %d of %d refused (%s)", index, len(failed), len(found),
                    failed[0].get("error"))
    return len(operations) // 2 - len(failed)


def evidence_indices_delete_unreferenced() -> list[str]:
    """Delete the evidence indices no incident needs any more; returns their names. Never the current month's:
    an alert being raised now may be about to point at it."""
    current = evidence_index_name(timezone.now())
    needed = set(Alert.objects.filter(incident__isnull=False).exclude(evidence_index="")
                 .values_list("evidence_index", flat=True).distinct())
    names = es.client().indices.get(index=es.index_pattern(EVIDENCE), allow_no_indices=True,
                                    ignore_unavailable=True, expand_wildcards="open,closed")
    expired = sorted(name for name in names if name not in needed and name != current)
    for name in expired:
        es.client().options(ignore_status=404).indices.delete(index=name)
    return expired
