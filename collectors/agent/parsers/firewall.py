"""Firewall connection logs to ECS network events: netfilter LOG lines and key=value firewalls.

Two shapes are read:

* netfilter (iptables, ufw, nftables ``log``), written by the kernel: an optional log prefix, then
  ``IN=eth0 OUT= MAC=… SRC=… DST=… LEN=… PROTO=TCP SPT=… DPT=… … SYN URGP=0``. The prefix says
  what the rule did (``[UFW BLOCK]``, ``IPTables-Dropped:``), so it names ``event.action``.
* key=value firewalls (FortiGate, Sophos and others alike): ``srcip=… dstip=… dstport=… proto=6
  action="deny"``, often without a syslog header, so this source also reads bare lines.

A line is claimed only when it names a valid source and destination address, so other kernel
lines fall through to the ``system`` source and other bare lines to theirs. Lines are split on
whitespace and scanned once, and key=value pairs are read one "=" at a time with a bounded look
back at the key, so a hostile line costs linear time.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone

from .base import Doc, ParseContext, add_related, isoformat_utc, put, put_event, to_int

name = "firewall"
programs = ("kernel", "ulogd")
bare = True

NETFILTER_DATASET = "iptables.log"
KV_DATASET = "firewall.log"
_KERNEL_CLOCK = re.compile(r"^\[\s*\d+\.\d+\]\s*")
MAX_KEY = 64
MAX_TOKENS = 120
MAX_PAIRS = 300  # "=" signs read per line: real firewall lines hold under a hundred
# A key ends right before its "=" and starts after a space, a quote or a syslog priority ("<189>date=").
_KEY = re.compile(r"[A-Za-z_][\w.-]*")
_SPACE = re.compile(r"\s")
_TCP_FLAGS = frozenset({"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"})
_IANA = {"1": "icmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp", "58": "ipv6-icmp", "132": "sctp"}
# What the firewall did, from the words of a log prefix or an action field.
_ACTIONS = {"drop": "drop", "dropped": "drop", "deny": "drop", "denied": "drop", "block": "drop",
            "blocked": "drop", "reject": "reject", "rejected": "reject", "accept": "accept", "accepted": "accept",
            "allow": "accept", "allowed": "accept", "pass": "accept", "permit": "accept", "close": "accept",
            "timeout": "accept", "server-rst": "accept", "client-rst": "accept", "audit": "audit", "limit": "limit"}
_TYPES = {"drop": "denied", "reject": "denied", "limit": "denied", "accept": "allowed"}
# key=value spellings of each field, as the common firewalls write them.
_KV_FIELDS: dict[str, tuple[str, ...]] = {
    "source.ip": ("srcip", "src_ip", "src", "source_ip", "srcaddr", "src_addr"),
    "destination.ip": ("dstip", "dst_ip", "dst", "destination_ip", "dstaddr", "dst_addr"),
    "source.port": ("srcport", "src_port", "spt", "sport", "source_port"),
    "destination.port": ("dstport", "dst_port", "dpt", "dport", "destination_port"),
    "transport": ("proto", "protocol", "transport"),
    "action": ("action", "fw_action", "act", "status"),
    "observer.ingress.interface.name": ("srcintf", "in_interface", "inintf"),
    "observer.egress.interface.name": ("dstintf", "out_interface", "outintf"),
    "observer.name": ("devname", "device_name"),
    "observer.serial_number": ("devid", "device_id"),
    "rule.id": ("policyid", "fw_rule_id", "rule_id"),
    "rule.name": ("policyname", "rule_name"),
}


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    return _netfilter(message, doc) or _key_value(message, doc, ctx)


# --- netfilter ----------------------------------------------------------------------------------------

def _netfilter(message: str, doc: Doc) -> bool:
    tokens = message.split(maxsplit=MAX_TOKENS)[:MAX_TOKENS]  # a real LOG line has about thirty
    start = next((i for i, tok in enumerate(tokens[:-1]) if "IN=" in tok and tokens[i + 1].startswith("OUT=")), None)
    if start is None:
        return False
    head, _, inbound = tokens[start].rpartition("IN=")
    fields, flags = _netfilter_fields([f"IN={inbound}", *tokens[start + 1:]])
    if not _addresses(doc, fields.get("SRC"), fields.get("DST")):
        return False
    prefix = _KERNEL_CLOCK.sub("", " ".join([*tokens[:start], head])).strip()
    action = _action_of(prefix)
    put_event(doc, dataset=NETFILTER_DATASET, action=action, category=["network"],
              type=["connection", *([_TYPES[action]] if action in _TYPES else [])])
    put(doc, "observer.type", "firewall")
    put(doc, "observer.product", "ufw" if prefix.upper().startswith("[UFW") else "iptables")
    put(doc, "rule.name", prefix.strip("[]: ") or None)
    _put_flow(doc, fields.get("SPT"), fields.get("DPT"), fields.get("PROTO"), fields.get("IN"), fields.get("OUT"))
    _put_macs(doc, fields.get("MAC", ""))
    put(doc, "iptables.length", to_int(fields.get("LEN")))
    put(doc, "iptables.ttl", to_int(fields.get("TTL")))
    put(doc, "iptables.id", to_int(fields.get("ID")))
    put(doc, "iptables.tcp.window", to_int(fields.get("WINDOW")))
    put(doc, "iptables.tcp.flags", sorted(flags & _TCP_FLAGS) or None)
    put(doc, "iptables.fragment_flags", sorted(flags & {"DF", "MF", "CE"}) or None)
    put(doc, "iptables.icmp.type", to_int(fields.get("TYPE")))
    put(doc, "iptables.icmp.code", to_int(fields.get("CODE")))
    return True


def _netfilter_fields(tokens: list[str]) -> tuple[dict[str, str], set[str]]:
    """KEY=value pairs (first of each) and bare flags; an ICMP error's quoted packet ("[SRC=…") ends the scan."""
    fields: dict[str, str] = {}
    flags: set[str] = set()
    for tok in tokens:
        if tok.startswith("["):
            break
        key, sep, value = tok.partition("=")
        if sep:
            fields.setdefault(key, value)
        else:
            flags.add(tok)
    return fields, flags


