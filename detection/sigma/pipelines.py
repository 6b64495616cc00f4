"""Which Sigma log sources our collectors feed, and how Sigma field names map onto our ECS events.

A Sigma rule names a *log source* (product / category / service) and *Sigma field names*
(``CommandLine``, ``cs-uri-query``, ``src_ip``...). For each log source we support there is one
``Profile``: the conditions that select its events in our indices, and the Sigma → ECS field map.
``resolve_profile`` picks the profile for a rule (or says why none fits), ``build_pipeline`` turns a
profile into a pySigma ``ProcessingPipeline``. The mapping tables below are the documentation.

Matching is case-insensitive in Sigma; in Elasticsearch that holds only for keyword fields indexed
with the ``lowercase`` normalizer. Our event template keeps every string as an exact keyword (group
keys and province codes keep their case) with a lowercase ``.lc`` sub-field: the last pipeline step
points plain and wildcard matches at that sub-field (``soc.es.caseless_field``), while ``|re`` and
``|cased`` values, which Sigma defines as case-sensitive, stay on the exact field (a ``|re|i`` or
``(?i)`` pattern is lowercased and joins the sub-field; see ``lucene_regex``).

``|cidr`` values are matched by Elasticsearch only on ``ip``-typed fields (``source.ip: "10.0.0.0/8"``,
IPv6 too). A profile's ``cidr_fields`` say which ip field holds a Sigma field's address for every event
the profile selects (Windows keeps ``IpAddress`` verbatim in ``winlog.event_data`` as text, and the
collector copies it into ``source.ip``); a cidr on any other field is refused by the converter.
Elasticsearch compares an IPv4-mapped IPv6 address (``::ffff:10.1.2.3``, as Windows writes IPv4
clients) as the IPv4 address: ``10.0.0.0/8`` matches it, which is what the rules' authors mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sigma.pipelines.common import windows_logsource_mapping
from sigma.processing.conditions import IncludeFieldCondition
from sigma.processing.conditions.base import ValueProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    AddFieldnamePrefixTransformation,
    FieldFunctionTransformation,
    FieldMappingTransformation,
)
from sigma.rule import SigmaLogSource
from sigma.types import SigmaCasedString, SigmaCIDRExpression, SigmaRegularExpression, SigmaType

from detection.sigma.lucene_regex import CaselessRegularExpression, LuceneRegexTransformation

FieldMap = Mapping[str, str | list[str]]
Conditions = Mapping[str, list[str]]


@dataclass(frozen=True)
class Profile:
    """How one Sigma log source is found in our events."""

    key: str  # stable name, also the pipeline cache key: "windows/process_creation"
    conditions: Conditions = field(default_factory=dict)  # ECS field -> any of these values; ANDed
    fields: FieldMap = field(default_factory=dict)  # Sigma field -> ECS field (a list means OR)
    # Windows keeps every other EventData name verbatim under this prefix; for other sources an
    # unknown field is an error, because a query on a field nobody writes would silently never match.
    unmapped_prefix: str | None = None
    # Sigma field -> the ip-typed ECS field holding the same address in every event this profile selects,
    # for ``|cidr`` only, where the plain mapping is a text field.
    cidr_fields: Mapping[str, str] = field(default_factory=dict)

    def ecs_fields(self, sigma_field: str) -> list[str]:
        """The ECS field(s) a Sigma field name is searched in, [] when we do not produce it."""
        mapped = self.fields.get(sigma_field)
        if mapped is not None:
            return [mapped] if isinstance(mapped, str) else list(mapped)
        if self.unmapped_prefix is not None and "." not in sigma_field:
            return [self.unmapped_prefix + sigma_field]
        return []

    def cidr_targets(self, sigma_field: str) -> list[str]:
        """The ECS field(s) a ``|cidr`` on this Sigma field is matched in (the caller checks they are ip-typed)."""
        own = self.cidr_fields.get(sigma_field)
        return [own] if own is not None else self.ecs_fields(sigma_field)


# --- Windows (Winlogbeat without ingest pipelines: EventData names verbatim) -------------------

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SECURITY_CHANNEL = "Security"
PS_OPERATIONAL = "Microsoft-Windows-PowerShell/Operational"
PS_CLASSIC = "Windows PowerShell"

# Fields Winlogbeat lifts out of <System>; everything else stays winlog.event_data.<Name>.
WINDOWS_FIELDS: dict[str, str | list[str]] = {
    "EventID": "event.code",
    "Channel": "winlog.channel",
    "Provider_Name": "winlog.provider_name",
    "Computer": "host.name",
    "ComputerName": "host.name",
}

# Sigma categories → (channels, event codes) that produce them. process_creation also accepts
# Security 4688, whose EventData names differ, so Image/ParentImage search both names.
WINDOWS_CATEGORIES: dict[str, tuple[list[str], list[int]]] = {
    "process_creation": ([SYSMON_CHANNEL, SECURITY_CHANNEL], [1, 4688]),
    "file_change": ([SYSMON_CHANNEL], [2]),
    "network_connection": ([SYSMON_CHANNEL], [3]),
    "sysmon_status": ([SYSMON_CHANNEL], [4, 16]),
    "process_termination": ([SYSMON_CHANNEL], [5]),
    "driver_load": ([SYSMON_CHANNEL], [6]),
    "image_load": ([SYSMON_CHANNEL], [7]),
    "create_remote_thread": ([SYSMON_CHANNEL], [8]),
    "raw_access_thread": ([SYSMON_CHANNEL], [9]),
    "process_access": ([SYSMON_CHANNEL], [10]),
    "file_event": ([SYSMON_CHANNEL], [11]),
    "registry_add": ([SYSMON_CHANNEL], [12]),
    "registry_delete": ([SYSMON_CHANNEL], [12]),
    "registry_set": ([SYSMON_CHANNEL], [13]),
    "registry_rename": ([SYSMON_CHANNEL], [14]),
    "registry_event": ([SYSMON_CHANNEL], [12, 13, 14]),
    "create_stream_hash": ([SYSMON_CHANNEL], [15]),
    "pipe_created": ([SYSMON_CHANNEL], [17, 18]),
    "wmi_event": ([SYSMON_CHANNEL], [19, 20, 21]),
    "dns_query": ([SYSMON_CHANNEL], [22]),
    "file_delete": ([SYSMON_CHANNEL], [23, 26]),
    "clipboard_capture": ([SYSMON_CHANNEL], [24]),
    "process_tampering": ([SYSMON_CHANNEL], [25]),
    "file_delete_detected": ([SYSMON_CHANNEL], [26]),
    "file_block_executable": ([SYSMON_CHANNEL], [27]),
    "file_block_shredding": ([SYSMON_CHANNEL], [28]),
    "file_executable_detected": ([SYSMON_CHANNEL], [29]),
    "sysmon_error": ([SYSMON_CHANNEL], [255]),
    "ps_script": ([PS_OPERATIONAL], [4104]),
    "ps_module": ([PS_OPERATIONAL], [4103]),
    "ps_classic_start": ([PS_CLASSIC], [400]),
    "ps_classic_provider_start": ([PS_CLASSIC], [600]),
    "ps_classic_script": ([PS_CLASSIC], [800]),
}

# Defender writes EventData names with spaces ("Threat Name"); Sigma rules spell them joined.
DEFENDER_FIELDS: dict[str, str | list[str]] = {
    name.replace(" ", ""): f"winlog.event_data.{name}" for name in (
        "Threat Name", "Threat ID", "Source Name", "Process Name", "Detection User", "Detection ID",
        "Severity Name", "Category Name", "Action Name", "Origin Name", "Type Name", "Execution Name",
        "Product Name", "Product Version", "Error Description", "Status Description", "Engine Version",
        "New Value", "Old Value")
}
# Services whose events carry their data in <UserData> (Winlogbeat: winlog.user_data) not <EventData>.
USER_DATA_SERVICES = {"wmi"}

# Where the collector (collectors/agent/parsers/windows_map.py) puts an address as an ip, by channel and by
# category: Security copies IpAddress into source.ip for every event that has one; Sysmon network
# connections (event 3, the whole network_connection category) fill source.ip and destination.ip.
WINDOWS_CHANNEL_IP_FIELDS: dict[str, dict[str, str]] = {SECURITY_CHANNEL: {"IpAddress": "source.ip"}}
WINDOWS_CATEGORY_IP_FIELDS: dict[str, dict[str, str]] = {
    "network_connection": {"SourceIp": "source.ip", "DestinationIp": "destination.ip"},
}

WINDOWS_CATEGORY_FIELDS: dict[str, dict[str, str | list[str]]] = {
    "process_creation": {
        "Image": ["winlog.event_data.Image", "winlog.event_data.NewProcessName"],
        "ParentImage": ["winlog.event_data.ParentImage", "winlog.event_data.ParentProcessName"],
    },
}


def _windows_profile(logsource: SigmaLogSource) -> Profile | str:
    category, service = logsource.category, logsource.service
    conditions: dict[str, list[str]] = {}
    if service is not None:
        channel = windows_logsource_mapping.get(service)
        if channel is None:
            return f"Windows service '{service}' has no known event log channel"
        conditions["winlog.channel"] = [channel] if isinstance(channel, str) else list(channel)
    if category is not None:
        if category not in WINDOWS_CATEGORIES:
            return f"Windows category '{category}' is not produced by Sysmon, Security or PowerShell logs"
        channels, codes = WINDOWS_CATEGORIES[category]
        conditions.setdefault("winlog.channel", list(channels))
        conditions["event.code"] = [str(code) for code in codes]  # a keyword in Winlogbeat
    fields = {**WINDOWS_FIELDS, **WINDOWS_CATEGORY_FIELDS.get(category or "", {}),
              **(DEFENDER_FIELDS if service == "windefend" else {})}
    return Profile(
        key=f"windows/{category or '-'}/{service or '-'}",
        conditions=conditions,
        fields=fields,
        unmapped_prefix="winlog.user_data." if service in USER_DATA_SERVICES else "winlog.event_data.",
        cidr_fields=_windows_ip_fields(category, conditions.get("winlog.channel", [])),
    )


def _windows_ip_fields(category: str | None, channels: list[str]) -> dict[str, str]:
    """The ip fields that hold an address for *every* event of the profile (one channel, or the category)."""
    if category in WINDOWS_CATEGORY_IP_FIELDS:
        return WINDOWS_CATEGORY_IP_FIELDS[category]
    if len(channels) == 1 and channels[0] in WINDOWS_CHANNEL_IP_FIELDS:
        return WINDOWS_CHANNEL_IP_FIELDS[channels[0]]
    return {}


# --- Linux (our syslog / sshd / sudo collectors) ------------------------------------------------

# Sigma service → syslog program names (process.name) that write it.
LINUX_SERVICES: dict[str, Conditions] = {
    "sshd": {"process.name": ["sshd"]},
    "sudo": {"process.name": ["sudo"]},
    "auth": {"event.dataset": ["system.auth"]},
    "syslog": {},  # every syslog-framed line
    "cron": {"process.name": ["cron", "CRON", "crond"]},
    "vsftpd": {"process.name": ["vsftpd"]},
    "clamav": {"process.name": ["clamd", "freshclam"]},
    "guacamole": {"process.name": ["guacd"]},
}

LINUX_FIELDS: dict[str, str | list[str]] = {
    "USER": "user.target.name",  # sudo's "USER=root" is the account commands run as
    "User": "user.name",
    "SourceIp": "source.ip",
}

# process_creation in ECS process.* names (what an auditd/EXECVE collector writes; sudo events
# carry process.command_line too, so CommandLine rules already see sudo'ed commands).
LINUX_PROCESS_FIELDS: dict[str, str | list[str]] = {
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "CurrentDirectory": "process.working_directory",
    "User": "user.name",
}


def _linux_profile(logsource: SigmaLogSource) -> Profile | str:
    category, service = logsource.category, logsource.service
    if category == "process_creation" and service is None:
        return Profile(key="linux/process_creation", fields=LINUX_PROCESS_FIELDS)
    if category is not None:
        return f"no collector produces Linux '{category}' events"
    if service is None:
        return Profile(key="linux/-", fields=LINUX_FIELDS)
    if service not in LINUX_SERVICES:
        return f"no collector produces Linux service '{service}' events"
    return Profile(key=f"linux/{service}", conditions=LINUX_SERVICES[service], fields=LINUX_FIELDS)


# --- Web servers (Apache/nginx combined access logs) --------------------------------------------

# W3C names used by Sigma → ECS. cs-uri-query is treated as the whole request target because
# SigmaHQ rules use it that way ("cs-uri-query|endswith: '/mgmt/tm/util/bash'").
WEB_FIELDS: dict[str, str | list[str]] = {
    "cs-uri-query": "url.original",
    "cs-uri": "url.original",
    "c-uri": "url.original",
    "cs-uri-stem": "url.path",
    "cs-method": "http.request.method",
    "sc-status": "http.response.status_code",
    "c-useragent": "user_agent.original",
    "cs-user-agent": "user_agent.original",
    "c-ip": "source.ip",
    "cs-referer": "http.request.referrer",
    "cs-username": "user.name",
}
# The collector names the dataset after the server when the syslog ident tells it (nginx.access),
# and "web.access" for a plain access-log file whose server it cannot know.
WEB_ACCESS = {"event.dataset": ["apache.access", "nginx.access", "web.access"]}
WEB_ERROR_SERVICES = {"apache": "apache.error", "nginx": "nginx.error"}


def _web_profile(logsource: SigmaLogSource) -> Profile | str | None:
    if logsource.category == "webserver" and logsource.service is None:
        return Profile(key="web/access", conditions=WEB_ACCESS, fields=WEB_FIELDS)
    if logsource.category is None and logsource.service in WEB_ERROR_SERVICES:
        dataset = WEB_ERROR_SERVICES[logsource.service]
        return Profile(key=f"web/{logsource.service}", conditions={"event.dataset": [dataset]})
    return None


# --- Network: firewall and Suricata ---------------------------------------------------------------

NETWORK_FIELDS: dict[str, str | list[str]] = {
    "src_ip": "source.ip",
    "dst_ip": "destination.ip",
    "src_port": "source.port",
    "dst_port": "destination.port",
    "protocol": "network.transport",
    "action": "event.action",
}
DNS_FIELDS: dict[str, str | list[str]] = {
    "query": "dns.question.name",
    "record_type": "dns.question.type",
    "answer": "dns.answers.data",
}


def _network_profile(logsource: SigmaLogSource) -> Profile | None:
    if logsource.product is not None or logsource.service is not None:
        return None
    if logsource.category == "firewall":
        return Profile(key="network/firewall", fields=NETWORK_FIELDS)
    if logsource.category == "dns":
        return Profile(key="network/dns", fields=DNS_FIELDS)
    return None


def resolve_profile(logsource: SigmaLogSource) -> Profile | str:
    """The profile that finds this log source in our events, or why our data has no such events."""
    if logsource.product == "windows":
        return _windows_profile(logsource)
    if logsource.product == "linux":
        return _linux_profile(logsource)
    if logsource.product is None:
        found = _web_profile(logsource) or _network_profile(logsource)
        if found is not None:
            return found
    parts = [f"{k}={v}" for k, v in vars(logsource).items() if k in ("product", "category", "service") and v]
    return f"log source {' '.join(parts) or '(empty)'} is not collected by this platform"


def build_pipeline(profile: Profile) -> ProcessingPipeline:
    """pySigma pipeline: add the profile's selecting conditions, then rename fields to ECS."""
    items: list[ProcessingItem] = []
    if profile.conditions:
        items.append(ProcessingItem(
            identifier=f"soc-{profile.key}-logsource",
            transformation=AddConditionTransformation(
                {name: list(values) for name, values in profile.conditions.items()}
            ),
        ))
    if profile.cidr_fields:
        # First, so the general mapping and the prefix below leave these (dotted ECS) names alone.
        items.append(ProcessingItem(
            identifier=f"soc-{profile.key}-cidr-fields",
            transformation=FieldMappingTransformation(_field_mapping(profile.cidr_fields)),
            detection_item_conditions=[CidrValue(cond="all")],
        ))
    if profile.fields:
        items.append(ProcessingItem(
            identifier=f"soc-{profile.key}-fields",
            transformation=FieldMappingTransformation(_field_mapping(profile.fields)),
        ))
    if profile.unmapped_prefix:
        # Already-ECS names (the conditions above, mapped fields) contain a dot: leave them alone.
        items.append(ProcessingItem(
            identifier=f"soc-{profile.key}-prefix",
            transformation=AddFieldnamePrefixTransformation(profile.unmapped_prefix),
            field_name_conditions=[IncludeFieldCondition(fields=[r"\w+\."], mode="re")],
            field_name_condition_negation=True,
        ))
    items.append(ProcessingItem(identifier=f"soc-{profile.key}-regex", transformation=LuceneRegexTransformation()))
    items.append(_caseless_item(profile.key))
    return ProcessingPipeline(name=f"SOC ECS events: {profile.key}", priority=20, items=items)


