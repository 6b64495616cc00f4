"""ECS fields for well-known Security and Sysmon events, the way Winlogbeat's modules fill them.

Input is the flat ``winlog.event_data`` (plus user_data) dict of strings; the
raw fields stay where they are, this only adds process.*, user.*, source.*...
"""

from __future__ import annotations

import ipaddress
import ntpath
from collections.abc import Callable, Mapping

from .base import Doc, add_related, get, put

Data = Mapping[str, str]

# Security event id -> (event.action, event.category, event.type)
SECURITY: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "1102": ("audit-log-cleared", ("iam",), ("admin", "change")),
    "4624": ("logged-in", ("authentication",), ("start",)),
    "4625": ("logon-failed", ("authentication",), ("start",)),
    "4634": ("logged-out", ("authentication",), ("end",)),
    "4647": ("logged-out", ("authentication",), ("end",)),
    "4648": ("logged-in-explicit", ("authentication",), ("start",)),
    "4672": ("logged-in-special", ("iam",), ("admin",)),
    "4688": ("created-process", ("process",), ("start",)),
    "4689": ("exited-process", ("process",), ("end",)),
    "4697": ("service-installed", ("iam", "configuration"), ("admin", "change")),
    "4698": ("scheduled-task-created", ("iam", "configuration"), ("creation", "admin")),
    "4699": ("scheduled-task-deleted", ("iam", "configuration"), ("deletion", "admin")),
    "4700": ("scheduled-task-enabled", ("iam", "configuration"), ("change", "admin")),
    "4701": ("scheduled-task-disabled", ("iam", "configuration"), ("change", "admin")),
    "4702": ("scheduled-task-updated", ("iam", "configuration"), ("change", "admin")),
    "4720": ("added-user-account", ("iam",), ("user", "creation")),
    "4722": ("enabled-user-account", ("iam",), ("user", "change")),
    "4723": ("changed-password", ("iam",), ("user", "change")),
    "4724": ("reset-password", ("iam",), ("user", "change")),
    "4725": ("disabled-user-account", ("iam",), ("user", "change")),
    "4726": ("deleted-user-account", ("iam",), ("user", "deletion")),
    "4728": ("added-member-to-group", ("iam",), ("group", "change")),
    "4729": ("removed-member-from-group", ("iam",), ("group", "change")),
    "4732": ("added-member-to-group", ("iam",), ("group", "change")),
    "4733": ("removed-member-from-group", ("iam",), ("group", "change")),
    "4738": ("modified-user-account", ("iam",), ("user", "change")),
    "4740": ("locked-out-user-account", ("iam",), ("user", "change")),
    "4756": ("added-member-to-group", ("iam",), ("group", "change")),
    "4757": ("removed-member-from-group", ("iam",), ("group", "change")),
}
# Sysmon event id -> (task name, rule type, event.category, event.type); Winlogbeat's
# event.action is "<task> (rule: <rule type>)".
SYSMON: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "1": ("Process Create", "ProcessCreate", ("process",), ("start",)),
    "2": ("File creation time changed", "FileCreateTime", ("file",), ("change",)),
    "3": ("Network connection detected", "NetworkConnect", ("network",), ("connection", "start")),
    "5": ("Process terminated", "ProcessTerminate", ("process",), ("end",)),
    "6": ("Driver loaded", "DriverLoad", ("driver",), ("start",)),
    "7": ("Image loaded", "ImageLoad", ("process",), ("change",)),
    "8": ("CreateRemoteThread detected", "CreateRemoteThread", ("process",), ("change",)),
    "9": ("RawAccessRead detected", "RawAccessRead", ("file",), ("access",)),
    "10": ("Process accessed", "ProcessAccess", ("process",), ("access",)),
    "11": ("File created", "FileCreate", ("file",), ("creation",)),
    "12": ("Registry object added or deleted", "RegistryEvent", ("configuration", "registry"), ("change",)),
    "13": ("Registry value set", "RegistryEvent", ("configuration", "registry"), ("change",)),
    "14": ("Registry object renamed", "RegistryEvent", ("configuration", "registry"), ("change",)),
    "15": ("File stream created", "FileCreateStreamHash", ("file",), ("creation",)),
    "17": ("Pipe Created", "PipeEvent", ("file",), ("creation",)),
    "18": ("Pipe Connected", "PipeEvent", ("file",), ("access",)),
    "22": ("Dns query", "DnsQuery", ("network",), ("protocol", "info")),
    "23": ("File Delete archived", "FileDelete", ("file",), ("deletion",)),
    "25": ("Process Tampering", "ProcessTampering", ("process",), ("change",)),
    "26": ("File Delete logged", "FileDeleteDetected", ("file",), ("deletion",)),
}
_LOGON_TYPES = {
    "2": "Interactive", "3": "Network", "4": "Batch", "5": "Service", "7": "Unlock",
    "8": "NetworkCleartext", "9": "NewCredentials", "10": "RemoteInteractive", "11": "CachedInteractive",
}
_EMPTY = frozenset({"", "-", "::", "0.0.0.0"})  # noqa: S104 - Windows' "no address", not a bind


