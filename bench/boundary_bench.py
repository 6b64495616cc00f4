"""CPU per event of the ingest's preparation (trust boundary, enrichment, serialisation), here and in another checkout.

What the ingest does to every event before the bulk (``collectors.ingest._prepare``): read the document's
shape (``collectors.boundary``: dotted keys, field bound), write the server-owned fields, place it by its
time, serialise it. Measured in-process, CPU seconds over many events, on real documents as the agent sends
them: sshd lines from the loghub corpus and Windows events from the SigmaHQ regression samples, parsed by the
collector's own parsers, each given a time in the live days (older would be back-fill, which costs the same).
Also a document with dotted keys, the slow path that is walked and rewritten.

``--baseline DIR`` runs the same measurement in another checkout (e.g. the commit before the boundary), in
turns, so both see the same machine:

    git worktree add /tmp/base <commit> && ln -s $PWD/.venv /tmp/base/.venv
    .venv/bin/python bench/boundary_bench.py --baseline /tmp/base
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cli, report

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SOC_CORPUS", ROOT.parent / "shared" / "corpus"))

# Runs inside a checkout (cwd): only names both sides have (``_Batch.of``, ``_prepare``) are used.
MEASURE = r'''
import json, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
import django
django.setup()
from collectors import ingest
from collectors.agent.parsers import parse_json_record, parse_line
from collectors.agent.parsers.base import ParseContext
from collectors.models import Collector
from organisations.models import Organisation

corpus, count = Path(sys.argv[1]), int(sys.argv[2])
now = datetime.now(UTC)
ctx = ParseContext(host="hni-web-01")
sshd = [parse_line(line, ctx) for line in (corpus / "loghub/OpenSSH/OpenSSH_2k.log").read_text().splitlines()]
windows = []
for path in sorted((corpus / "sigma/regression_data").rglob("*.json"))[:300]:
    try:
        windows.append(parse_json_record(json.loads(path.read_text()), ctx))
    except (ValueError, UnicodeDecodeError):
        continue
dotted = [{"@timestamp": "", "source.ip": "203.0.113.9", "user.name": "root", "event.action": "login",
           "organization.id": "HCM", "agent": {"name": "forged"}}]
org = Organisation(code="HNI", name="Hà Nội", path="/VN/HNI/")
collector = Collector(name="HNI-WEB-01", organisation=org)
out = {}
for name, docs in (("sshd", sshd), ("windows", windows), ("dotted", dotted)):
    texts = []
    for n in range(count):
        doc = dict(docs[n % len(docs)])
        doc["@timestamp"] = (now - timedelta(seconds=n % 3600)).isoformat()
        texts.append(json.dumps(doc))
    items = [{"id": f"b:{n}", "doc": json.loads(text)} for n, text in enumerate(texts)]
    batch = ingest._Batch.of(collector, now, 0.0)
    began = time.process_time()
    for item in items:
        ingest._prepare(batch, item)
    out[name] = (time.process_time() - began) / count * 1e6
print(json.dumps(out))
'''


def measure(checkout: Path, count: int) -> dict[str, float]:
    env = {**os.environ, "SOC_PROFILE": "test", "DJANGO_SETTINGS_MODULE": "soc.settings", "SOC_NAMESPACE": "bbench"}
    done = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", MEASURE, str(CORPUS), str(count)], cwd=checkout,
                          env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = cli(__doc__, short="5,000 events per kind, one round")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure in turns")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    count, rounds = (5_000, 1) if args.short else (30_000, args.rounds)
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for _ in range(rounds):
        if args.baseline:
            theirs.append(measure(args.baseline, count))
        ours.append(measure(ROOT, count))
    figures: dict[str, float] = {}
    for kind in ours[0]:
        figures[f"{kind}_us_per_event"] = round(min(r[kind] for r in ours), 2)
        if theirs:
            figures[f"{kind}_baseline_us"] = round(min(r[kind] for r in theirs), 2)
    report("boundary_bench", figures, target="the boundary's cost per event stated, side by side")


if __name__ == "__main__":
    main()
