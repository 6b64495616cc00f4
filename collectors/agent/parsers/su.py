"""su: switching user, to ECS (user.name asks, user.effective.name is switched to)."""

from __future__ import annotations

from . import pam
from .base import Doc, ParseContext, apply_rules, rule

name = "su"
programs = ("su", "su-l")
bare = False

DATASET = "system.auth"
_TTY = r"(?: on (?P<tty>\S+))?"
_RULES = [
    # util-linux / shadow: "(to root) alice on pts/0", "FAILED SU (to root) alice on pts/0"
    rule(rf"FAILED SU \(to (?P<effective_user>[^)\s]+)\) (?P<user>\S+){_TTY}", "su", "authentication",
         "start", "failure"),
    rule(rf"\(to (?P<effective_user>[^)\s]+)\) (?P<user>\S+){_TTY}", "su", ("authentication", "session"),
         "start", "success"),
    # busybox/old shadow: "+ pts/0 alice:root" (success) and "- pts/0 alice:root" (failure)
    rule(r"\+ (?P<tty>\S+) (?P<user>[^:\s]+):(?P<effective_user>\S+)$", "su", "authentication", "start",
         "success"),
    rule(r"- (?P<tty>\S+) (?P<user>[^:\s]+):(?P<effective_user>\S+)$", "su", "authentication", "start",
         "failure"),
    rule(r"Successful su for (?P<effective_user>\S+) by (?P<user>\S+)", "su", "authentication", "start",
         "success"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    if pam.parse_message(message, doc, ctx):
        return True
    return apply_rules(_RULES, message, doc, DATASET) is not None
