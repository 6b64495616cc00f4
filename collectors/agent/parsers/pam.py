"""PAM messages, whichever program logs them (sshd, su, sudo, login, gdm, cron...).

Two framings exist in the wild: the modern one puts module and service in the
message (``sshd[1]: pam_unix(sshd:auth): authentication failure; ...``), older
ones in the ident (``sshd(pam_unix)[1]: authentication failure; ...``). Both
end in ``parse_body``, which needs to know the service because the meaning of
"user" depends on it: for su/sudo the session user is the *effective* user,
the one asking is ``user.name`` (ECS: user.effective for privilege changes).
"""

from __future__ import annotations

import re

from .base import Doc, ParseContext, add_related, apply_rules, put, put_event, put_groups, rule

name = "pam"
programs: tuple[str, ...] = ()  # reached through other sources, never by ident alone
bare = False

DATASET = "system.auth"
_PRIVILEGE_SERVICES = frozenset({"su", "su-l", "sudo", "sudo-i", "runuser", "runuser-l", "pkexec"})

_PREFIX = re.compile(r"(?P<module>pam_[\w-]{1,40})\((?P<service>[^:()\s]{1,60}):(?P<kind>[a-z]{1,20})\): ?")
_REPEATED = re.compile(r"PAM (\d{1,6}) more")
_KV = re.compile(r"(\w+)=(\S*)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# "user root" or newer "user root(uid=0)"; invoker "by (uid=0)", "by LOGIN(uid=0)", "by alice(uid=1000)"
_SESSION_OPEN = re.compile(
    r"session opened for user (?P<user>[^\s(]+)(?:\(uid=(?P<uid>\d+)\))?"
    r"(?: by (?P<by>[^\s(]*)\(uid=(?P<by_uid>\d+)\))?"
)
_SESSION_CLOSE = re.compile(r"session closed for user (?P<user>[^\s(]+)")

_RULES = [
    rule(r"check pass; user unknown", "user_unknown", type="info", outcome="failure"),
    rule(r"PAM service\((?P<service>[^)\s]+)\) ignoring max retries; (?P<tries>\d+) > (?P<max>\d+)",
         "max_retries_exceeded", type="info", outcome="failure"),
    rule(r"password changed for (?P<target_user>\S+)", "password_changed", category="iam",
         type=("user", "change"), outcome="success"),
    rule(r"account (?P<user>\S+) has expired", "account_expired", type="info", outcome="failure"),
    rule(r"Couldn't open /etc/securetty", "securetty_missing", category="configuration", type="info"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    """A message that starts with ``pam_xxx(service:kind):``."""
    m = _PREFIX.match(message)
    if m is None:
        return False
    put(doc, "system.auth.pam.module", m["module"])
    put(doc, "system.auth.pam.kind", m["kind"])
    return parse_body(message[m.end():], doc, service=m["service"])


def parse_body(body: str, doc: Doc, *, service: str) -> bool:
    """The PAM text after any ``pam_xxx(service:kind):`` prefix."""
    put(doc, "system.auth.pam.service", service)
    if body.startswith(("authentication failure;", "auth could not identify password")) or (
            body.startswith("PAM ") and " more authentication failure" in body[:40]):
        return _auth_failure(body, doc, service)
    if body.startswith("session opened"):
        return _session_opened(body, doc, service)
    if body.startswith("session closed"):
        return _session_closed(body, doc, service)
    return apply_rules(_RULES, body, doc, DATASET) is not None


def _auth_failure(body: str, doc: Doc, service: str) -> bool:
    # The key=value list is short; the findall is linear and bounded by MAX_LINE.
    fields = dict(_KV.findall(body[:2048]))
    put_groups_for_service(doc, service, asking=fields.get("ruser") or fields.get("logname"),
                           account=fields.get("user"))
    rhost = fields.get("rhost", "")
    if _IPV4.fullmatch(rhost) or (":" in rhost and rhost.count(":") >= 2):
        put_groups(doc, {"ip": rhost})
    else:
        put(doc, "source.domain", rhost)
    put(doc, "system.auth.pam.tty", fields.get("tty"))
    # uid/euid are the calling process's (sshd runs as 0), not the account's
    put(doc, "process.real_user.id", fields.get("uid"))
    put(doc, "process.user.id", fields.get("euid"))
    m = _REPEATED.match(body)
    put(doc, "system.auth.repeated", int(m[1]) if m else None)
    put_event(doc, dataset=DATASET, action="pam_auth_failure", category=["authentication"],
              type=["info"], outcome="failure")
    return True


def put_groups_for_service(doc: Doc, service: str, *, asking: str | None, account: str | None) -> None:
    """Who is who: for su/sudo the account is the one switched to, else the one logged into."""
    if service in _PRIVILEGE_SERVICES:
        put_groups(doc, {"user": asking, "effective_user": account})
    else:
        put_groups(doc, {"user": account or asking})


def _session_opened(body: str, doc: Doc, service: str) -> bool:
    m = _SESSION_OPEN.match(body)
    if m is None:
        return False
    by = m["by"] if m["by"] and m["by"] != "LOGIN" else None
    if service in _PRIVILEGE_SERVICES:
        put_groups(doc, {"user": by, "effective_user": m["user"]})
        put(doc, "user.effective.id", m["uid"])
    else:
        put_groups(doc, {"user": m["user"], "uid": m["uid"]})
    # "by alice(uid=1000)" names the process that opened the session (sshd: uid 0)
    put(doc, "process.real_user.id", m["by_uid"])
    put(doc, "process.real_user.name", by)
    if by:
        add_related(doc, "user", by)
    put_event(doc, dataset=DATASET, action="session_opened", category=["session"], type=["start"],
              outcome="success")
    return True


def _session_closed(body: str, doc: Doc, service: str) -> bool:
    m = _SESSION_CLOSE.match(body)
    if m is None:
        return False
    key = "effective_user" if service in _PRIVILEGE_SERVICES else "user"
    put_groups(doc, {key: m["user"]})
    put_event(doc, dataset=DATASET, action="session_closed", category=["session"], type=["end"],
              outcome="success")
    return True
