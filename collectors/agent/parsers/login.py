"""Console and remote logins other than ssh: login(1), gdm, klogind (Kerberos rlogin)."""

from __future__ import annotations

from . import pam
from .base import Doc, ParseContext, apply_rules, rule

name = "login"
programs = ("login", "gdm", "gdm-binary", "gdm-password", "lightdm", "kdm", "klogind", "krshd",
            "systemd-logind")
bare = False

DATASET = "system.auth"
_HOST = r"(?P<ip>[0-9a-fA-F:.]{2,45}) \((?P<domain>[^)\s]*)\)"
_RULES = [
    rule(r"ROOT LOGIN (?:ON|on) (?P<tty>\S+)(?: FROM (?P<domain>\S+))?", "root_login",
         ("authentication", "session"), "start", "success"),
    rule(r"LOGIN ON (?P<tty>\S+) BY (?P<user>\S+)(?: FROM (?P<domain>\S+))?", "login",
         ("authentication", "session"), "start", "success"),
    rule(r"FAILED LOGIN (?:\(?\d+\)? )?(?:ON (?P<tty>\S+) )?FROM (?P<domain>\S+) FOR (?P<user>[^,\s]+)",
         "login", "authentication", "start", "failure"),
    rule(r"Couldn't authenticate user", "login", "authentication", "start", "failure"),
    rule(rf"Authentication failed from {_HOST}: ", "kerberos_login", "authentication", "start", "failure"),
    rule(r"Kerberos authentication failed", "kerberos_login", "authentication", "start", "failure"),
    rule(r"New session \S+ of user (?P<user>\S+?)\.?$", "session_opened", "session", "start", "success"),
    rule(r"Removed session \S+?\.?$", "session_closed", "session", "end", "success"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    if pam.parse_message(message, doc, ctx):
        return True
    return apply_rules(_RULES, message, doc, DATASET) is not None
