"""sudo, su and shadow-utils (useradd, usermod, groupadd...) lines, as Debian/RHEL write them."""

from __future__ import annotations

from typing import Any

import pytest

from collectors.agent.parsers import ParseContext, parse
from collectors.agent.parsers.base import get

H = "Jul 30 09:15:01 web1 "


@pytest.mark.parametrize(("line", "source", "fields"), [
    (H + "sudo[4242]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
     "sudo", {"user.name": "alice", "user.effective.name": "root", "system.auth.sudo.command":
              "/usr/bin/cat /etc/shadow", "system.auth.sudo.tty": "pts/0", "event.outcome": "success",
              "event.category": ["process"], "event.action": "sudo", "process.name": "sudo"}),
    (H + "sudo[4243]:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
         "COMMAND=/bin/bash -c 'id ; whoami'",
     "sudo", {"user.name": "bob", "event.outcome": "failure", "event.action": "sudo_password_failed",
              "system.auth.sudo.command": "/bin/bash -c 'id ; whoami'"}),
    (H + "sudo[4244]:  mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/home/mallory ; USER=root ; COMMAND=/bin/sh",
     "sudo", {"user.name": "mallory", "event.action": "sudo_not_in_sudoers", "event.outcome": "failure"}),
    (H + "sudo[4245]: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
     "sudo", {"user.name": "alice", "user.effective.name": "root", "event.action": "session_opened",
              "process.real_user.id": "1000"}),
    (H + "sudo[4246]: pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 "
         "ruser=bob rhost=  user=bob",
     "sudo", {"user.name": "bob", "event.action": "pam_auth_failure", "event.outcome": "failure"}),
    (H + "su[5001]: (to root) alice on pts/0",
     "su", {"user.name": "alice", "user.effective.name": "root", "event.outcome": "success",
            "system.auth.tty": "pts/0"}),
    (H + "su[5002]: FAILED SU (to root) bob on pts/1",
     "su", {"user.name": "bob", "user.effective.name": "root", "event.outcome": "failure"}),
    (H + "su[5003]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)",
     "su", {"user.name": "alice", "user.effective.name": "root", "event.category": ["session"]}),
    (H + "su[5004]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 "
         "ruser=alice rhost=  user=root",
     "su", {"user.name": "alice", "user.effective.name": "root", "event.outcome": "failure"}),
    (H + "useradd[6001]: new user: name=backdoor, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0",
     "shadow", {"user.target.name": "backdoor", "user.target.id": "0", "group.id": "0",
                "event.category": ["iam"], "event.type": ["user", "creation"], "event.action": "user_created"}),
    (H + "groupadd[6002]: group added to /etc/group: name=devs, GID=1002",
     "shadow", {"group.name": "devs", "group.id": "1002", "event.action": "group_created"}),
    (H + "groupadd[6002]: new group: name=devs, GID=1002",
     "shadow", {"group.name": "devs", "event.type": ["group", "creation"]}),
    (H + "usermod[6003]: add 'eve' to group 'sudo'",
     "shadow", {"user.target.name": "eve", "user.target.group.name": "sudo",
                "event.action": "user_added_to_group"}),
    (H + "usermod[6003]: add 'eve' to shadow group 'sudo'",
     "shadow", {"user.target.name": "eve", "user.target.group.name": "sudo"}),
    (H + "usermod[6004]: change user 'eve' shell from '/bin/sh' to '/bin/bash'",
     "shadow", {"user.target.name": "eve", "event.action": "user_modified"}),
    (H + "userdel[6005]: delete user 'eve'",
     "shadow", {"user.target.name": "eve", "event.type": ["user", "deletion"]}),
    (H + "passwd[6006]: pam_unix(passwd:chauthtok): password changed for eve",
     "shadow", {"user.target.name": "eve", "event.action": "password_changed"}),
    (H + "CRON[7001]: (root) CMD (/usr/local/bin/backup.sh >/dev/null 2>&1)",
     "system", {"user.name": "root", "process.command_line": "/usr/local/bin/backup.sh >/dev/null 2>&1"}),
])
def test_it_reads_account_and_privilege_lines(ctx: ParseContext, line: str, source: str,
                                             fields: dict[str, Any]) -> None:
    doc, parsed_by = parse(line, ctx)
    assert parsed_by == source
    assert {f: get(doc, f) for f in fields} == fields
    assert get(doc, "event.dataset") in ("system.auth", "system.syslog")


def test_passwd_via_pam_is_reached_through_shadow(ctx: ParseContext) -> None:
    # passwd logs through PAM; the shadow source must hand the prefix to the PAM parser
    doc, _ = parse(H + "passwd[1]: pam_unix(passwd:chauthtok): password changed for eve", ctx)
    assert get(doc, "system.auth.pam.service") == "passwd"
