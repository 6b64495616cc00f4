"""The collector's command line.

    soc-agent enroll --url https://soc.example/api/v1 --token enr_... --name HNI-WEB-01 \\
        --secret-file /etc/soc-agent/secret
    soc-agent run --config /etc/soc-agent/agent.json
    soc-agent run --url https://soc.example/api/v1 --secret-file /etc/soc-agent/secret \\
        --path '/var/log/auth.log*' --state-dir /var/lib/soc-agent
    soc-agent status --state-dir /var/lib/soc-agent

Lines are parsed to ECS here, at the edge, written to the on-disk spool and
shipped in gzip batches; an event leaves the spool only once the central side
confirmed it stored (see runner.py).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from collectors.agent import __version__
from collectors.agent.config import ConfigError, load
from collectors.agent.runner import Agent
from collectors.agent.sender import Client, TransportError

STALE_AFTER = 30.0  # seconds without a status write: the agent is not running


def cmd_run(args: argparse.Namespace) -> int:
    inputs: list[dict[str, Any]] = []
    if args.path:
        inputs.append({"type": "file", "name": "files", "paths": args.path, "format": args.format})
    if args.evtx:
        inputs.append({"type": "evtx", "name": "evtx", "paths": args.evtx})
    if args.journald:
        inputs.append({"type": "journald", "name": "journald"})
    for n, port in enumerate(args.syslog_udp or []):
        inputs.append({"type": "syslog", "name": f"udp{n}", "protocol": "udp", "host": args.listen, "port": port})
    for n, port in enumerate(args.syslog_tcp or []):
        inputs.append({"type": "syslog", "name": f"tcp{n}", "protocol": "tcp", "host": args.listen, "port": port})
    flags = {"url": args.url, "secret_file": args.secret_file, "state_dir": args.state_dir,
             "hostname": args.hostname, "batch_size": args.batch, "senders": args.senders, "poll_seconds": args.poll,
             "spool_max_bytes": args.spool_max_bytes, "spool_policy": args.spool_policy,
             "heartbeat_seconds": args.heartbeat, "inputs": inputs}
    try:
        config = load(args.config, flags)
        agent = Agent(config)
    except (ConfigError, OSError, ValueError, TypeError) as exc:
        print(f"soc-agent: cannot start: {exc}", file=sys.stderr)
        return 2
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack to stderr
    signal.signal(signal.SIGTERM, lambda *_: agent.request_stop())
    signal.signal(signal.SIGINT, lambda *_: agent.request_stop())
    agent.run(once=args.once)
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    """Trade the one-time token for this collector's own credential, saved readable by us only."""
    secret_path = Path(args.secret_file)
    if secret_path.exists() and not args.force:
        print(f"soc-agent: {secret_path} exists; this host is enrolled (use --force to enroll again)",
              file=sys.stderr)
        return 1
    try:
        answer = Client(args.url, ca_file=args.ca_file).post(
            "/collectors/enroll", {"token": args.token, "name": args.name, "version": __version__})
    except TransportError as exc:
        print(f"soc-agent: enrollment refused: {exc}", file=sys.stderr)
        return 1
    secret_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = secret_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(answer["secret"] + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, secret_path)
    print(f"enrolled as collector {answer['collector_id']} of {answer['organisation']}; "
          f"credential saved to {secret_path}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    path = Path(args.state_dir) / "status.json"
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        print(f"soc-agent: no status at {path}: the agent has not run here", file=sys.stderr)
        return 3
    age = time.time() - float(status.get("written_at", 0))
    status["running"] = status.get("state", "running") == "running" and age < STALE_AFTER
    status["status_age_seconds"] = round(age, 1)
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(render_status(status))
    return 0 if status["running"] or status.get("state") == "finished" else 3


def render_state(status: dict[str, Any]) -> str:
    """running; finished (a --once run read and delivered everything); stopped; or gone without a word."""
    age, state = status["status_age_seconds"], status.get("state", "running")
    if status["running"]:
        return "running"
    if state == "finished":
        return f"finished {age}s ago: a one-off run read everything and the central side confirmed it"
    if state == "stopped":
        return f"stopped {age}s ago with {status.get('spool', {}).get('depth')} events unsent (kept in the spool)"
    return f"NOT running (last status {age}s ago; it did not stop cleanly)"


def render_central(central: dict[str, Any]) -> str:
    if central.get("ok"):
        return f"reachable (last answer {central.get('at')})"
    if not central:
        return "unknown (no heartbeat recorded)"
    return f"UNREACHABLE at {central.get('at', '?')}: {central.get('error') or 'no reason recorded'}"


def render_status(status: dict[str, Any]) -> str:
    spool = status.get("spool", {})
    counters = status.get("counters", {})
    lines = [
        f"soc-agent {status.get('version')} on {status.get('hostname')}: {render_state(status)}",
        f"central: {render_central(status.get('central') or {})}",
        "events: " + ", ".join(f"{k} {v}" for k, v in counters.items()),
        f"spool: {spool.get('depth')} events, {spool.get('bytes')} of {spool.get('limit')} bytes "
        f"({spool.get('policy')}), oldest unsent {status.get('oldest_unsent_age')}s",
        f"rate: {status.get('events_per_second')} events/s; drops {status.get('drops')}; "
        f"errors {status.get('errors')}" + (f" (last: {status['last_error']})" if status.get("last_error") else ""),
    ]
    for item in status.get("inputs", []):
        lines.append(f"input {item.get('name')}: " + ", ".join(f"{k}={v}" for k, v in item.items() if k != "name"))
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="soc-agent", description="National SOC log collector")
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="read inputs and ship them")
    run.add_argument("--config", help="JSON configuration file (flags override it)")
    run.add_argument("--url", help="central API base, e.g. https://soc/api/v1")
    run.add_argument("--secret-file")
    run.add_argument("--state-dir")
    run.add_argument("--path", action="append", help="file or glob to tail (** recurses); repeatable")
    run.add_argument("--format", choices=["text", "json"], default="text", help="of the --path files")
    run.add_argument("--evtx", action="append", help="exported Windows .evtx files (glob, ** recurses); repeatable")
    run.add_argument("--journald", action="store_true", help="read the systemd journal (off where there is none)")
    run.add_argument("--syslog-udp", type=int, action="append", help="listen for syslog on this UDP port")
    run.add_argument("--syslog-tcp", type=int, action="append", help="listen for syslog on this TCP port")
    run.add_argument("--listen", default="127.0.0.1", help="address of the syslog listeners")
    run.add_argument("--hostname")
    run.add_argument("--batch", type=int)
    run.add_argument("--senders", type=int, help="batches in flight at once (default 2)")
    run.add_argument("--poll", type=float)
    run.add_argument("--heartbeat", type=float)
    run.add_argument("--spool-max-bytes", type=int)
    run.add_argument("--spool-policy", choices=["block", "drop_oldest"])
    run.add_argument("--once", action="store_true", help="exit when everything read is confirmed")
    run.set_defaults(func=cmd_run)
    enroll = sub.add_parser("enroll", help="trade a one-time token for this collector's credential")
    enroll.add_argument("--url", required=True)
    enroll.add_argument("--token", required=True)
    enroll.add_argument("--name", required=True)
    enroll.add_argument("--secret-file", required=True)
    enroll.add_argument("--ca-file", default="")
    enroll.add_argument("--force", action="store_true")
    enroll.set_defaults(func=cmd_enroll)
    status = sub.add_parser("status", help="what the agent reports (from its status file); exit 0 when running "
                            "or when a --once run finished, 3 otherwise")
    status.add_argument("--state-dir", required=True)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
