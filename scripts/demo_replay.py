#!/usr/bin/env python3
"""Demo traffic for `make dev`: real log lines and attacks for six provinces, through their collectors.

Under ``--dir/<PROVINCE>/`` it writes the log files that province's demo collector tails: first
``--days`` days of quiet history (what the readiness scorecards measure), then a live replay stamped
with the current time, whose attacks come in its first seconds so incidents open within a minute.
It exits when the replay is over (the platform keeps running); it writes ``history.json`` (lines of
history per province) as soon as the history is on disk, and ``live.json`` (live lines per province) when
the replay is over.

Lines are real where the corpus has them (../shared/corpus/loghub: OpenSSH, Linux syslog, Apache
error log) and synthetic where it has none (web access with SQL injection, path traversal and
sqlmap's user agent, ufw firewall, Windows Security events as JSON). Each province differs on purpose:

  HNI  sshd (corpus), web access, firewall, Windows      SSH brute force, SQL injection, scanner
  HCM  Linux syslog (corpus), web access, Windows        path traversal, web error burst, RDP brute force
  DNG  sshd, firewall, and an appliance no parser knows  port scan, login after failures
  HPG  Linux syslog, Apache error log, firewall; offline every night   su failures, new local admin
  CTO  sshd, web access, Windows, firewall; since today the firewall's clock runs 5-10 minutes ahead, and
       three of its lines are stamped hours ahead (the ingest refuses those into the dead-letter index)
                                                        web shell, security log cleared, SQL injection
  HUE  sshd, web access, silent for the last five days   (nothing live)
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "loghub"
SYSLOG_HEADER = re.compile(r"^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \S+ ")
APACHE_HEADER = re.compile(r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4}\] ")

Line = Callable[[datetime], str]  # a log line, given the moment it is stamped with


# ---- corpus ----------------------------------------------------------------------------------------

def corpus(name: str, header: re.Pattern[str], fallback: list[str]) -> list[str]:
    """Message bodies (header removed) of a loghub sample, or built-in lines when the corpus is absent."""
    path = LOGHUB / name / f"{name}_2k.log"
    if not path.exists():
        return fallback
    return [header.sub("", line.rstrip("\n")) for line in path.open(encoding="utf-8", errors="replace")]


SSHD = corpus("OpenSSH", SYSLOG_HEADER, [
    "sshd[4242]: Accepted publickey for deploy from 10.0.0.8 port 50022 ssh2",
    "sshd[4243]: Failed password for invalid user admin from 203.0.113.80 port 40000 ssh2",
    "sshd[4243]: Connection closed by 203.0.113.80 [preauth]"])
LINUX = corpus("Linux", SYSLOG_HEADER, [
    "sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4",
    "su(pam_unix)[2214]: session opened for user news by (uid=0)",
    "cups: cupsd shutdown succeeded"])
APACHE = corpus("Apache", APACHE_HEADER, [
    "[notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
    "[error] mod_jk child workerEnv in error state 6"])


# ---- line builders ---------------------------------------------------------------------------------

def syslog(host: str, body: str) -> Line:
    return lambda t: f"{t.astimezone(TZ):%b %e %H:%M:%S} {host} {body}"


def apache_error(body: str) -> Line:
    return lambda t: f"[{t.astimezone(TZ):%a %b %d %H:%M:%S %Y}] {body}"


def web(ip: str, request: str, status: int = 200, size: int = 5120, agent: str = "Mozilla/5.0") -> Line:
    return lambda t: (f'{ip} - - [{t.astimezone(TZ):%d/%b/%Y:%H:%M:%S %z}] "{request} HTTP/1.1" {status} {size} '
                      f'"-" "{agent}"')


def ufw(src: str, port: int, action: str = "BLOCK") -> Line:
    return lambda t: (f"{t.astimezone(TZ):%b %e %H:%M:%S} fw-01 kernel: [ 3453.276354] [UFW {action}] IN=eth0 OUT= "
                      f"MAC=08:00:27:a8:6e:4b:52:54:00:12:35:02:08:00 SRC={src} DST=10.0.0.5 LEN=44 TOS=0x00 "
                      f"PREC=0x00 TTL=49 ID=54321 PROTO=TCP SPT=43771 DPT={port} WINDOW=1024 RES=0x00 SYN URGP=0")


def windows(event_id: int, computer: str, data: dict[str, str], failure: bool = False) -> Line:
    """A Windows Security event as the evtx tools render it to JSON (one record per line)."""
    keywords = "0x8010000000000000" if failure else "0x8020000000000000"

    def render(t: datetime) -> str:
        system = {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": event_id,
                  "Keywords": keywords, "Channel": "Security", "Computer": computer,
                  "TimeCreated": {"#attributes": {"SystemTime": t.astimezone(UTC).isoformat().replace("+00:00", "Z")}}}
        return json.dumps({"Event": {"System": system, "EventData": data}})
    return render


def logon(computer: str, user: str, ip: str, ok: bool = True) -> Line:
    return windows(4624 if ok else 4625, computer, {"TargetUserName": user, "LogonType": "10", "IpAddress": ip},
                   failure=not ok)


def ahead(line: Line, seconds: float) -> Line:
    """The line as a device whose clock runs ``seconds`` ahead writes it."""
    return lambda t: line(t + timedelta(seconds=seconds))


def repeat(line: Line, n: int) -> list[Line]:
    return [line] * n


# ---- provinces -------------------------------------------------------------------------------------

@dataclass
class Province:
    code: str
    quiet: dict[str, list[Line]]        # file -> ordinary lines (history and live background)
    attacks: list[tuple[str, Line]] = field(default_factory=list)  # (file, line), sent first
    silent_days: int = 0                # no history in the last n days, nothing live
    night_off: bool = False             # the collector is off from 00:00 to 07:00 (history)
    # file -> seconds its device's clock runs ahead, in turn, since today (no NTP after a firmware update):
    # live lines only, so the history stays in the past days where the story counts it
    clock_ahead: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def host(self, role: str) -> str:
        return f"{self.code.lower()}-{role}-01"


def benign_web(prov: str) -> list[Line]:
    pages = ["/", "/tin-tuc/thong-bao", "/dich-vu-cong", "/static/css/site.css", "/lien-he", "/tra-cuu?ma=12345"]
    ok = [web(f"10.{i}.20.{7 + i}", f"GET {p}") for i, p in enumerate(pages)]
    return [*ok, web("10.9.9.9", "GET /favicon.png", 404, 0)]


# CTO's firewall: its clock runs ahead, within the ingest's future tolerance (SOC_INGEST_FUTURE_TOLERANCE_SECONDS),
# so its lines are stored, and readiness sees them dated after their arrival; once, hours ahead.
CTO_CLOCK_AHEAD_S = (400.0, 560.0)
CTO_FAR_AHEAD_S = 3 * 3600      # beyond it


def provinces() -> list[Province]:
    hni, hcm, dng, hpg, cto, hue = "HNI", "HCM", "DNG", "HPG", "CTO", "HUE"
    return [
        Province(hni, {
            "auth.log": [syslog("hni-web-01", b) for b in SSHD],
            "access.log": benign_web(hni),
            "firewall.log": [ufw("10.1.2.3", 443, "ALLOW"), ufw("10.1.2.4", 53, "ALLOW")],
            "security.log": [logon("HNI-DC01", "nguyen.van.a", "10.1.5.20")],
        }, attacks=[
            *(("auth.log", syslog("hni-web-01", f"sshd[42]: Failed password for root from 203.0.113.77 port {p} ssh2"))
              for p in range(40000, 40008)),
            ("access.log", web("203.0.113.30", "GET /tin.php?id=1%27%20UNION%20SELECT%20user,password%20FROM%20u--")),
            ("access.log", web("203.0.113.30", "GET /tra-cuu?ma=1%27%20or%20%271%27=%271")),
            *(("access.log", web("203.0.113.36", f"GET /?id={i}", 200, 0, "sqlmap/1.7.2#stable (https://sqlmap.org)"))
              for i in range(3)),
        ]),
        Province(hcm, {
            "auth.log": [syslog("hcm-app-01", b) for b in LINUX],
            "access.log": benign_web(hcm),
            "security.log": [logon("HCM-DC01", "tran.thi.b", "10.2.5.21")],
        }, attacks=[
            ("access.log", web("198.51.100.23", "GET /download?file=..%2F..%2F..%2Fetc%2Fpasswd")),
            ("access.log", web("198.51.100.23", "GET /static/../../../../etc/shadow", 400, 0)),
            *(("access.log", web("198.51.100.23", f"GET /admin{i}.php", 404, 0)) for i in range(35)),
            *(("security.log", logon("HCM-DC01", "Administrator", "198.51.100.20", ok=False)) for _ in range(12)),
        ]),
        Province(dng, {
            "auth.log": [syslog("dng-web-01", b) for b in SSHD[1000:]] or [syslog("dng-web-01", SSHD[0])],
            "firewall.log": [ufw("10.3.2.3", 443, "ALLOW"), ufw("10.3.2.9", 123, "ALLOW")],
            # An appliance whose format no parser knows: its lines arrive as "generic" (parsed share).
            "appliance.log": [syslog("dng-gw-01", "acmegw: 2026 sess=81723 zone=dmz verdict=pass bytes=5120")],
        }, attacks=[
            *(("firewall.log", ufw("198.51.100.40", port)) for port in
              (21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1723, 3306, 3389, 5900,
               8080, 8443)),
            *(("auth.log", syslog("dng-web-01", f"sshd[811]: Failed password for root from 192.0.2.45 port {p} ssh2"))
              for p in range(4242, 4248)),
            ("auth.log", syslog("dng-web-01", "sshd[811]: Accepted password for root from 192.0.2.45 port 4300 ssh2")),
        ]),
        Province(hpg, {
            "syslog": [syslog("hpg-srv-01", b) for b in LINUX[1000:]] or [syslog("hpg-srv-01", LINUX[0])],
            "apache-error.log": [apache_error(b) for b in APACHE],
            "firewall.log": [ufw("10.4.2.3", 443, "ALLOW")],
        }, attacks=[
            *(("syslog", syslog("hpg-srv-01", "su[5521]: FAILED SU (to root) hoang on pts/0")) for _ in range(3)),
            ("syslog", syslog("hpg-srv-01", "usermod[5530]: add 'hoang' to group 'sudo'")),
        ], night_off=True),
        Province(cto, {
            "auth.log": [syslog("cto-web-01", b) for b in SSHD[500:1500]] or [syslog("cto-web-01", SSHD[0])],
            "access.log": benign_web(cto),
            "security.log": [logon("CTO-DC01", "le.van.c", "10.5.5.22")],
            "firewall.log": [ufw("10.5.2.3", 443, "ALLOW"), ufw("10.5.2.4", 53, "ALLOW")],
        }, attacks=[
            ("access.log", web("203.0.113.34", "GET /uploads/anh.php?cmd=id", 200, 40, "python-requests/2.31")),
            ("security.log", windows(1102, "CTO-DC01", {"SubjectUserName": "attacker"})),
            ("access.log", web("203.0.113.31", "GET /tin-tuc.php?id=1%20union%20select%20@@version")),
            # ... and once it was hours ahead: beyond the tolerance, refused to the dead-letter index.
            *(("firewall.log", ahead(ufw("10.5.2.3", 443, "ALLOW"), CTO_FAR_AHEAD_S)) for _ in range(3)),
        ], clock_ahead={"firewall.log": CTO_CLOCK_AHEAD_S}),
        Province(hue, {
            "auth.log": [syslog("hue-web-01", b) for b in SSHD[:500]],
            "access.log": benign_web(hue),
        }, silent_days=5),
    ]


# ---- writing ---------------------------------------------------------------------------------------

def write_history(prov: Province, folder: Path, days: int, now: datetime, rng: random.Random) -> int:
    """A few ordinary lines per source and hour, for each of the last ``days`` full local days."""
    today = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    written = 0
    for name, lines in prov.quiet.items():
        with (folder / name).open("a", encoding="utf-8") as fh:
            for back in range(days, prov.silent_days, -1):
                for hour in range(24):
                    if prov.night_off and hour < 7:
                        continue
                    for minute in sorted(rng.sample(range(60), 2)):
                        moment = today - timedelta(days=back) + timedelta(hours=hour, minutes=minute,
                                                                          seconds=rng.randrange(60))
                        fh.write(rng.choice(lines)(moment) + "\n")
                        written += 1
    return written


def live_script(prov: Province, background: int) -> list[tuple[str, Line]]:
    """The province's attacks, then its ordinary traffic: its sources in turn, each in corpus order."""
    if prov.silent_days:
        return []
    quiet: list[tuple[str, Line]] = []
    for i in range(background):
        name = list(prov.quiet)[i % len(prov.quiet)]
        lines = prov.quiet[name]
        line = lines[(i // len(prov.quiet)) % len(lines)]
        skews = prov.clock_ahead.get(name)
        quiet.append((name, ahead(line, skews[(i // len(prov.quiet)) % len(skews)]) if skews else line))
    return prov.attacks + quiet


def replay(scripts: dict[Path, list[tuple[str, Line]]], rate: float) -> None:
    """Each tick, every province writes its next line, stamped with the current time."""
    for step in range(max(len(script) for script in scripts.values())):
        for folder, script in scripts.items():
            if step < len(script):
                name, line = script[step]
                with (folder / name).open("a", encoding="utf-8") as fh:
                    fh.write(line(datetime.now(UTC)) + "\n")
        time.sleep(1 / rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="one folder per province is written here")
    parser.add_argument("--days", type=int, default=30, help="days of history before today")
    parser.add_argument("--rate", type=float, default=10.0, help="live lines per second and province")
    parser.add_argument("--lines", type=int, default=600, help="ordinary live lines per province")
    args = parser.parse_args()
    rng, now = random.Random(2026), datetime.now(UTC)
    history, scripts = {}, {}
    for prov in provinces():
        folder = args.dir / prov.code
        folder.mkdir(parents=True, exist_ok=True)
        history[prov.code] = write_history(prov, folder, args.days, now, rng)
        scripts[folder] = live_script(prov, args.lines)
    (args.dir / "history.json").write_text(json.dumps({"days": args.days, "lines": history}))
    print(f"demo: {sum(history.values())} lines of history for {len(history)} provinces; live replay started",
          flush=True)
    replay(scripts, args.rate)
    live = {folder.name: len(script) for folder, script in scripts.items()}
    (args.dir / "live.json").write_text(json.dumps({"lines": live}))
    print("demo: live replay finished (the platform keeps running)", flush=True)


if __name__ == "__main__":
    main()