def apply(doc: Doc, channel: str, code: str, data: Data) -> None:
    if channel == "Microsoft-Windows-Sysmon/Operational" and code in SYSMON:
        _sysmon(doc, code, data)
    elif code in SECURITY and (channel == "Security" or code == "1102"):
        action, category, kind = SECURITY[code]
        _event(doc, action, category, kind)
        _SECURITY_FIELDS.get(code, _subject)(doc, data)
    else:
        _subject(doc, data)
    if channel == "Security" and "IpAddress" in data and get(doc, "source.ip") is None:
        # Every Security event naming a client (Kerberos 4768/4769/4771, shares 5140/5145...) has it in
        # source.ip, as Winlogbeat does: Sigma's ``IpAddress|cidr`` is searched there, an ip-typed field.
        _source(doc, data.get("IpAddress"), data.get("IpPort"), None)
    put(doc, "event.category", get(doc, "event.category") or None)


def _event(doc: Doc, action: str, category: tuple[str, ...], kind: tuple[str, ...]) -> None:
    put(doc, "event.action", action)
    put(doc, "event.category", list(category))
    put(doc, "event.type", list(kind))


# --- Security -----------------------------------------------------------------------------

def _subject(doc: Doc, d: Data) -> None:
    """Who acted: the Subject* fields most Security events carry."""
    _user(doc, "user", d.get("SubjectUserName"), d.get("SubjectDomainName"), d.get("SubjectUserSid"))
    if "User" in d and not get(doc, "user.name"):  # Sysmon and others: "DOMAIN\\name"
        domain, _, user = d["User"].rpartition("\\")
        _user(doc, "user", user, domain, None)


def _logon(doc: Doc, d: Data) -> None:
    _user(doc, "user", d.get("TargetUserName"), d.get("TargetDomainName"), d.get("TargetUserSid"))
    _source(doc, d.get("IpAddress"), d.get("IpPort"), d.get("WorkstationName"))
    put(doc, "winlog.logon.type", _LOGON_TYPES.get(d.get("LogonType", "")))
    put(doc, "winlog.logon.id", d.get("TargetLogonId"))
    put(doc, "winlog.logon.failure.status", d.get("Status"))
    put(doc, "winlog.logon.failure.sub_status", d.get("SubStatus"))
    put(doc, "winlog.logon.failure.reason", d.get("FailureReason"))
    _process(doc, "process", d.get("ProcessName"), _hex_or_int(d.get("ProcessId")))


def _explicit_logon(doc: Doc, d: Data) -> None:
    _subject(doc, d)
    _user(doc, "user.effective", d.get("TargetUserName"), d.get("TargetDomainName"), None)
    _source(doc, d.get("IpAddress"), d.get("IpPort"), None)
    _process(doc, "process", d.get("ProcessName"), _hex_or_int(d.get("ProcessId")))


def _process_created(doc: Doc, d: Data) -> None:
    _subject(doc, d)
    _process(doc, "process", d.get("NewProcessName"), _hex_or_int(d.get("NewProcessId")))
    put(doc, "process.command_line", d.get("CommandLine"))
    _process(doc, "process.parent", d.get("ParentProcessName"), _hex_or_int(d.get("ProcessId")))


def _process_exited(doc: Doc, d: Data) -> None:
    _subject(doc, d)
    _process(doc, "process", d.get("ProcessName"), _hex_or_int(d.get("ProcessId")))


def _account(doc: Doc, d: Data) -> None:
    _subject(doc, d)
    _user(doc, "user.target", d.get("TargetUserName"), d.get("TargetDomainName"), d.get("TargetSid"))


