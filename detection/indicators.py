"""Threat-intelligence indicators: read CSV, STIX 2.1 bundles and MISP feed events; store with expiry.

Readers never raise on bad content: each returns the indicators it understood and,
for everything else, a line saying where and why, so an import loses nothing silently.
Values are normalised once here (IP networks in canonical form, domains, URLs and
hashes lowercased) because matching compares them with lowercase event fields.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from detection.models import Indicator, IndicatorType
from detection.stix_patterns import pattern_terms


@dataclass(frozen=True)
class Parsed:
    type: str
    value: str
    description: str = ""
    expires_at: datetime | None = None


@dataclass
class ReadResult:
    indicators: list[Parsed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


TYPE_ALIASES = {"ip": "ip", "ipv4": "ip", "ipv6": "ip", "ip-src": "ip", "ip-dst": "ip", "ipv4-addr": "ip",
                "ipv6-addr": "ip", "domain": "domain", "hostname": "domain", "domain-name": "domain",
                "url": "url", "uri": "url", "hash": "hash", "md5": "hash", "sha1": "hash", "sha256": "hash"}
HEX_LENGTHS = {32, 40, 64}


def normalise(kind: str, value: str) -> tuple[str, str]:
    """(type, canonical value), or ValueError saying what is wrong with it."""
    kind = TYPE_ALIASES.get(kind.strip().lower(), "")
    value = value.strip()
    if not kind:
        raise ValueError("unknown indicator type")
    if not value:
        raise ValueError("empty value")
    if kind == IndicatorType.IP:
        network = ipaddress.ip_network(value, strict=False)
        return kind, str(network.network_address) if network.num_addresses == 1 else str(network)
    if kind == IndicatorType.HASH and (len(value) not in HEX_LENGTHS or not re.fullmatch(r"[0-9A-Fa-f]+", value)):
        raise ValueError("a hash is 32, 40 or 64 hexadecimal characters")
    if kind == IndicatorType.DOMAIN:
        value = value.rstrip(".")
        if not re.fullmatch(r"[A-Za-z0-9_.*-]+", value):
            raise ValueError("not a domain name")
    return kind, value.lower()


def _parsed(kind: str, value: str, description: str, expires: datetime | None, where: str,
            result: ReadResult) -> None:
    try:
        kind, value = normalise(kind, value)
    except ValueError as exc:
        result.problems.append(f"{where}: {exc} ({kind!r}, {value[:80]!r})")
        return
    result.indicators.append(Parsed(kind, value, description[:500], expires))


def _when(raw: Any) -> datetime | None:
    if not raw:
        return None
    moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_csv(text: str) -> ReadResult:
    """Columns ``type,value`` and optionally ``description,expires_at`` (ISO 8601), with a header row."""
    result = ReadResult()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"type", "value"} <= {f.strip() for f in reader.fieldnames}:
        result.problems.append("line 1: the header must name at least the columns 'type' and 'value'")
        return result
    for row in reader:
        where = f"line {reader.line_num}"
        try:
            expires = _when(row.get("expires_at"))
        except ValueError:
            result.problems.append(f"{where}: expires_at is not an ISO 8601 date")
            continue
        _parsed(row.get("type") or "", row.get("value") or "", row.get("description") or "", expires, where, result)
    return result


def read_stix(text: str) -> ReadResult:
    """Indicators of a STIX 2.1 bundle, read with the OASIS pattern grammar (``detection.stix_patterns``);
    ``valid_until`` is the expiry. What a pattern says beyond "any of these values" is reported, not used."""
    result = ReadResult()
    bundle = _json(text, result)
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        result.problems.append("not a STIX bundle: no 'objects' list")
        return result
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") == "indicator":
            _stix_indicator(obj, result)
    return result


def _stix_indicator(obj: dict[str, Any], result: ReadResult) -> None:
    where = f"indicator {obj.get('id', '?')}"
    if obj.get("pattern_type", "stix") != "stix":
        result.problems.append(f"{where}: refused: pattern_type {obj.get('pattern_type')!r} (only 'stix' is read)")
        return
    read = pattern_terms(str(obj.get("pattern", "")))
    if read.refused:
        used = "partly used" if read.terms else "refused"
        result.problems += [f"{where}: {used}: {reason}" for reason in read.refused]
    try:
        expires = _when(obj.get("valid_until"))
    except ValueError:
        expires = None
    for kind, value in read.terms:
        _parsed(kind, value, str(obj.get("name") or ""), expires, where, result)


MISP_TYPES = {"ip-src": "ip", "ip-dst": "ip", "domain": "domain", "hostname": "domain", "url": "url", "uri": "url",
              "md5": "hash", "sha1": "hash", "sha256": "hash"}


def read_misp(text: str) -> ReadResult:
    """A MISP feed event (``{"Event": {...}}``): its attributes and its objects' attributes marked for IDS."""
    result = ReadResult()
    data = _json(text, result)
    event = data.get("Event") if isinstance(data, dict) else None
    if not isinstance(event, dict):
        result.problems.append("not a MISP feed event: no 'Event' object")
        return result
    for attribute in _misp_attributes(event):
        _misp_attribute(attribute, str(event.get("info") or ""), result)
    return result


def _misp_attributes(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (a for a in event.get("Attribute") or [] if isinstance(a, dict))
    for obj in event.get("Object") or []:
        if isinstance(obj, dict):
            yield from (a for a in obj.get("Attribute") or [] if isinstance(a, dict))


def _misp_attribute(attribute: dict[str, Any], info: str, result: ReadResult) -> None:
    if attribute.get("to_ids") is False:
        return  # MISP marks context-only attributes; they are not detection material
    raw_type, value = str(attribute.get("type", "")), str(attribute.get("value", ""))
    where = f"attribute {attribute.get('uuid', '?')}"
    if "|" in raw_type:  # composite: ip-dst|port, filename|sha256, domain|ip
        parts = dict(zip(raw_type.split("|"), value.split("|"), strict=False))
        pairs = [(t, v) for t, v in parts.items() if t in MISP_TYPES]
    else:
        pairs = [(raw_type, value)] if raw_type in MISP_TYPES else []
    for kind, item in pairs:
        _parsed(MISP_TYPES[kind], item, str(attribute.get("comment") or info), None, where, result)


def _json(text: str, result: ReadResult) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        result.problems.append(f"line {exc.lineno}: not valid JSON: {exc.msg}")
        return None


READERS = {"csv": read_csv, "stix": read_stix, "misp": read_misp}


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    problems: list[str] = field(default_factory=list)


def indicators_import(*, fmt: str, text: str, source: str) -> ImportSummary:
    """Read ``text`` as ``fmt`` and store its indicators under ``source`` (re-imports refresh expiry)."""
    reader = READERS.get(fmt)
    if reader is None:
        return ImportSummary(problems=[f"unknown format '{fmt}'; use one of {', '.join(READERS)}"])
    read = reader(text)
    summary = ImportSummary(problems=read.problems)
    with transaction.atomic():
        for item in _unique(read.indicators):
            _, created = Indicator.objects.update_or_create(
                type=item.type, value=item.value, source=source[:200],
                defaults={"description": item.description, "expires_at": item.expires_at})
            summary.created += int(created)
            summary.updated += int(not created)
    return summary


def _unique(items: Iterable[Parsed]) -> list[Parsed]:
    return list({(i.type, i.value): i for i in items}.values())
