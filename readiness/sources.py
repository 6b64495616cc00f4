"""The log-source checklist: which ``event.dataset`` values make each kind, and what each must carry.

Datasets are matched by prefix, the way the collector's parsers name them
(``system.auth``, ``nginx.access``, ``windows.sysmon_operational``...), so a
new parser of a known family counts without a change here.
"""

from __future__ import annotations

from typing import Any

from readiness.models import SOURCE_KINDS

DATASET_PREFIXES: dict[str, list[str]] = {
    "authentication": ["system.auth"],
    "web": ["nginx.", "apache.", "web.", "iis."],
    # Network security devices: firewalls and the IDS that sits beside them.
    "firewall": ["firewall.", "iptables.", "pfsense.", "fortinet.", "cisco.asa", "panw.", "checkpoint.",
                 "sophos.", "suricata."],
    "endpoint": ["system.security", "windows."],
    "dns": ["dns.", "bind.", "named.", "unbound.", "coredns."],
    "mail": ["mail.", "postfix.", "exim.", "dovecot.", "sendmail.", "exchange."],
}

REQUIRED_FIELDS: dict[str, list[str]] = {
    "authentication": ["source.ip", "user.name", "event.outcome"],
    "web": ["source.ip", "url.original", "http.response.status_code"],
    "firewall": ["source.ip", "destination.ip"],
    "endpoint": ["host.name", "event.code"],
    "dns": ["source.ip", "dns.question.name"],
    "mail": ["email.from.address", "email.to.address"],
}

assert set(DATASET_PREFIXES) == set(REQUIRED_FIELDS) == set(SOURCE_KINDS)

GENERIC_DATASET = "generic"
# Events the platform's own collector writes about itself: not a log source of the province.
PLATFORM_DATASET_PREFIX = "soc."
GAP_DATASET, GAP_ACTION = "soc.collector", "events-dropped"


def kind_of(dataset: str) -> str | None:
    """The checklist kind a dataset belongs to, or None (e.g. ``generic``, ``system.syslog``)."""
    for kind, prefixes in DATASET_PREFIXES.items():
        if any(dataset.startswith(prefix) for prefix in prefixes):
            return kind
    return None


def kind_query(kind: str) -> dict[str, Any]:
    """Events of this kind (an Elasticsearch query on ``event.dataset`` prefixes)."""
    return {"bool": {"should": [{"prefix": {"event.dataset": p}} for p in DATASET_PREFIXES[kind]],
                     "minimum_should_match": 1}}


def complete_query(kind: str) -> dict[str, Any]:
    """Events carrying every field their kind must have."""
    return {"bool": {"filter": [{"exists": {"field": f}} for f in REQUIRED_FIELDS[kind]]}}
