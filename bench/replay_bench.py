"""Replay: SigmaHQ's Windows regression samples sent through the agent as history, with ~3,000 rules enabled.

What it does, on the bench database and its own indices:

1. enables the SigmaHQ rules (rules/windows, rules-threat-hunting/windows and rules-emerging-threats of the
   corpus, every level and status: ~3,000 rules) plus the starter pack; with --short only the rules the
   regression samples name (~200);
2. enrols a collector and runs the real agent over the samples' .evtx files with ``--once``, through the
   real ingest (uvicorn): the samples are years old, so the ingest stores them as back-fill;
3. runs detection cycles in this process exactly as the worker does (due rules, batches of 50, one
   ``_msearch`` per batch, alerts and incidents written) until alerts stop coming, then a few more cycles.

It prints: the fraction of samples whose own rule fired on the sample's own events (target >= 95 %), the time
from the end of the replay to the last alert, worker CPU (this process) per 1,000 rule runs, and the
detection cycle's p50/p95 with all rules enabled. Not covered here: the 680-collector live load running at the
same time (bench/load_bench.py measures that load; the two are not combined).

    .venv/bin/python bench/replay_bench.py [--short]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SOC_ES_PREFIX", "bench-replay-")  # its own indices: other benches keep theirs

from bench import harness  # noqa: E402
from bench.common import cli, machine, p, report, short_mode  # noqa: E402
from bench.harness import Processes, bench_env, django_setup, free_port  # noqa: E402

# Its own database too: it deletes every rule and alert it finds, and other benchmarks' workers share soc_bench.
harness.DATABASE = "soc_bench_replay"

SIGMA = ROOT.parent / "shared" / "corpus" / "sigma"
RULE_FOLDERS = ["rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"]
QUIET_CYCLES = 3  # cycles without a new alert after the back-fill settled: detection has caught up
BATCH = 50


def main() -> None:
    cli(__doc__, short="only the ~200 rules the samples name").parse_args()
    if not (SIGMA / "regression_data").is_dir():
        print(f"SKIP: no corpus at {SIGMA}")
        return
    django_setup()
    from soc import es

    _clean(es)
    rules, import_s = _enable_rules(short_mode())
    uid, secret = _collector()
    with tempfile.TemporaryDirectory() as work:
        procs = Processes(Path(work) / "logs")
        try:
            port = free_port()
            procs.web(port)
            replay_s, replay_end = _replay(Path(work), port, secret)
        finally:
            procs.stop()
    cycles = _detect_until_quiet(replay_end)
    _report(uid, rules, import_s, replay_s, cycles)


def _clean(es: Any) -> None:
    from detection.models import Alert, DetectionRule
    from incidents.models import Incident

    Alert.objects.all().delete()
    DetectionRule.objects.all().delete()
    Incident.objects.filter(dedup_key__startswith="entity:").delete()
    Incident.objects.filter(dedup_key__startswith="rule:").delete()
    es.client().indices.delete(index=f"{os.environ['SOC_ES_PREFIX']}*", ignore_unavailable=True,
                               allow_no_indices=True, expand_wildcards="all")
    es.ensure_templates()


def _enable_rules(short: bool) -> tuple[int, float]:
    from detection.authoring import sigma_folder_import, sigma_text_import
    from detection.models import DetectionRule
    from detection.sigma.regression import regression_cases, rules_by_id
    from detection.starter import starter_rules_load
    from organisations.actors import Actor
    from organisations.services import organisation_tree_ensure

    organisation_tree_ensure()
    began = time.monotonic()
    actor = Actor.system()
    if short:
        by_id = rules_by_id([SIGMA / folder for folder in ("rules", "rules-threat-hunting", "rules-emerging-threats")])
        for case in regression_cases(SIGMA / "regression_data"):
            if case.rule_id in by_id:
                path = by_id[case.rule_id]
                sigma_text_import(path=str(path), text=path.read_text(encoding="utf-8"), actor=actor)
    else:
        for folder in RULE_FOLDERS:
            sigma_folder_import(folder=SIGMA / folder, actor=actor, enabled=True)  # no policy: every level on
    starter_rules_load(actor=actor)
    DetectionRule.objects.update(enabled=True)
    seconds = time.monotonic() - began
    count = DetectionRule.objects.filter(enabled=True).count()
    print(f"{count} rules enabled in {seconds:.0f} s")
    return count, seconds


def _collector() -> tuple[str, str]:
    """A new collector per run (names are unique per province): its uid and secret."""
    from collectors.services import collector_create
    from organisations.models import Organisation

    collector, secret = collector_create(organisation=Organisation.objects.get(code="HNI"),
                                         name=f"HNI-REPLAY-{int(time.time())}")
    return str(collector.uid), secret


def _replay(work: Path, port: int, secret: str) -> tuple[float, float]:
    """The agent over every sample .evtx, ``--once``; returns its duration and when it ended (epoch s)."""
    (work / "secret").write_text(secret)
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "collectors.agent", "run", "--url", f"http://127.0.0.1:{port}/api/v1",
         "--secret-file", str(work / "secret"), "--state-dir", str(work / "state"), "--hostname", "replay-bench",
         "--evtx", str(SIGMA / "regression_data" / "**" / "*.evtx"), "--once"],
        cwd=ROOT, env=bench_env(), capture_output=True, text=True, timeout=900, check=False)
    print(done.stdout[-800:], done.stderr[-800:])
    if done.returncode != 0:
        raise SystemExit(f"agent exited with {done.returncode}")
    return time.monotonic() - began, time.time()


def _detect_until_quiet(replay_end: float) -> dict[str, Any]:
    """Detection cycles as the worker runs them, until the back-fill settled and QUIET_CYCLES raised nothing."""
    from django.conf import settings
    from django.utils import timezone

    from detection.models import Alert
    from detection.services import due_rule_ids, rules_run

    durations, runs, last_alert, quiet = [], 0, replay_end, 0
    cpu_began = time.process_time()
    settled = replay_end + settings.DETECTION_BACKFILL_SETTLE_SECONDS
    while quiet < QUIET_CYCLES or time.time() < settled:
        began, alerts_before = time.monotonic(), Alert.objects.count()
        ids = due_rule_ids(now=timezone.now())
        for start in range(0, len(ids), BATCH):
            runs += len(rules_run(rule_ids=ids[start:start + BATCH]))
        durations.append(time.monotonic() - began)
        if Alert.objects.count() > alerts_before:
            last_alert, quiet = time.time(), 0
        elif time.time() >= settled:
            quiet += 1
        time.sleep(max(0.0, settings.DETECTION_INTERVAL_SECONDS - durations[-1]))
    cpu = time.process_time() - cpu_began
    return {"durations": durations, "runs": runs, "cpu_s": cpu, "to_last_alert_s": last_alert - replay_end}


def _cases_fired(uid: str) -> tuple[int, int, list[str]]:
    """(samples whose own rule alerted on one of the sample's own events, samples whose rule is enabled, misses)."""
    from collectors.agent.evtx_input import event_id_of, read_records
    from detection.models import Alert, DetectionRule
    from detection.sigma.regression import regression_cases, rules_by_id

    by_id = rules_by_id([SIGMA / folder for folder in ("rules", "rules-threat-hunting", "rules-emerging-threats")])
    titles = {rid: _title(path) for rid, path in by_id.items()}
    fired_refs: dict[str, set[str]] = {}
    for name, refs in Alert.objects.values_list("rule__name", "event_refs"):
        fired_refs.setdefault(name, set()).update(ref.rsplit("/", 1)[-1] for ref in refs)
    enabled = set(DetectionRule.objects.filter(enabled=True).values_list("name", flat=True))
    fired, total, misses = 0, 0, []
    for info in sorted((SIGMA / "regression_data").rglob("info.yml")):
        case = next(iter(regression_cases(info.parent)), None)
        title = titles.get(case.rule_id) if case else None
        if title not in enabled:
            continue
        total += 1
        ids = {f"{uid}:{event_id_of(record, '')}" for evtx in info.parent.glob("*.evtx")
               for _, record in read_records(str(evtx))}
        if ids & fired_refs.get(title, set()):
            fired += 1
        else:
            misses.append(f"{info.parent.name} ({title})")
    return fired, total, misses


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("title:"):
            return line[6:].strip().strip("'\"")[:200]
    return path.stem


def _report(uid: str, rules: int, import_s: float, replay_s: float, cycles: dict[str, Any]) -> None:
    from detection.models import Alert, RuleRun

    fired, total, misses = _cases_fired(uid)
    if misses:
        print("samples whose own rule did not fire:\n  " + "\n  ".join(misses))
    durations = cycles["durations"]
    report("replay_bench", {
        "rules_enabled": rules, "import_s": round(import_s, 1), "replay_s": round(replay_s, 1),
        "samples_with_rule": total, "samples_fired": fired, "fired_pct": round(100 * fired / max(total, 1), 1),
        "to_last_alert_s": round(cycles["to_last_alert_s"], 1),
        "alerts": Alert.objects.count(), "rule_runs": cycles["runs"],
        "backfill_runs": RuleRun.objects.filter(backfill_pass=True).count(),
        "timed_out_runs": RuleRun.objects.filter(timed_out=True).count(),
        "cpu_s_per_1000_runs": round(1000 * cycles["cpu_s"] / max(cycles["runs"], 1), 2),
        "cycles": len(durations), "cycle_p50_s": round(p(durations, 50), 2), "cycle_p95_s": round(p(durations, 95), 2),
        **machine(),
    }, target="fired_pct >= 95; cycle_p95_s <= 10 (one worker process, sequential batches)")


if __name__ == "__main__":
    main()
