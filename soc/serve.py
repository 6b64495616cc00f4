"""``python -m soc.serve``: the web tier on one port, as ``make dev``, the tests, docker-compose and the
benchmarks run it.

uvicorn (HTTP parsed in C, uvloop) in ``--workers`` processes; in each, WebSockets and async views (ingest)
run on the event loop and synchronous views in a pool of ``SOC_WEB_THREADS`` threads (soc/asgi.py).
Measured on 2 cores against the alternatives (docs/performance.md, "Serving HTTP").
"""

from __future__ import annotations

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m soc.serve", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SOC_WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SOC_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SOC_WEB_WORKERS", "0")) or None,
                        help="processes (default SOC_WEB_WORKERS, else one per core)")
    parser.add_argument("--proxy-headers", action="store_true",
                        help="trust X-Forwarded-For/-Proto from FORWARDED_ALLOW_IPS (behind a load balancer)")
    args = parser.parse_args(argv)
    workers = args.workers or os.cpu_count() or 1
    uvicorn.run("soc.asgi:application", host=args.host, port=args.port, workers=workers,
                proxy_headers=args.proxy_headers, access_log=False,
                log_level=os.environ.get("SOC_WEB_LOG_LEVEL", "warning"))


if __name__ == "__main__":
    main()
