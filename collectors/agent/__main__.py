"""The collector's command line.

    python -m collectors.agent run --url https://soc.example/api/v1 --secret-file /etc/soc/secret \\
        --path '/var/log/auth.log*' --state-dir /var/lib/soc-agent

Lines are parsed to ECS here, at the edge, and shipped in gzip batches. A
file's offset moves forward only past lines the central side confirmed as
stored (created, duplicate, or dead-lettered); anything else is resent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from collectors.agent import __version__
from collectors.agent.parsers import parse_line
from collectors.agent.parsers.base import ParseContext
from collectors.agent.tail import Line, OffsetStore, expand, file_identity, read_new_lines

log = logging.getLogger("soc-agent")
STORED = {"created", "duplicate", "rejected"}


class Shipper:
    def __init__(self, url: str, secret: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/ingest/events"
        self.secret = secret
        self.timeout = timeout

    def send(self, events: list[dict[str, Any]]) -> dict[str, str]:
        """POST one batch; returns status per event id. Raises on transport errors."""
        body = gzip.compress(json.dumps({"events": events}).encode(), compresslevel=5)
        request = urllib.request.Request(self.url, data=body, method="POST", headers={  # noqa: S310
            "Authorization": f"Bearer {self.secret}", "Content-Type": "application/json",
            "Content-Encoding": "gzip", "User-Agent": f"soc-agent/{__version__}",
        })
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - URL from config
            results = json.load(response)["results"]
        return {r["id"]: r["status"] for r in results}


def acknowledged_prefix(lines: list[Line], statuses: dict[str, str]) -> int:
    """How many lines, from the first, are confirmed stored: the offset may advance past them only."""
    count = 0
    for line in lines:
        if statuses.get(line.event_id) not in STORED:
            break
        count += 1
    return count


def ship_file(path: str, store: OffsetStore, shipper: Shipper, ctx: ParseContext, batch: int) -> int:
    """Ship what is new in one file; returns lines confirmed."""
    lines = read_new_lines(path, store.get(file_identity(path)), batch)
    if not lines:
        return 0
    events = [{"id": line.event_id, "doc": parse_line(line.text, ctx)} for line in lines]
    statuses = shipper.send(events)
    done = acknowledged_prefix(lines, statuses)
    if done:
        store.commit(lines[0].file_id, lines[done - 1].end)
    return done


def run(args: argparse.Namespace) -> None:
    shipper = Shipper(args.url, Path(args.secret_file).read_text().strip())
    store = OffsetStore(Path(args.state_dir))
    ctx = ParseContext(host=args.hostname or socket.gethostname())
    backoff = 1.0
    while True:
        shipped = 0
        try:
            for path in expand(args.path):
                shipped += ship_file(path, store, shipper, ctx, args.batch)
            backoff = 1.0
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            log.warning("shipping failed (%s); retrying in %.1fs", exc, backoff)
            time.sleep(backoff * (0.5 + random.random()))  # jitter: 680 agents must not retry in step
            backoff = min(backoff * 2, 60.0)
            continue
        if shipped:
            log.info("shipped %d events", shipped)
        elif args.once:
            return
        else:
            time.sleep(args.poll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soc-agent", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="tail files and ship them")
    run_p.add_argument("--url", required=True, help="central API base, e.g. https://soc/api/v1")
    run_p.add_argument("--secret-file", required=True)
    run_p.add_argument("--path", action="append", required=True, help="file or glob; repeatable")
    run_p.add_argument("--state-dir", required=True)
    run_p.add_argument("--hostname", default="")
    run_p.add_argument("--batch", type=int, default=500)
    run_p.add_argument("--poll", type=float, default=0.5)
    run_p.add_argument("--once", action="store_true", help="exit when everything is shipped")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