def _put_macs(doc: Doc, mac: str) -> None:
    """netfilter's MAC= is the destination MAC, the source MAC and the ethertype, colon-joined."""
    parts = mac.split(":")
    if len(parts) == 14 and all(len(p) == 2 for p in parts):
        put(doc, "destination.mac", "-".join(parts[:6]).upper())
        put(doc, "source.mac", "-".join(parts[6:12]).upper())


# --- key=value ----------------------------------------------------------------------------------------

def _key_value(message: str, doc: Doc, ctx: ParseContext) -> bool:
    if "=" not in message:
        return False
    pairs = _pairs(message)
    found = {target: next((pairs[k] for k in keys if pairs.get(k)), None) for target, keys in _KV_FIELDS.items()}
    if not _addresses(doc, found["source.ip"], found["destination.ip"]):
        return False
    action = _ACTIONS.get(str(found["action"] or "").lower(), str(found["action"] or "").lower()[:40] or "log")
    put_event(doc, dataset=KV_DATASET, action=action, category=["network"],
              type=["connection", *([_TYPES[action]] if action in _TYPES else [])])
    put(doc, "observer.type", "firewall")
    put(doc, "observer.vendor", _vendor(pairs))
    _put_flow(doc, found["source.port"], found["destination.port"], found["transport"],
              found["observer.ingress.interface.name"], found["observer.egress.interface.name"])
    for target in ("observer.name", "observer.serial_number", "rule.id", "rule.name"):
        put(doc, target, found[target])
    moment = _kv_time(pairs, ctx)
    if moment is not None:
        doc["@timestamp"] = isoformat_utc(moment)
    return True