def _group_member(doc: Doc, d: Data) -> None:
    _subject(doc, d)
    put(doc, "group.name", d.get("TargetUserName"))
    put(doc, "group.domain", d.get("TargetDomainName"))
    put(doc, "group.id", d.get("TargetSid"))
    member = d.get("MemberName", "")  # a DN "CN=bob,OU=..." for domain accounts, "-" for local ones
    name = member[3:].split(",", 1)[0] if member.upper().startswith("CN=") else member
    _user(doc, "user.target", name if name not in _EMPTY else None, None, d.get("MemberSid"))
    put(doc, "user.target.id", _value(d.get("MemberSid")))  # local members have a SID and no name


def _log_cleared(doc: Doc, d: Data) -> None:
    _subject(doc, d)


_SECURITY_FIELDS: dict[str, Callable[[Doc, Data], None]] = {
    "4624": _logon, "4625": _logon, "4634": _logon, "4647": _logon, "4648": _explicit_logon,
    "4688": _process_created, "4689": _process_exited,
    "4720": _account, "4722": _account, "4723": _account, "4724": _account, "4725": _account,
    "4726": _account, "4738": _account, "4740": _account,
    "4728": _group_member, "4729": _group_member, "4732": _group_member, "4733": _group_member,
    "4756": _group_member, "4757": _group_member, "1102": _log_cleared,
}

# --- Sysmon -------------------------------------------------------------------------------


def _sysmon(doc: Doc, code: str, d: Data) -> None:
    task, rule_type, category, kind = SYSMON[code]
    _event(doc, f"{task} (rule: {rule_type})", category, kind)
    put(doc, "rule.name", d.get("RuleName") if d.get("RuleName") not in _EMPTY else None)
    _subject(doc, d)
    if code in ("8", "10"):  # source process acts on a target process
        _process(doc, "process", d.get("SourceImage"), _hex_or_int(d.get("SourceProcessId")))
        put(doc, "process.entity_id", d.get("SourceProcessGuid") or d.get("SourceProcessGUID"))
    else:
        _process(doc, "process", d.get("Image"), _hex_or_int(d.get("ProcessId")))
        put(doc, "process.entity_id", d.get("ProcessGuid"))
    _SYSMON_FIELDS.get(code, _no_more)(doc, d)


def _no_more(doc: Doc, d: Data) -> None:
    return None


def _sysmon_process(doc: Doc, d: Data) -> None:
    put(doc, "process.command_line", d.get("CommandLine"))
    put(doc, "process.working_directory", d.get("CurrentDirectory"))
    _pe(doc, "process.pe", d)
    _hashes(doc, "process.hash", d.get("Hashes"))
    _process(doc, "process.parent", d.get("ParentImage"), _hex_or_int(d.get("ParentProcessId")))
    put(doc, "process.parent.command_line", d.get("ParentCommandLine"))
    put(doc, "process.parent.entity_id", d.get("ParentProcessGuid"))


def _sysmon_network(doc: Doc, d: Data) -> None:
    _source(doc, d.get("SourceIp"), d.get("SourcePort"), d.get("SourceHostname"))
    put(doc, "destination.ip", _ip(d.get("DestinationIp")))
    put(doc, "destination.port", _hex_or_int(d.get("DestinationPort")))
    put(doc, "destination.domain", _value(d.get("DestinationHostname")))
    add_related(doc, "ip", _ip(d.get("DestinationIp")) or "")
    put(doc, "network.transport", (d.get("Protocol") or "").lower())
    put(doc, "network.direction", {"true": "egress", "false": "ingress"}.get(d.get("Initiated", "")))


def _sysmon_image(doc: Doc, d: Data) -> None:
    _file(doc, d.get("ImageLoaded"))
    _pe(doc, "file.pe", d)
    _hashes(doc, "file.hash", d.get("Hashes"))
    put(doc, "file.code_signature.signed", {"true": True, "false": False}.get(d.get("Signed", "")))
    put(doc, "file.code_signature.subject_name", d.get("Signature"))
    put(doc, "file.code_signature.status", d.get("SignatureStatus"))


def _sysmon_file(doc: Doc, d: Data) -> None:
    _file(doc, d.get("TargetFilename"))
    _hashes(doc, "file.hash", d.get("Hashes") or d.get("Hash"))


