"""Server-side figures for the benchmarks, read from the platform's own /metrics endpoint (soc/metrics.py).

A benchmark starts its web process with ``SOC_METRICS_TOKEN`` set (``TOKEN`` below is the benchmarks' own),
then asks for what the server saw while it measured from outside:

    samples = scrape(f"http://127.0.0.1:{port}", TOKEN)
    samples.value("soc_detection_rule_cycle_seconds", quantile="0.95")
    samples.by_label("soc_ingest_lag_seconds", "province", quantile="0.95")   # {"HNI": 0.8, ...}

Each figure is the server's view at scrape time (ingest over the last minute, rule runs over the last five);
with ``SOC_METRICS_CACHE_SECONDS=0`` in the benchmark's environment each scrape reads the sources afresh.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

# Only the benchmarks' own processes, on loopback, ever hold it.
TOKEN = "bench-metrics-token-not-a-secret"


@dataclass
class Samples:
    """Every sample of one scrape: (name, sorted labels) -> value."""

    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float | None:
        return self.values.get((name, tuple(sorted(labels.items()))))

    def by_label(self, name: str, label: str, **labels: str) -> dict[str, float]:
        """The samples of ``name`` that carry ``labels``, keyed by their ``label`` (e.g. province)."""
        found = {}
        for (sample_name, pairs), value in self.values.items():
            named = dict(pairs)
            if sample_name == name and label in named and all(named.get(k) == v for k, v in labels.items()):
                found[named[label]] = value
        return found


def parse(text: str) -> Samples:
    samples = Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(base_url: str, token: str = TOKEN, timeout: float = 10) -> Samples:
    request = urllib.request.Request(f"{base_url.rstrip('/')}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return parse(response.read().decode())
