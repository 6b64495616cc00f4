"""convert_rule: queries in our field names, metadata, and clear problems instead of exceptions."""

from __future__ import annotations

import pytest

from detection.sigma import convert_rule

WINDOWS_RULE = """
title: Whoami
id: 11111111-1111-4111-8111-111111111111
status: test
level: high
tags: [attack.discovery, attack.t1033, attack.g0016]
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\\\\whoami.exe'
        CommandLine|contains: '/all'
        EventID: 1
    condition: selection
"""


def test_it_maps_windows_fields_to_winlogbeat_event_data() -> None:
    rule = convert_rule(WINDOWS_RULE)
    assert rule.ok, rule.problems
    assert rule.lucene is not None
    assert "winlog.event_data.CommandLine.lc:" in rule.lucene
    assert "winlog.event_data.NewProcessName.lc:" in rule.lucene  # Security 4688 spelling too
    assert "event.code.lc:" in rule.lucene and "winlog.channel.lc:" in rule.lucene
    assert rule.query == {"query_string": {"query": rule.lucene, "analyze_wildcard": True,
                                           "lenient": True, "default_field": "message.lc"}}


def test_it_reads_metadata_and_mitre_tags() -> None:
    rule = convert_rule(WINDOWS_RULE)
    assert (rule.title, rule.level, rule.status) == ("Whoami", "high", "test")
    assert rule.id == "11111111-1111-4111-8111-111111111111"
    assert rule.techniques == ["T1033"]
    assert rule.tactics == ["discovery"]
    assert rule.logsource == {"product": "windows", "category": "process_creation"}


def test_it_maps_windows_services_to_channels() -> None:
    text = WINDOWS_RULE.replace("category: process_creation", "service: security")
    assert 'winlog.channel.lc:Security' in (convert_rule(text).lucene or "")


def test_regex_values_keep_the_exact_field_because_sigma_regexes_are_case_sensitive() -> None:
    text = WINDOWS_RULE.replace("CommandLine|contains: '/all'", "CommandLine|re: 'Who[a-z]+'")
    lucene = convert_rule(text).lucene or ""
    assert "winlog.event_data.CommandLine:/.*(Who[a-z]+).*/" in lucene


def test_it_reports_bad_yaml_with_its_line() -> None:
    rule = convert_rule("title: x\ndetection:\n  sel: [a\n  condition: sel\n")
    assert not rule.ok
    assert rule.problems[0].kind == "yaml"
    assert rule.problems[0].line == 4


def test_it_reports_an_invalid_rule_without_raising() -> None:
    rule = convert_rule("title: no detection\nlogsource: {product: linux}\n")
    assert not rule.ok
    assert rule.problems[0].kind == "invalid"


def test_it_rejects_log_sources_we_do_not_collect() -> None:
    text = WINDOWS_RULE.replace(
        "product: windows, category: process_creation", "product: aws, service: cloudtrail"
    )
    problem = convert_rule(text).problems[0]
    assert problem.kind == "logsource"
    assert "aws" in problem.message and problem.line == 7


def test_it_names_the_field_our_collectors_do_not_produce() -> None:
    text = """
title: web
logsource: {category: webserver}
detection:
    sel:
        cs-uri-query|contains: '/../'
        cs-cookie: 'x'
    condition: sel
"""
    problem = convert_rule(text).problems[0]
    assert (problem.kind, problem.field, problem.line) == ("field", "cs-cookie", 7)


def test_it_maps_web_fields_and_selects_access_logs() -> None:
    text = """
title: web
logsource: {category: webserver}
detection:
    sel:
        cs-uri-query|contains: '/../'
        sc-status: 200
    condition: sel
"""
    lucene = convert_rule(text).lucene or ""
    assert "url.original.lc:" in lucene and "http.response.status_code:200" in lucene
    assert "event.dataset.lc:(apache.access OR nginx.access OR web.access)" in lucene


CORRELATION = """
title: failed ssh
name: failed_ssh
logsource: {product: linux, service: sshd}
detection:
    sel:
        - 'Failed password'
    condition: sel
---
title: many failed logins from one address
id: 22222222-2222-4222-8222-222222222222
level: high
correlation:
    type: value_count
    rules: [failed_ssh]
    group-by: [SourceIp]
    timespan: 5m
    condition: {gte: 3, field: User}
"""


def test_it_turns_a_correlation_into_an_ecs_spec() -> None:
    rule = convert_rule(CORRELATION)
    assert rule.ok, rule.problems
    spec = rule.correlation
    assert spec is not None and rule.query is None
    assert (spec.type, spec.op, spec.count, spec.timespan_seconds) == ("value_count", "gte", 3, 300)
    assert spec.group_by == ("SourceIp",)
    assert spec.rules[0].group_fields == ("source.ip",)
    assert spec.rules[0].value_field == "user.name"
    assert "process.name.lc:sshd" in spec.rules[0].lucene


def test_it_explains_an_unresolvable_correlation_reference() -> None:
    text = CORRELATION.split("---")[1].replace("failed_ssh", "nowhere")
    assert not convert_rule(text).ok


@pytest.mark.parametrize(("sigma", "lucene", "caseless"), [
    (r"\s-H\s", ".*([ \t\r\n\f\v]-H[ \t\r\n\f\v]).*", False),
    (r"^cmd(?:\.exe)?$", r"(cmd(\.exe)?)", False),
    (r"(?i)\s(-u|--user)\s*:", ".*([ \t\r\n\f\v](-u|--user)[ \t\r\n\f\v]*:).*", True),
    (r"a@b|c+?", r".*(a\@b|c+).*", False),
    (r"\bpass\d{2}", ".*(pass[0-9]{2}).*", False),
])
def test_sigma_regexes_become_lucene_regexes_that_match_the_same_values(
        sigma: str, lucene: str, caseless: bool) -> None:
    from detection.sigma.lucene_regex import to_lucene

    assert to_lucene(sigma) == (lucene, caseless)
