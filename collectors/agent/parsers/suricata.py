"""Suricata eve.json records (alert, flow, dns, http, tls, fileinfo...) to ECS, as Filebeat's module does.

The record itself stays under ``suricata.eve`` (minus what ECS fields carry),
so nothing Suricata said is lost for hunting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .base import Doc, ParseContext, add_related, isoformat_utc, put, put_event, to_int

name = "suricata"

DATASET = "suricata.eve"
# event_type -> (event.category, event.type); alerts are decided by alert.action
_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "flow": (("network",), ("connection", "end")),
    "netflow": (("network",), ("connection",)),
    "dns": (("network",), ("protocol",)),
    "http": (("network", "web"), ("protocol", "access")),
    "tls": (("network",), ("protocol",)),
    "ssh": (("network",), ("protocol",)),
    "smb": (("network",), ("protocol",)),
    "fileinfo": (("file",), ("info",)),
    "anomaly": (("network",), ("info",)),
    "drop": (("network", "intrusion_detection"), ("denied",)),
}
_MAPPED = frozenset({"timestamp", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto",
                     "host", "in_iface", "community_id"})


def matches(record: Mapping[str, Any]) -> bool:
    return isinstance(record.get("event_type"), str) and "timestamp" in record


def parse_record(record: Mapping[str, Any], ctx: ParseContext) -> Doc:
    doc: Doc = {"@timestamp": _time(record.get("timestamp"), ctx)}
    event_type = str(record["event_type"])
    _put_network(doc, record)
    put(doc, "host.name", _str(record.get("host")) or ctx.host)
    put(doc, "observer.vendor", "OISF")
    put(doc, "observer.product", "Suricata")
    put(doc, "observer.type", "ids")
    put(doc, "observer.ingress.interface.name", _str(record.get("in_iface")))
    if event_type == "alert":
        _put_alert(doc, _dict(record.get("alert")))
    elif event_type == "stats":
        put_event(doc, dataset=DATASET, kind="metric")
    else:
        category, kind = _KINDS.get(event_type, (("network",), ("info",)))
        put_event(doc, dataset=DATASET, category=category, type=kind)
    _put_protocol(doc, record)
    doc.setdefault("suricata", {})["eve"] = {k: v for k, v in record.items() if k not in _MAPPED}
    return doc


def _put_network(doc: Doc, r: Mapping[str, Any]) -> None:
    for side, ip, port in (("source", "src_ip", "src_port"), ("destination", "dest_ip", "dest_port")):
        put(doc, f"{side}.ip", _str(r.get(ip)))
        put(doc, f"{side}.address", _str(r.get(ip)))
        put(doc, f"{side}.port", to_int(r.get(port)))
        add_related(doc, "ip", _str(r.get(ip)))
    put(doc, "network.transport", _str(r.get("proto")).lower())
    put(doc, "network.protocol", _str(r.get("app_proto")).lower() if r.get("app_proto") != "failed" else "")
    put(doc, "network.community_id", _str(r.get("community_id")))
    flow = _dict(r.get("flow"))
    put(doc, "source.packets", to_int(flow.get("pkts_toserver")))
    put(doc, "source.bytes", to_int(flow.get("bytes_toserver")))
    put(doc, "destination.packets", to_int(flow.get("pkts_toclient")))
    put(doc, "destination.bytes", to_int(flow.get("bytes_toclient")))
    if flow.get("start"):
        put(doc, "event.start", _time(flow.get("start"), None))
    if flow.get("end"):
        put(doc, "event.end", _time(flow.get("end"), None))


def _put_alert(doc: Doc, alert: Mapping[str, Any]) -> None:
    blocked = alert.get("action") == "blocked"
    put_event(doc, dataset=DATASET, kind="alert", category=("network", "intrusion_detection"),
              type=("denied",) if blocked else ("allowed",), action=_str(alert.get("action")))
    put(doc, "rule.id", _str(alert.get("signature_id")))
    put(doc, "rule.name", _str(alert.get("signature")))
    put(doc, "rule.category", _str(alert.get("category")))
    put(doc, "rule.version", _str(alert.get("rev")))
    put(doc, "event.severity", to_int(alert.get("severity")))
    metadata = _dict(alert.get("metadata"))
    put(doc, "threat.technique.id", _first(metadata.get("mitre_technique_id")))
    put(doc, "threat.tactic.id", _first(metadata.get("mitre_tactic_id")))


def _put_protocol(doc: Doc, r: Mapping[str, Any]) -> None:
    http = _dict(r.get("http"))
    if http:
        put(doc, "url.original", _str(http.get("url")))
        put(doc, "url.domain", _str(http.get("hostname")))
        put(doc, "http.request.method", _str(http.get("http_method")))
        put(doc, "http.response.status_code", to_int(http.get("status")))
        put(doc, "http.request.referrer", _str(http.get("http_refer")))
        put(doc, "http.version", _str(http.get("protocol")).removeprefix("HTTP/"))
        put(doc, "http.response.body.bytes", to_int(http.get("length")))
        put(doc, "user_agent.original", _str(http.get("http_user_agent")))
    dns = _dict(r.get("dns"))
    queries = dns.get("queries")
    query = _dict(queries[0]) if isinstance(queries, list) and queries else dns  # eve v3 vs v2
    put(doc, "dns.question.name", _str(query.get("rrname")))
    put(doc, "dns.question.type", _str(query.get("rrtype")))
    put(doc, "dns.response_code", _str(dns.get("rcode")))
    tls = _dict(r.get("tls"))
    put(doc, "tls.client.server_name", _str(tls.get("sni")))
    put(doc, "tls.server.subject", _str(tls.get("subject")))
    put(doc, "tls.server.issuer", _str(tls.get("issuerdn")))
    put(doc, "tls.version", _str(tls.get("version")))
    put(doc, "tls.client.ja3", _str(_dict(tls.get("ja3")).get("hash")))
    fileinfo = _dict(r.get("fileinfo"))
    put(doc, "file.name", _str(fileinfo.get("filename")))
    put(doc, "file.size", to_int(fileinfo.get("size")))
    for algo in ("md5", "sha1", "sha256"):
        put(doc, f"file.hash.{algo}", _str(fileinfo.get(algo)))


def _time(value: Any, ctx: ParseContext | None) -> str:
    """eve writes ``2017-07-21T09:35:24.389186+0000`` (always with an offset)."""
    try:
        moment = datetime.fromisoformat(_str(value).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ctx.tz if ctx else UTC)
        return isoformat_utc(moment)
    except (ValueError, OverflowError):
        return isoformat_utc(ctx.now) if ctx else ""


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str:
    if value is None or isinstance(value, Mapping | list):
        return ""
    return str(value)


def _first(value: Any) -> str:
    return _str(value[0]) if isinstance(value, list) and value else _str(value)
