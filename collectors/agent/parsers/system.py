"""Kernel and system daemons writing to /var/log/messages or syslog (dataset system.syslog).

Most of these lines are operational (device nodes, service start/stop); they
are still this source's, with ``event.category: host`` or ``process`` where the
meaning is clear, so the fallback keeps only truly unknown programs.
"""

from __future__ import annotations

from . import pam
from .base import Doc, ParseContext, apply_rules, put_event, rule

name = "system"
programs = (
    "kernel", "syslogd", "syslog", "rsyslogd", "klogd", "systemd", "init", "rc", "network",
    "NetworkManager",
    "dhclient", "cups", "cupsd", "logrotate", "named", "udev", "udevd", "systemd-udevd", "xinetd", "gpm",
    "bluetooth", "hcid", "sdpd", "sysctl", "random", "portmap", "rpcbind", "nfslock", "irqbalance",
    "rpcidmapd", "rpc.idmapd", "rpc.statd", "snmpd", "crond", "cron", "CRON", "anacron", "atd", "ntpd",
    "chronyd", "auditd", "smartd", "acpid", "dbus-daemon", "modprobe", "apmd", "autofs", "sendmail",
    "postfix", "dovecot", "named-checkconf",
)
bare = False

DATASET = "system.syslog"
_IP = r"(?P<ip>[0-9a-fA-F:.]{2,45})"
_RULES = [
    rule(r"(?P<service>\S+) startup succeeded", "service_started", "process", "start", "success"),
    rule(r"(?P<service>\S+) shutdown succeeded", "service_stopped", "process", "end", "success"),
    rule(r"[\w .-]{1,60}?: +succeeded", "service_step", "process", "info", "success"),
    rule(r"[\w .-]{1,60}?: +failed", "service_step", "process", "info", "failure"),
    rule(r"restart\.?$", "syslog_restarted", "process", "start"),
    rule(r"Linux version (?P<version>\S+)", "kernel_boot", "host", "start"),
    rule(r"(?:creating|removing) device node '(?P<path>[^']*)'", "device_node", "host", "change"),
    rule(r"ALERT exited abnormally with \[(?P<code>\d+)\]", "logrotate_failed", "process", "error",
         "failure"),
    rule(rf"Received SNMP packet\(s\) from {_IP}", "snmp_packet", "network", "info"),
    rule(r"warning: can't get client address", "connection_error", "network", "error", "failure"),
    rule(r"\((?P<user>[^)\s]+)\) CMD \((?P<command>.*)\)$", "cron_command", "process", "start"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    """Known rules first; any other line from a known system program is still an event of ours."""
    if pam.parse_message(message, doc, ctx):
        return True
    if apply_rules(_RULES, message.lstrip(), doc, DATASET) is None:
        put_event(doc, dataset=DATASET, category=["host"], type=["info"])
    return True
