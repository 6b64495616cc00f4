"""import_folder on the SigmaHQ corpus and on a folder with broken files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from detection.sigma import import_folder


def test_it_imports_the_sigmahq_linux_and_web_rules_our_data_can_match(sigma_rules: Path) -> None:
    report = import_folder(sigma_rules / "web")
    report.results += import_folder(sigma_rules / "linux" / "builtin").results

    # Everything not imported is a log source no collector feeds (web proxies), never a field or a bug.
    assert len(report.imported) >= 30, report.summary()
    assert len(report.imported) + report.reasons()["logsource"] == len(report.results), report.summary()


@pytest.mark.slow
def test_it_imports_the_sigmahq_rules_our_data_can_match(sigma_rules: Path) -> None:
    # CPU time, not wall time: the budget is about our conversion cost, not about a busy machine.
    started = time.process_time()
    report = import_folder(sigma_rules)
    elapsed = time.process_time() - started
    reasons = report.reasons()
    assert len(report.results) >= 3000
    # Rejections are log sources we do not collect (cloud, macOS, auditd...) plus a handful of
    # field references and fields our collectors do not write; SigmaHQ rules themselves are valid.
    assert len(report.imported) >= 2400, report.summary()
    assert len(report.imported) + reasons["logsource"] >= 3100, report.summary()
    assert reasons["yaml"] == 0 and reasons["invalid"] == 0, report.summary()
    assert reasons["field"] + reasons["conversion"] <= 20, report.summary()
    assert elapsed < 40, f"import took {elapsed:.1f}s of CPU"


def test_it_says_why_each_broken_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("title: x\ndetection: [\n")
    (tmp_path / "cloud.yml").write_text(
        "title: c\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventName: X}, condition: sel}\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "ok.yaml").write_text(
        "title: ok\nlogsource: {product: linux, service: sudo}\n"
        "detection: {sel: ['COMMAND=/bin/sh'], condition: sel}\n")
    report = import_folder(tmp_path)
    by_name = {r.path.name: r for r in report.results}
    assert by_name["ok.yaml"].imported
    assert by_name["broken.yml"].rule.problems[0].kind == "yaml"
    assert by_name["cloud.yml"].rule.problems[0].kind == "logsource"
    assert report.summary() == "1 of 3 rules imported; rejected: yaml 1, logsource 1"
