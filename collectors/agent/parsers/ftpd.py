"""FTP servers (BSD/wu-ftpd ``ftpd``, vsftpd, proftpd): connections and logins."""

from __future__ import annotations

from .base import Doc, ParseContext, apply_rules, rule

name = "ftpd"
programs = ("ftpd", "in.ftpd", "wu-ftpd", "vsftpd", "proftpd", "pure-ftpd")
bare = False

DATASET = "ftp.log"
_IP = r"(?P<ip>[0-9a-fA-F:.]{2,45})"
_RULES = [
    rule(rf"connection from {_IP} \((?P<domain>[^)\s]*)\)", "connection", "network", "start"),
    rule(rf"ANONYMOUS FTP LOGIN FROM {_IP}, +\((?P<user>[^)\s]*)\)", "anonymous_login",
         ("authentication", "session"), "start", "success"),
    rule(rf"FTP LOGIN FROM {_IP}(?: \[[^\]\s]*\])?, (?P<user>\S+)", "ftp_login",
         ("authentication", "session"), "start", "success"),
    rule(rf"FAILED FTP LOGIN FROM {_IP}(?: \[[^\]\s]*\])?, (?P<user>\S+)", "ftp_login", "authentication",
         "start", "failure"),
    rule(r"User (?P<user>\S+) timed out after \d+ seconds", "timeout", "session", "end"),
    rule(r"getpeername \(\S+\): ", "connection_error", "network", "error", "failure"),
    # vsftpd: [alice] OK LOGIN: Client "1.2.3.4"
    rule(rf"(?:\[pid \d+\] )?\[(?P<user>[^\]\s]+)\] OK LOGIN: Client \"{_IP}\"", "ftp_login",
         ("authentication", "session"), "start", "success"),
    rule(rf"(?:\[pid \d+\] )?\[(?P<user>[^\]\s]+)\] FAIL LOGIN: Client \"{_IP}\"", "ftp_login",
         "authentication", "start", "failure"),
    # proftpd: host (1.2.3.4[1.2.3.4]) - USER alice: Login successful.
    rule(rf"\S+ \([^\s\[]*\[{_IP}\]\) - USER (?P<user>[^:\s]+): Login successful", "ftp_login",
         ("authentication", "session"), "start", "success"),
    rule(rf"\S+ \([^\s\[]*\[{_IP}\]\) - USER (?P<user>\S+) \(Login failed\)", "ftp_login",
         "authentication", "start", "failure"),
]


def parse_message(message: str, doc: Doc, ctx: ParseContext) -> bool:
    return apply_rules(_RULES, message, doc, DATASET) is not None