def _pairs(message: str) -> dict[str, str]:
    """key=value and key="quoted value" pairs (first of each key, lowercased), in one pass over the line.

    Each "=" is looked at once (at most ``MAX_PAIRS`` of them) and its key read backwards at most
    ``MAX_KEY`` characters, so a hostile line costs linear time (a regex tried at every position
    would re-read long words again and again).
    """
    pairs: dict[str, str] = {}
    pos = message.find("=")
    for _ in range(MAX_PAIRS):
        if pos == -1:
            break
        key = _key_before(message, pos)
        value, end = _value_at(message, pos + 1)
        if key:
            pairs.setdefault(key.lower(), value)
        pos = message.find("=", end)
    return pairs


def _key_before(message: str, pos: int) -> str:
    """The key ending at ``pos``: after the last space, quote or ">" within ``MAX_KEY`` characters."""
    floor = max(0, pos - MAX_KEY)
    begin = max(message.rfind(" ", floor, pos), message.rfind('"', floor, pos), message.rfind(">", floor, pos),
                message.rfind("\t", floor, pos)) + 1
    if begin == 0 and floor > 0:
        return ""  # longer than any real key
    return message[begin:pos] if _KEY.fullmatch(message, begin, pos) else ""


def _value_at(message: str, start: int) -> tuple[str, int]:
    """The value starting at ``start`` and where it ends; an unclosed quote is read as a plain value."""
    if message.startswith('"', start):
        close = message.find('"', start + 1)
        if close != -1:
            return message[start + 1:close], close + 1
    space = _SPACE.search(message, start)
    end = space.start() if space else len(message)
    return message[start:end], end


def _vendor(pairs: dict[str, str]) -> str | None:
    if "logid" in pairs or pairs.get("devid", "").startswith("FG"):
        return "Fortinet"
    if pairs.get("device") == "SFW" or "log_component" in pairs:
        return "Sophos"
    return None


def _kv_time(pairs: dict[str, str], ctx: ParseContext) -> datetime | None:
    """``eventtime`` (epoch in s, ms, µs or ns) or ``date`` + ``time`` (+ ``tz``, else the agent's zone)."""
    epoch = pairs.get("eventtime", "")
    if epoch.isascii() and epoch.isdigit() and 9 <= len(epoch) <= 19:
        scale = 10 ** (((len(epoch) - 10) // 3) * 3) if len(epoch) > 10 else 1
        return datetime.fromtimestamp(int(epoch) / scale, UTC)
    try:
        local = datetime.strptime(f"{pairs.get('date', '')} {pairs.get('time', '')}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=_offset(pairs.get("tz", "")) or ctx.tz)


def _offset(text: str) -> timezone | None:
    m = re.fullmatch(r"([+-])(\d\d):?(\d\d)", text.strip())
    if m is None:
        return None
    minutes = int(m[2]) * 60 + int(m[3])
    return timezone(timedelta(minutes=minutes if m[1] == "+" else -minutes))


# --- shared -------------------------------------------------------------------------------------------

def _addresses(doc: Doc, source: str | None, destination: str | None) -> bool:
    """Both addresses valid, or the line is not a connection record (nothing is written)."""
    try:
        src, dst = ipaddress.ip_address(source or ""), ipaddress.ip_address(destination or "")
    except ValueError:
        return False
    for field, address in (("source.ip", str(src)), ("destination.ip", str(dst))):
        put(doc, field, address)
        add_related(doc, "ip", address)
    return True


def _put_flow(doc: Doc, sport: str | None, dport: str | None, proto: str | None, inbound: str | None,
              outbound: str | None) -> None:
    put(doc, "source.port", to_int(sport))
    put(doc, "destination.port", to_int(dport))
    transport = str(proto or "").lower()
    transport = _IANA.get(transport, "ipv6-icmp" if transport == "icmpv6" else transport)
    put(doc, "network.transport", transport[:20] or None)
    if proto and proto.isdigit():
        put(doc, "network.iana_number", proto)
    put(doc, "observer.ingress.interface.name", inbound)
    put(doc, "observer.egress.interface.name", outbound)
    if inbound and not outbound:
        put(doc, "network.direction", "inbound")
    elif outbound and not inbound:
        put(doc, "network.direction", "outbound")


def _action_of(prefix: str) -> str:
    words = re.split(r"[^a-z]+", prefix.lower())
    return next((_ACTIONS[w] for w in words if w in _ACTIONS), "log")
