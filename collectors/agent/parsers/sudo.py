"""sudo: commands run as another user, to ECS (user.name runs, user.effective.name is run as).

sudo's line is ``alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls -l``,
optionally with a reason first (``3 incorrect password attempts ;``,
``user NOT in sudoers ;``, ``command not allowed ;``). Fields are split on
" ; " and COMMAND comes last, so a command containing " ; " stays whole.
"""

from __future__ import annotations

import re

from . import pam
from .base import Doc, ParseContext, put, put_event, put_groups

name = "sudo"
programs = ("sudo",)
bare = False

DATASET = "system.auth"
_HEAD = re.compile(r" *(?P<user>[^\s:]+) : ")
_FAILURES = {
    "incorrect password attempt": "sudo_password_failed",
    "user NOT in sudoers": "sudo_not_in_sudoers",
    "user NOT authorized on host": "sudo_not_allowed_on_host",
    "command not allowed": "sudo_command_not_allowed",
    "a password is required": "sudo_password_required",
    "authentication failure": "sudo_password_failed",
}


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    if pam.parse_message(message, doc, ctx):
        return True
    m = _HEAD.match(message)
    if m is None or "COMMAND=" not in message:
        return False
    head, _, command = message[m.end():].partition("COMMAND=")
    fields = dict(_split_field(p) for p in head.split(" ; ") if p)
    reason = next((key for key, value in fields.items() if not value), "")  # a part with no "="
    put_groups(doc, {"user": m["user"], "effective_user": fields.get("USER", "root"),
                     "group": fields.get("GROUP")})
    put(doc, "system.auth.sudo.tty", fields.get("TTY"))
    put(doc, "system.auth.sudo.pwd", fields.get("PWD"))
    put(doc, "system.auth.sudo.command", command)
    put(doc, "system.auth.sudo.error", reason)
    action = next((a for k, a in _FAILURES.items() if k in reason), "sudo_failure" if reason else "sudo")
    put_event(doc, dataset=DATASET, action=action, category=["process"], type=["start"],
              outcome="failure" if reason else "success")
    return True


def _split_field(part: str) -> tuple[str, str]:
    key, sep, value = part.strip().partition("=")
    return (key, value) if sep else (key, "")
