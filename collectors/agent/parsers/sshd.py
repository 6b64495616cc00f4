"""OpenSSH server (sshd) and its PAM lines, to ECS authentication events.

Usernames are attacker-controlled ("Invalid user a from 1.2.3.4 from 5.6.7.8"):
patterns that capture a free-form user are anchored at the end, so the last
"from <ip>" wins and an injected address cannot pose as the source.
"""

from __future__ import annotations

from . import pam
from .base import Doc, ParseContext, apply_rules, rule

name = "sshd"
programs = ("sshd", "sshd-session", "sshd-auth")
bare = False

DATASET = "system.auth"
_IP = r"(?P<ip>[0-9a-fA-F:.]{2,45})"
_PORT = r"(?: port (?P<port>\d{1,5}))?"
_FROM = rf" from {_IP}{_PORT}"
# Failed/Accepted publickey add ": RSA SHA256:<fingerprint>"; kept strict so the
# tail cannot hide a second "from <ip>" typed into a username.
_END = r"(?: ssh2)?(?:: [\w-]+ (?:SHA256|MD5):\S+)?(?: \[preauth\])?$"
_LOGIN = ("authentication",)
_NET = ("network",)

_RULES = [
    rule(rf"Accepted (?P<method>\S+) for (?P<user>\S+){_FROM}(?: ssh2)?(?::.*)?$", "ssh_login", _LOGIN,
         "start", "success"),
    rule(rf"Failed (?P<method>\S+) for invalid user (?P<user>.*?){_FROM}{_END}", "ssh_login", _LOGIN,
         "start", "failure"),
    rule(rf"Failed (?P<method>\S+) for (?P<user>\S+){_FROM}{_END}", "ssh_login", _LOGIN, "start", "failure"),
    rule(rf"message repeated (?P<count>\d{{1,6}}) times: \[ Failed (?P<method>\S+) for (?:invalid user )?"
         rf"(?P<user>.*?){_FROM}(?: ssh2)?\]$", "ssh_login", _LOGIN, "start", "failure"),
    rule(rf"Invalid user (?P<user>.*?){_FROM}$", "invalid_user", _LOGIN, "start", "failure"),
    rule(r"input_userauth_request: invalid user (?P<user>.*?) \[preauth\]$", "invalid_user", _LOGIN,
         "start", "failure"),
    rule(rf"User (?P<user>\S+){_FROM} not allowed because", "user_not_allowed", _LOGIN, "start", "failure"),
    rule(rf"(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?){_FROM}"
         rf"{_END}", "too_many_failures", _LOGIN, "end", "failure"),
    rule(r"Disconnecting(?: \S+ user \S+ \S+ port \d+)?: Too many authentication failures"
         r"(?: for (?:invalid user )?(?P<user>\S+))?", "too_many_failures", _LOGIN, "end", "failure"),
    rule(rf"(?:error: )?Received disconnect from {_IP}{_PORT}: ?(?P<code>\d+): ", "disconnect", _NET, "end"),
    rule(rf"Disconnected from (?:(?:authenticating |invalid )?user (?P<user>\S+) )?{_IP}{_PORT}",
         "disconnect", _NET, "end"),
    rule(rf"Connection closed by (?:(?:authenticating |invalid )?user (?P<user>\S+) )?{_IP}{_PORT}",
         "disconnect", _NET, "end"),
    rule(rf"Connection reset by (?:(?:authenticating |invalid )?user (?P<user>\S+) )?{_IP}{_PORT}",
         "disconnect", _NET, "end"),
    rule(rf"Connection from {_IP}{_PORT} on ", "connection", _NET, "start"),
    rule(rf"Did not receive identification string from {_IP}{_PORT}", "no_identification", _NET,
         "info", "failure"),
    rule(rf"Unable to negotiate with {_IP}{_PORT}:", "negotiation_failed", _NET, "info", "failure"),
    rule(rf"reverse mapping checking getaddrinfo for (?P<domain>\S+) \[{_IP}\] failed",
         "reverse_mapping_failed", _NET, "info"),
    rule(r"Server listening on ", "server_listening", "process", "start"),
    rule(r"Received signal \d+; terminating", "server_stopping", "process", "end"),
    rule(r"(?:fatal|error): ", "ssh_error", _NET, "error", "failure"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    """Fill ``doc`` from an sshd message body; False when no rule knows it."""
    if message.startswith(("pam_", "PAM ")) and (
            pam.parse_message(message, doc, ctx) or pam.parse_body(message, doc, service="sshd")):
        return True
    return apply_rules(_RULES, message, doc, DATASET) is not None
