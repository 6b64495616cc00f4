"""Windows event log records (JSON rendering of the XML, as evtx_dump writes it) to Winlogbeat-shaped ECS.

Input: ``{"Event": {"System": {...}, "EventData": {...} | "UserData": {...}}}``,
XML attributes under ``#attributes``. Every EventData field is kept verbatim
under ``winlog.event_data.<Name>`` with a string value, as Winlogbeat does,
because Sigma rules for Windows match those names; the ECS fields (process.*,
user.*, source.*, file.*, registry.*) are added on top for the well-known
Security and Sysmon events (``windows_map``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import windows_map
from .base import Doc, ParseContext, isoformat_utc, put, put_event

name = "windows"

_LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_AUDIT_SUCCESS, _AUDIT_FAILURE = 0x0020000000000000, 0x0010000000000000
_MODULES = {  # channel -> (event.module as Winlogbeat sets it, event.dataset)
    "Security": ("security", "system.security"),
    "Microsoft-Windows-Sysmon/Operational": ("sysmon", "windows.sysmon_operational"),
    "Microsoft-Windows-PowerShell/Operational": ("powershell", "windows.powershell_operational"),
    "Windows PowerShell": ("powershell", "windows.powershell"),
}


def matches(record: Mapping[str, Any]) -> bool:
    event = record.get("Event")
    return isinstance(event, Mapping) and isinstance(event.get("System"), Mapping)


def parse_record(record: Mapping[str, Any], ctx: ParseContext) -> Doc:
    event = record["Event"]
    system = event["System"]
    doc: Doc = {}
    _put_system(doc, system, ctx)
    data = event_data(event.get("EventData"))
    if data:
        doc.setdefault("winlog", {})["event_data"] = data
    user_data = _user_data(event.get("UserData"))
    if user_data:
        doc.setdefault("winlog", {})["user_data"] = user_data
    channel = str(system.get("Channel") or "")
    module, dataset = _MODULES.get(channel, ("windows", "windows." + _slug(channel)))
    put_event(doc, dataset=dataset, category=(), type=())
    put(doc, "event.module", module)
    # A record without EventID has no event.code: it still maps its subject (found by the volume fuzz).
    windows_map.apply(doc, channel, to_str(doc["event"].get("code")), {**user_data, **data})
    return doc


def _put_system(doc: Doc, system: Mapping[str, Any], ctx: ParseContext) -> None:
    provider = _attrs(system.get("Provider"))
    event_id = to_str(_text(system.get("EventID")))
    put(doc, "@timestamp", _time(_attrs(system.get("TimeCreated")).get("SystemTime"), ctx))
    put(doc, "event.code", event_id)
    put(doc, "event.provider", to_str(provider.get("Name")))
    put(doc, "winlog.event_id", event_id)
    put(doc, "winlog.provider_name", to_str(provider.get("Name")))
    put(doc, "winlog.provider_guid", _guid(provider.get("Guid")))
    put(doc, "winlog.channel", to_str(system.get("Channel")))
    put(doc, "winlog.computer_name", to_str(system.get("Computer")))
    put(doc, "host.name", to_str(system.get("Computer")) or ctx.host)
    put(doc, "winlog.record_id", to_str(system.get("EventRecordID")))
    put(doc, "winlog.version", _int(system.get("Version")))
    put(doc, "winlog.task", to_str(system.get("Task")))
    put(doc, "winlog.opcode", to_str(system.get("Opcode")))
    put(doc, "log.level", _LEVELS.get(_int(system.get("Level")) or 0))
    correlation = _attrs(system.get("Correlation"))
    put(doc, "winlog.activity_id", _guid(correlation.get("ActivityID")))
    put(doc, "winlog.related_activity_id", _guid(correlation.get("RelatedActivityID")))
    execution = _attrs(system.get("Execution"))
    put(doc, "winlog.process.pid", _int(execution.get("ProcessID")))
    put(doc, "winlog.process.thread.id", _int(execution.get("ThreadID")))
    put(doc, "winlog.user.identifier", to_str(_attrs(system.get("Security")).get("UserID")))
    _put_keywords(doc, to_str(system.get("Keywords")))


def _put_keywords(doc: Doc, keywords: str) -> None:
    """Security's audit keywords decide the outcome; Winlogbeat names them the same way."""
    try:
        mask = int(keywords, 16) if keywords else 0
    except ValueError:
        return
    if mask & _AUDIT_SUCCESS:
        put(doc, "winlog.keywords", ["Audit Success"])
        put(doc, "event.outcome", "success")
    elif mask & _AUDIT_FAILURE:
        put(doc, "winlog.keywords", ["Audit Failure"])
        put(doc, "event.outcome", "failure")


def event_data(raw: Any) -> dict[str, str]:
    """EventData as ``{Name: "value"}``: named children, or ``Data`` lists (named or ``param1``...)."""
    if not isinstance(raw, Mapping):
        return {}
    items = raw.get("Data") if set(raw) - {"#attributes"} == {"Data"} else None
    if isinstance(items, list | Mapping):
        return _data_list(items if isinstance(items, list) else [items])
    return {str(k): to_str(_text(v)) for k, v in raw.items() if k != "#attributes"}


def _data_list(items: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for index, item in enumerate(items, start=1):
        if isinstance(item, Mapping):
            key = _attrs(item).get("Name") or item.get("@Name") or f"param{index}"
            out[str(key)] = to_str(_text(item))
        else:
            out[f"param{index}"] = to_str(item)
    return out


def _user_data(raw: Any) -> dict[str, str]:
    """UserData holds one element whose children are the fields; Winlogbeat adds its name as xml_name."""
    if not isinstance(raw, Mapping):
        return {}
    for key, inner in raw.items():
        if key != "#attributes" and isinstance(inner, Mapping):
            fields = {str(k): to_str(_text(v)) for k, v in inner.items() if k != "#attributes"}
            return {"xml_name": str(key), **fields}
    return {}


def _text(value: Any) -> Any:
    """An element's text: ``{"#text": x, "#attributes": ...}`` renders an element with attributes."""
    if isinstance(value, Mapping):
        return value.get("#text", "")
    return value


def _attrs(value: Any) -> Mapping[str, Any]:
    attrs = value.get("#attributes") if isinstance(value, Mapping) else None
    return attrs if isinstance(attrs, Mapping) else {}


def to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | Mapping):
        return ", ".join(to_str(_text(v)) for v in (value if isinstance(value, list) else [value]))
    return str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = to_str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None


def _guid(value: Any) -> str:
    text = to_str(value).strip("{}")
    return "{" + text + "}" if text else ""


def _time(value: Any, ctx: ParseContext) -> str:
    """SystemTime is UTC; Windows writes 7 fractional digits, which fromisoformat takes since 3.11."""
    try:
        moment = datetime.fromisoformat(to_str(value).replace("Z", "+00:00"))
    except ValueError:
        return isoformat_utc(ctx.now)
    return isoformat_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _slug(channel: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in channel.lower().removeprefix("microsoft-windows-"))
    return slug.strip("_")[:60] or "unknown"
