#!/usr/bin/env python3
"""Replay real sshd lines into a log file with today's timestamps (for `make dev`).

The demo collector tails that file, so a brute-force incident appears within
seconds. Lines come from the loghub OpenSSH sample in ../shared/corpus when
present, else from a short built-in attack.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "loghub" / "OpenSSH" / "OpenSSH_2k.log"
BUILT_IN = [f"sshd[4242]: Failed password for root from 203.0.113.77 port {40000 + i} ssh2" for i in range(8)]
HEADER = re.compile(r"^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \S+ ")


def bodies() -> list[str]:
    if CORPUS.exists():
        return [HEADER.sub("", line.rstrip("\n")) for line in CORPUS.open(encoding="utf-8", errors="replace")]
    return BUILT_IN


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=20.0, help="lines per second")
    parser.add_argument("--host", default="hni-web-01")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    with args.out.open("a", encoding="utf-8") as fh:
        for body in bodies():
            stamp = datetime.now(tz).strftime("%b %e %H:%M:%S")
            fh.write(f"{stamp} {args.host} {body}\n")
            fh.flush()
            time.sleep(1 / args.rate)


if __name__ == "__main__":
    main()