def _sysmon_registry(doc: Doc, d: Data) -> None:
    path = d.get("TargetObject", "")
    put(doc, "registry.path", path)
    hive, _, key = path.partition("\\")
    put(doc, "registry.hive", hive)
    put(doc, "registry.key", key.rpartition("\\")[0] if code_has_value(d) else key)
    put(doc, "registry.value", path.rpartition("\\")[2] if code_has_value(d) else None)
    if d.get("Details"):
        put(doc, "registry.data.strings", [d["Details"]])


def code_has_value(d: Data) -> bool:
    """Registry events naming a value (SetValue) end their path in the value's name."""
    return d.get("EventType") == "SetValue"


def _sysmon_pipe(doc: Doc, d: Data) -> None:
    put(doc, "file.name", d.get("PipeName"))


def _sysmon_dns(doc: Doc, d: Data) -> None:
    put(doc, "dns.question.name", d.get("QueryName"))
    put(doc, "dns.response_code", d.get("QueryStatus"))


_SYSMON_FIELDS: dict[str, Callable[[Doc, Data], None]] = {
    "1": _sysmon_process, "3": _sysmon_network, "6": _sysmon_image, "7": _sysmon_image,
    "2": _sysmon_file, "11": _sysmon_file, "15": _sysmon_file, "23": _sysmon_file, "26": _sysmon_file,
    "12": _sysmon_registry, "13": _sysmon_registry, "14": _sysmon_registry,
    "17": _sysmon_pipe, "18": _sysmon_pipe, "22": _sysmon_dns,
}

# --- shared ------------------------------------------------------------------------------


def _value(v: str | None) -> str | None:
    return v if v is not None and v.strip() not in _EMPTY else None


def _hex_or_int(v: str | None) -> int | None:
    """Security writes pids as "0x378", Sysmon as "888"."""
    v = (v or "").strip()
    try:
        return int(v, 16) if v.lower().startswith("0x") else int(v) if v.isascii() and v.isdigit() else None
    except ValueError:
        return None


def _user(doc: Doc, prefix: str, name: str | None, domain: str | None, sid: str | None) -> None:
    if not _value(name):
        return
    put(doc, f"{prefix}.name", name)
    put(doc, f"{prefix}.domain", _value(domain))
    put(doc, f"{prefix}.id", _value(sid))
    add_related(doc, "user", name or "")


def _ip(v: str | None) -> str | None:
    """An address Elasticsearch's ip type takes (a zone such as ``%12`` dropped), else None.

    Anything else would make the whole event be refused by the index; it stays in winlog.event_data.
    """
    text = (_value(v) or "").strip().split("%", 1)[0]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return text


def _source(doc: Doc, ip: str | None, port: str | None, domain: str | None) -> None:
    put(doc, "source.ip", _ip(ip))
    add_related(doc, "ip", _ip(ip) or "")
    port_number = _hex_or_int(port)
    put(doc, "source.port", port_number or None)
    put(doc, "source.domain", _value(domain))


def _process(doc: Doc, prefix: str, executable: str | None, pid: int | None) -> None:
    if _value(executable):
        put(doc, f"{prefix}.executable", executable)
        put(doc, f"{prefix}.name", ntpath.basename(executable or ""))
    put(doc, f"{prefix}.pid", pid)


def _file(doc: Doc, path: str | None) -> None:
    if not _value(path):
        return
    put(doc, "file.path", path)
    put(doc, "file.name", ntpath.basename(path or ""))
    put(doc, "file.directory", ntpath.dirname(path or ""))
    ext = ntpath.splitext(path or "")[1]
    put(doc, "file.extension", ext[1:].lower() if ext else None)


def _pe(doc: Doc, prefix: str, d: Data) -> None:
    for ecs, field in (("original_file_name", "OriginalFileName"), ("description", "Description"),
                       ("product", "Product"), ("company", "Company"), ("file_version", "FileVersion")):
        put(doc, f"{prefix}.{ecs}", _value(d.get(field)))


def _hashes(doc: Doc, prefix: str, hashes: str | None) -> None:
    """Sysmon's "SHA1=...,MD5=...,IMPHASH=..." to ``<prefix>.sha1`` etc. and related.hash."""
    for part in (hashes or "").split(","):
        algo, sep, value = part.partition("=")
        if not sep or not value:
            continue
        algo = algo.strip().lower()
        # ECS keeps the import hash with the PE header, not with the file hashes
        target = prefix.replace(".hash", ".pe.imphash") if algo == "imphash" else f"{prefix}.{algo}"
        put(doc, target, value.strip())
        add_related(doc, "hash", value.strip())
