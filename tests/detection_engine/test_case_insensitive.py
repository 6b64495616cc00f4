"""Sigma matches regardless of case; group keys and province codes keep theirs."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from detection.models import Alert
from detection.services import rule_run
from soc.es import caseless_field
from tests.detection_engine.conftest import Index, ago, event, make_rule

MIMIKATZ = """
title: Mimikatz on the command line
logsource: {product: windows, category: process_creation}
detection:
    sel:
        CommandLine|contains: 'mimikatz'
    condition: sel
level: high
tags: [attack.credential-access, attack.t1003.001]
"""


def process(moment_ago: float, command: str) -> dict[str, object]:
    return event(ago(moment_ago), winlog__channel="Microsoft-Windows-Sysmon/Operational", event__code="1",
                 winlog__event_data__CommandLine=command, host__name="WS-Admin-01")


def test_dynamic_strings_are_searched_on_their_lowercase_subfield_and_typed_fields_as_they_are() -> None:
    assert caseless_field("user.name") == "user.name.lc"
    assert caseless_field("message") == "message.lc"
    assert caseless_field("source.ip") == "source.ip"
    assert caseless_field("organization.id") == "organization.id"


@pytest.mark.django_db
def test_a_sigma_rule_matches_whatever_the_case_of_the_event(es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="mimikatz", kind="sigma", params={"yaml": MIMIKATZ})
    index(process(30, r"C:\Tools\MIMIKATZ.EXE privilege::debug"), process(20, "MimiKatz.exe"),
          process(10, "notepad.exe"))

    run = rule_run(rule_id=rule.pk)

    assert run is not None and run.error == "" and run.alerts == 2
    assert rule.severity == "high" and rule.techniques == ["T1003.001"]


@pytest.mark.django_db
def test_threshold_group_keys_and_province_codes_keep_their_case(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="failures per user", kind="threshold",
                     params={"query": "event.outcome:failure", "group_by": ["user.name"], "count": 3,
                             "window_seconds": 120})
    index(*[event(ago(40 - i), user__name="Admin", event__outcome="failure") for i in range(3)])

    rule_run(rule_id=rule.pk)

    [alert] = Alert.objects.all()
    assert alert.group == {"organization.id": "HNI", "user.name": "Admin"}
    assert alert.entity_value == "Admin" and alert.province.code == "HNI"


REGEXES = """
title: curl with a custom header
logsource: {product: windows, category: process_creation}
detection:
    header:
        CommandLine|re: '\\s-H\\s'
    ntlm:
        CommandLine|re: '(?i)\\s(-u|--user)\\s*:'
    condition: header or ntlm
"""


@pytest.mark.django_db
def test_sigma_regexes_match_inside_values_and_honour_the_case_flag(
        es: Elasticsearch, orgs: None, index: Index) -> None:
    rule = make_rule(name="curl", kind="sigma", params={"yaml": REGEXES})
    index(process(30, 'curl.exe  -H "User-Agent: x" http://a'), process(25, "CURL --USER : --ntlm http://b"),
          process(20, "curl -h http://c"), process(15, "curl --userx http://d"))

    run = rule_run(rule_id=rule.pk)

    assert run is not None and run.error == ""
    assert run.alerts == 2