class CidrValue(ValueProcessingCondition):
    """A ``|cidr`` value: matched only by an ip-typed field."""

    def match_value(self, value: SigmaType) -> bool:
        return isinstance(value, SigmaCIDRExpression)


class ExactFieldValue(ValueProcessingCondition):
    """A ``|re`` or ``|cased`` value (Sigma matches these with case) or a ``|cidr``: the field itself is searched."""

    def match_value(self, value: SigmaType) -> bool:
        if isinstance(value, CaselessRegularExpression):
            return False  # lowercased by LuceneRegexTransformation for the lowercase sub-field
        return isinstance(value, SigmaRegularExpression | SigmaCasedString | SigmaCIDRExpression)


def _caseless_item(key: str) -> ProcessingItem:
    from soc.es import caseless_field  # Django settings are needed only when a pipeline is built

    def caseless(name: str | None) -> str:
        return caseless_field(name) if name else ""

    return ProcessingItem(
        identifier=f"soc-{key}-caseless",
        transformation=FieldFunctionTransformation(mapping={}, transform_func=caseless),
        detection_item_conditions=[ExactFieldValue(cond="any")],
        detection_item_condition_negation=True,
    )


def _field_mapping(fields: FieldMap) -> dict[str | None, str | list[str]]:
    return {name: (target if isinstance(target, str) else list(target)) for name, target in fields.items()}
