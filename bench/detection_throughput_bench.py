"""Detection throughput: 500 enabled Sigma rules over an index of 1,000,000 events.

Loads 1,000,000 synthetic ECS events (Sysmon process creation, sshd, web access) into the
production event template, all inside one rule window, imports the first 500 SigmaHQ rules
that convert for our data, then measures one detection cycle exactly as the workers run it
(``rules_run`` on batches of 50 rules, one ``_msearch`` each, alerts written), sequentially
and with four batches at once, and compares it with running each rule as its own search.

    SOC_BENCH_EVENTS=1000000 SOC_BENCH_RULES=500 .venv/bin/python bench/detection_throughput_bench.py
"""

from __future__ import annotations

import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SOC_ES_PREFIX", "bench-detection-")  # its own indices: other benches keep theirs

from bench.common import cli, machine, report, short_mode  # noqa: E402
from bench.harness import django_setup  # noqa: E402

EVENTS = int(os.environ.get("SOC_BENCH_EVENTS", "100000" if short_mode() else "1000000"))
RULES = int(os.environ.get("SOC_BENCH_RULES", "100" if short_mode() else "500"))
BATCH = 50
SIGMA_ROOT = ROOT.parent / "shared" / "corpus" / "sigma" / "rules"
PROGRAMS = ["svchost.exe", "explorer.exe", "chrome.exe", "msedge.exe", "outlook.exe", "teams.exe", "python.exe",
            "notepad.exe", "code.exe", "conhost.exe", "dllhost.exe", "RuntimeBroker.exe", "SearchApp.exe"]


