"""shadow-utils account management (useradd, usermod, userdel, groupadd, passwd...) to ECS iam events.

``user.target.*`` is the account acted on; who acted is not in these lines
(auditd has it), so ``user.name`` stays empty rather than guessed.
"""

from __future__ import annotations

from . import pam
from .base import Doc, ParseContext, apply_rules, rule

name = "shadow"
programs = ("useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "gpasswd",
            "passwd", "chpasswd", "chage", "chsh", "chfn", "newusers", "adduser", "deluser")
bare = False

DATASET = "system.auth"
_Q = r"'(?P<{}>[^']+)'"
_USER = ("iam",)
_RULES = [
    rule(r"new user: name=(?P<target_user>[^,\s]+), UID=(?P<target_uid>\d+), GID=(?P<gid>\d+)",
         "user_created", _USER, ("user", "creation"), "success"),
    rule(r"new group: name=(?P<group>[^,\s]+)(?:, GID=(?P<gid>\d+))?", "group_created", _USER,
         ("group", "creation"), "success"),
    rule(r"group added to /etc/g?(?:group|shadow): name=(?P<group>[^,\s]+)(?:, GID=(?P<gid>\d+))?",
         "group_created", _USER, ("group", "creation"), "success"),
    rule(r"add " + _Q.format("target_user") + r" to (?:shadow )?group " + _Q.format("target_group"),
         "user_added_to_group", _USER, ("user", "group", "change"), "success"),
    rule(r"delete " + _Q.format("target_user") + r" from (?:shadow )?group " + _Q.format("target_group"),
         "user_removed_from_group", _USER, ("user", "group", "change"), "success"),
    rule(r"(?:delete user|deleting user) " + _Q.format("target_user"), "user_deleted", _USER,
         ("user", "deletion"), "success"),
    rule(r"(?:removed group|group) " + _Q.format("group") + r"(?: owned by '[^']*')?(?: removed)?",
         "group_deleted", _USER, ("group", "deletion"), "success"),
    rule(r"change user " + _Q.format("target_user") + r" password", "password_changed", _USER,
         ("user", "change"), "success"),
    rule(r"(?:lock|unlock) user " + _Q.format("target_user") + r" password", "user_lock_changed", _USER,
         ("user", "change"), "success"),
    rule(r"change user " + _Q.format("target_user") + r" (?:shell|home|UID|GID|name|expiration)",
         "user_modified", _USER, ("user", "change"), "success"),
    rule(r"(?:password|account) (?:for|of) " + _Q.format("target_user") + r" changed(?: by " +
         _Q.format("user") + r")?", "password_changed", _USER, ("user", "change"), "success"),
    rule(r"password for (?P<target_user>\S+) changed by (?P<user>\S+)", "password_changed", _USER,
         ("user", "change"), "success"),
    rule(r"group " + _Q.format("group") + r" (?:renamed|changed)", "group_modified", _USER,
         ("group", "change"), "success"),
    rule(r"(?:failed adding user|cannot lock|failed to add) ", "account_change_failed", _USER, "change",
         "failure"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    if pam.parse_message(message, doc, ctx):  # passwd/chpasswd report through pam_unix
        return True
    return apply_rules(_RULES, message, doc, DATASET) is not None
