"""Each measure, dimension score and the ranking on four synthetic provinces of known quality."""

from __future__ import annotations

import pytest

from readiness.models import Level, ReadinessSnapshot
from readiness.services import scorecards_compute
from tests.readiness.conftest import World

# Every test here is a database test, so pytest-django keeps them together and the world is built once.
pytestmark = pytest.mark.django_db


@pytest.fixture
def cards(world: World) -> dict[str, ReadinessSnapshot]:
    return world.cards


def test_the_perfect_province_scores_full_marks_on_every_dimension(cards: dict[str, ReadinessSnapshot]) -> None:
    card = cards["HNI"]

    assert card.dimensions == dict.fromkeys(
        ["connected", "correct", "sufficient", "clean", "live", "response"], 100.0)
    assert (card.score, card.level, card.actions) == (100.0, Level.READY, [])


def test_the_perfect_province_measures_are_exact(cards: dict[str, ReadinessSnapshot]) -> None:
    m = cards["HNI"].measures

    assert m["connected"]["enrolled"] == m["connected"]["expected"] == 2
    assert m["connected"]["online_share"] == m["connected"]["delivered_share"] == 1.0
    assert m["connected"]["covered_sources"] == sorted(["authentication", "web", "endpoint", "firewall", "dns", "mail"])
    assert m["connected"]["active_sources"] == 6 and m["connected"]["silent_sources"] == []
    assert m["correct"] == {
        "events": 144, "generic": 0, "parsed_share": 1.0, "deadletters": 0, "deadletter_share": 0.0,
        "future_share": 0.0, "sample_size": 144,
        "collectors": [{"name": "HNI-FW-02", "events": 72, "generic": 0, "parsed_share": 1.0},
                       {"name": "HNI-WEB-01", "events": 72, "generic": 0, "parsed_share": 1.0}]}
    assert m["sufficient"]["share"] == 1.0 and m["sufficient"]["kinds"]["authentication"]["events"] == 24
    assert (m["live"]["lag_p50_s"], m["live"]["lag_p95_s"]) == (5.0, 5.0)
    assert m["response"]["mtta_s"] == 3600.0 and m["response"]["mttr_s"] == 86400.0
    assert (m["response"]["sla_compliance"], m["response"]["requests_due"], m["response"]["requests_overdue"]) == (
        1.0, 1, 0)


def test_a_silent_collector_lowers_connected_and_names_the_collector(cards: dict[str, ReadinessSnapshot]) -> None:
    card = cards["HCM"]
    m = card.measures["connected"]

    assert m["online_share"] == 0.5
    assert m["missing_sources"] == ["firewall", "dns", "mail"]
    assert [(s["collector"], s["dataset"]) for s in m["silent_sources"]] == [
        ("HCM-FW-02", "dns.query"), ("HCM-FW-02", "iptables.log"), ("HCM-FW-02", "postfix.log")]
    assert m["delivered_share"] == 0.5
    # 0.6 x 0.5 collector-hours delivered + 0.3 x 0.5 coverage + 0.1 x 0.5 not silent
    assert card.dimensions["connected"] == 50.0
    texts = [a["text"] for a in card.actions]
    assert "collector HCM-FW-02 offline for 3 days" in texts
    assert "no firewall logs received" in texts


def test_malformed_logs_lower_correct_and_clean(cards: dict[str, ReadinessSnapshot]) -> None:
    card = cards["DNG"]
    correct, clean = card.measures["correct"], card.measures["clean"]

    assert (correct["events"], correct["generic"], correct["deadletters"]) == (288, 144, 36)
    assert correct["parsed_share"] == 0.5
    assert correct["deadletter_share"] == pytest.approx(36 / 324)
    assert clean["parser_errors"] == 12
    assert clean["malformed_per_million"] == pytest.approx(round(1_000_000 * 48 / 324, 1))
    # 0.5 x 0.5 parsed + 0.3 x (1 - 36/324) not dead-lettered + 0.2 x 1 sane clocks
    assert card.dimensions["correct"] == 71.7
    # 0.8 x 0 (48 malformed in 324 is past the floor) + 0.2 x (1 - 0 resends)
    assert card.dimensions["clean"] == 20.0
    assert (clean["duplicates"], clean["duplicate_ratio"]) == (0, 0.0)
    assert card.dimensions["sufficient"] == 100.0
    assert [(c["name"], c["events"], c["generic"]) for c in correct["collectors"]] == [
        ("DNG-FW-02", 72, 0), ("DNG-WEB-01", 216, 144)]
    assert {"dimension": "correct", "text": "collector DNG-WEB-01: 67% of its events fell back to the generic "
                                            "parser: configure a parser for these sources"} in card.actions
    assert {"dimension": "correct", "text": "36 events rejected to the dead-letter index: fix their format"} in (
        card.actions)


def test_a_slow_province_loses_on_response_only(cards: dict[str, ReadinessSnapshot]) -> None:
    card = cards["HUE"]
    m = card.measures["response"]

    assert (m["mtta_s"], m["mttr_s"], m["sla_compliance"]) == (2 * 86400.0, 10 * 86400.0, 0.0)
    assert (m["requests_due"], m["requests_overdue"]) == (4, 4)
    # 0.2 x 4h/48h + 0.2 x 72h/240h + 0.3 x 0 + 0.3 x 0
    assert card.dimensions["response"] == 7.7
    assert {k: v for k, v in card.dimensions.items() if k != "response"} == dict.fromkeys(
        ["connected", "correct", "sufficient", "clean", "live"], 100.0)
    assert "4 requests for action overdue" in [a["text"] for a in card.actions]


def test_the_ranking_order_and_levels_are_exact(cards: dict[str, ReadinessSnapshot]) -> None:
    ranked = sorted(cards.values(), key=lambda s: (-s.score, s.province.code))

    assert [(s.province.code, s.score, s.level) for s in ranked[:4]] == [
        ("HNI", 100.0, Level.READY), ("DNG", 87.8, Level.PARTIAL),
        ("HCM", 85.0, Level.PARTIAL), ("HUE", 81.5, Level.PARTIAL)]
    assert {(s.score, s.level) for s in ranked[4:]} == {(0.0, Level.NOT_READY)}
    assert len(ranked) == 34


def test_recomputing_a_day_replaces_its_snapshots(world: World) -> None:
    scorecards_compute(day=world.day)
    scorecards_compute(day=world.day)

    assert ReadinessSnapshot.objects.filter(day=world.day).count() == 34