def synthetic(n: int, moment: datetime, rng: random.Random) -> dict[str, Any]:
    kind = n % 10
    base: dict[str, Any] = {"@timestamp": moment.isoformat(), "organization": {"id": rng.choice(["HNI", "HCM", "DNG"])},
                            "host": {"name": f"ws-{rng.randrange(2000):04d}"}}
    if kind < 6:
        program = rng.choice(PROGRAMS)
        return base | {"event": {"code": "1", "dataset": "windows.sysmon"},
                       "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_data": {
                           "Image": f"C:\\Program Files\\App{rng.randrange(50)}\\{program}",
                           "CommandLine": f"\"{program}\" --profile {rng.randrange(10**6)} --flag-{rng.randrange(99)}",
                           "ParentImage": "C:\\Windows\\explorer.exe", "User": f"CORP\\user{rng.randrange(5000)}",
                           "OriginalFileName": program}}}
    if kind < 8:
        outcome = rng.choice(["success", "failure"])
        return base | {"event": {"dataset": "system.auth", "action": "ssh_login", "outcome": outcome},
                       "process": {"name": "sshd"}, "source": {"ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.1"},
                       "user": {"name": f"user{rng.randrange(5000)}"},
                       "message": f"{'Accepted' if outcome == 'success' else 'Failed'} password for user"}
    return base | {"event": {"dataset": "nginx.access", "category": ["web"]},
                   "url": {"original": f"/app/page{rng.randrange(10**4)}?q={rng.randrange(10**6)}"},
                   "http": {"request": {"method": "GET"},
                            "response": {"status_code": rng.choice([200, 200, 304, 404])}},
                   "user_agent": {"original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},
                   "source": {"ip": f"172.16.{rng.randrange(256)}.{rng.randrange(256)}"}}


def load_events(now: datetime) -> float:
    from elasticsearch.helpers import parallel_bulk

    from soc import es

    client = es.client().options(request_timeout=120)
    client.indices.delete(index=es.index_pattern("events"), ignore_unavailable=True, allow_no_indices=True)
    rng = random.Random(7)
    index = es.index_name("events", now)
    began = time.monotonic()
    actions = ({"_op_type": "create", "_index": index, "_id": f"b{n}",
                "_source": synthetic(n, now - timedelta(seconds=rng.uniform(5, 240)), rng)} for n in range(EVENTS))
    for ok, item in parallel_bulk(client, actions, chunk_size=5000, thread_count=6, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bulk item failed: {item}")
    client.indices.refresh(index=index)
    return time.monotonic() - began


def import_rules() -> list[int]:
    from detection.authoring import sigma_text_import
    from detection.models import DetectionRule
    from organisations.actors import Actor

    DetectionRule.objects.filter(kind__in=["sigma", "sigma_correlation"]).delete()
    ids: list[int] = []
    for path in sorted(SIGMA_ROOT.rglob("*.yml")):
        if len(ids) >= RULES:
            break
        line = sigma_text_import(path=str(path), text=path.read_text(encoding="utf-8"), actor=Actor.system())
        if line.imported and line.rule_id and DetectionRule.objects.filter(pk=line.rule_id, kind="sigma").exists():
            ids.append(line.rule_id)
        elif line.rule_id:
            DetectionRule.objects.filter(pk=line.rule_id).delete()  # correlations are not what we measure here
    DetectionRule.objects.filter(pk__in=ids).update(interval_seconds=5, lookback_seconds=300, max_alerts_per_run=50)
    return ids


def reset(ids: list[int], now: datetime) -> None:
    from detection.models import Alert, DetectionRule, RuleRun

    RuleRun.objects.filter(rule_id__in=ids).delete()
    Alert.objects.filter(rule_id__in=ids).delete()
    DetectionRule.objects.filter(pk__in=ids).update(checkpoint=now - timedelta(seconds=5), next_run_at=None,
                                                    consecutive_errors=0, last_error="")


def cycle(ids: list[int], now: datetime, parallel: int) -> tuple[float, int, int]:
    from django.db import connection

    from detection.services import rules_run

    batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]

    def run(batch: list[int]) -> list[Any]:
        try:
            return rules_run(rule_ids=batch, now=now)
        finally:
            connection.close()

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        runs = [r for result in pool.map(run, batches) for r in result]
    return time.monotonic() - began, sum(r.alerts for r in runs), sum(bool(r.error) for r in runs)


def one_search_per_rule(ids: list[int], now: datetime) -> float:
    from detection.matching import event_search_body
    from detection.models import DetectionRule
    from detection.services import rule_plan
    from soc import es

    client = es.client()
    began = time.monotonic()
    for rule in DetectionRule.objects.filter(pk__in=ids):
        plan = rule_plan(rule=rule, now=now)
        client.search(index=es.events_pattern(), ignore_unavailable=True,
                      **event_search_body(rule.compiled["query"], plan.window, rule.max_alerts_per_run + 1))
    return time.monotonic() - began


def msearch_only(ids: list[int], now: datetime) -> float:
    """The same searches as a cycle, batched 50 to an _msearch, without writing alerts."""
    from detection.models import DetectionRule
    from detection.services import _msearch_outcomes, rule_plan

    rules = list(DetectionRule.objects.filter(pk__in=ids))
    began = time.monotonic()
    for start in range(0, len(rules), BATCH):
        _msearch_outcomes([rule_plan(rule=r, now=now) for r in rules[start : start + BATCH]])
    return time.monotonic() - began


def main() -> None:
    cli(__doc__, short="100 rules over 100,000 events (SOC_BENCH_EVENTS and SOC_BENCH_RULES set any size)").parse_args()
    django_setup()
    from detection.models import DetectionRule
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    now = datetime.now(UTC)
    load_seconds = load_events(now)
    ids = import_rules()
    figures: dict[str, Any] = {"events": EVENTS, "rules": len(ids), "load_s": round(load_seconds, 1)}
    at = now + timedelta(seconds=3)
    one_search_per_rule(ids, at)  # warm caches once so neither way profits from going second
    for parallel in (1, 4):
        reset(ids, now)
        seconds, alerts, errors = cycle(ids, at, parallel)
        figures |= {f"cycle_{parallel}w_s": round(seconds, 2), f"alerts_{parallel}w": alerts,
                    f"errors_{parallel}w": errors}
    per_rule, batched = one_search_per_rule(ids, at), msearch_only(ids, at)
    DetectionRule.objects.filter(pk__in=ids).delete()  # leave no 500 enabled rules behind for other benchmarks
    figures |= {"one_search_per_rule_s": round(per_rule, 2), "msearch_searches_only_s": round(batched, 2),
                "ratio_per_rule_vs_msearch": round(per_rule / max(batched, 1e-9), 2),
                "ratio_per_rule_vs_cycle_1w": round(per_rule / max(figures["cycle_1w_s"], 1e-9), 2)}
    report(f"detection throughput ({len(ids)} Sigma rules, {EVENTS:,} events)", figures | machine(),
           target="cycle <= 10 s")


if __name__ == "__main__":
    main()
