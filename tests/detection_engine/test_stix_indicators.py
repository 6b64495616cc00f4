"""STIX 2.1 indicators are read with the OASIS pattern grammar: what the engine can match is used, the rest
is refused with its reason in the import report."""

from __future__ import annotations

import json

import pytest

from detection.indicators import indicators_import, read_stix
from detection.models import Indicator

SHA256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"


def bundle(*patterns: str) -> str:
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{n}", "name": f"ioc {n}",
         "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
        for n, pattern in enumerate(patterns, start=1)]})


def test_a_file_hash_with_a_quoted_algorithm_name_is_used_lowercased() -> None:
    read = read_stix(bundle(f"[file:hashes.'SHA-256' = '{SHA256}']"))

    assert [(i.type, i.value) for i in read.indicators] == [("hash", SHA256.lower())]
    assert read.problems == []


def test_an_or_of_an_address_and_a_domain_gives_both() -> None:
    read = read_stix(bundle("[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'Evil.Example']"))

    assert [(i.type, i.value) for i in read.indicators] == [("ip", "1.2.3.4"), ("domain", "evil.example")]
    assert read.problems == []


def test_or_across_observations_and_in_lists_give_every_value() -> None:
    read = read_stix(bundle("[ipv4-addr:value IN ('192.0.2.1', '198.51.100.0/24')] OR [url:value = 'http://x.test/a']"))

    assert [(i.type, i.value) for i in read.indicators] == [
        ("ip", "192.0.2.1"), ("ip", "198.51.100.0/24"), ("url", "http://x.test/a")]


def test_several_digests_of_one_file_are_each_used() -> None:
    read = read_stix(bundle(f"[file:hashes.'SHA-256' = '{SHA256}' AND file:hashes.MD5 = '{'c' * 32}']"))

    assert {i.value for i in read.indicators} == {SHA256.lower(), "c" * 32}


def test_a_process_with_a_temporal_qualifier_is_refused_with_its_reason() -> None:
    read = read_stix(bundle("[process:pid = 4242] WITHIN 300 SECONDS"))

    assert read.indicators == []
    assert len(read.problems) == 1
    assert read.problems[0].startswith("indicator indicator--1: refused:")
    assert "WITHIN 300 SECONDS needs several events" in read.problems[0]


@pytest.mark.parametrize(("pattern", "reason"), [
    ("[file:hashes.MD5 = 'cccccccccccccccccccccccccccccccc' AND file:name = 'a.exe']", "AND of different values"),
    ("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'x.test']", "FOLLOWEDBY joins several"),
    ("[domain-name:value NOT = 'x.test']", "negated comparison"),
    ("[domain-name:value MATCHES '^x']", "no match for"),
    ("[process:pid = 4242]", "process:pid is not a field the engine matches"),
    ("[ipv4-addr:value = '1.2.3.4'", "not a STIX 2.1 pattern"),
])
def test_what_the_engine_cannot_match_is_refused_not_narrowed(pattern: str, reason: str) -> None:
    read = read_stix(bundle(pattern))

    assert read.indicators == []
    assert reason in read.problems[0]


def test_the_usable_half_of_an_or_is_used_and_the_other_half_reported() -> None:
    read = read_stix(bundle("[ipv4-addr:value = '1.2.3.4'] OR [process:name = 'evil.exe']"))

    assert [(i.type, i.value) for i in read.indicators] == [("ip", "1.2.3.4")]
    assert read.problems == ["indicator indicator--1: partly used: "
                             "process:name = 'evil.exe': process:name is not a field the engine matches"]


def test_a_pattern_in_another_language_is_refused() -> None:
    read = read_stix(json.dumps({"objects": [{"type": "indicator", "id": "indicator--9",
                                              "pattern": "alert tcp any any", "pattern_type": "snort"}]}))

    assert read.indicators == [] and "pattern_type 'snort'" in read.problems[0]


@pytest.mark.django_db
def test_the_import_report_shows_why_an_indicator_was_refused() -> None:
    summary = indicators_import(fmt="stix", source="feed-s", text=bundle(
        f"[file:hashes.'SHA-256' = '{SHA256}']", "[process:pid = 4242] WITHIN 300 SECONDS"))

    assert summary.created == 1
    assert Indicator.objects.get().value == SHA256.lower()
    assert len(summary.problems) == 1 and "indicator--2: refused" in summary.problems[0]
