"""The scoring rules on plain numbers: unmeasurable parts, absent data, configurable weights and thresholds."""

from __future__ import annotations

import pytest

from readiness.es_measures import percentile
from readiness.models import Level, ScoringPolicy
from readiness.scoring import composite, level_for, score_live, weighted
from readiness.selectors import policy_current
from readiness.sources import kind_of

ALL_100 = dict.fromkeys(["connected", "correct", "sufficient", "clean", "live", "response"], 100.0)


def test_weighted_leaves_out_what_cannot_be_measured() -> None:
    assert weighted([(0.5, 1.0), (0.5, None)]) == 100.0
    assert weighted([(0.5, None)]) is None


def test_an_unmeasurable_dimension_gives_its_weight_to_the_others() -> None:
    assert composite({**ALL_100, "response": None, "connected": 70.0}, ScoringPolicy()) == pytest.approx(
        (30 * 70 + 50 * 100) / 80, abs=0.05)


@pytest.mark.django_db
def test_a_saved_policy_changes_weights_and_levels() -> None:
    ScoringPolicy.objects.create(weight_connected=100, weight_correct=0, weight_sufficient=0, weight_clean=0,
                                 weight_live=0, weight_response=0, ready_threshold=70, partial_threshold=40)
    policy = policy_current()

    assert composite({**ALL_100, "connected": 72.0}, policy) == 72.0
    assert [level_for(s, policy) for s in (70, 69.9, 40, 39.9)] == [
        Level.READY, Level.PARTIAL, Level.PARTIAL, Level.NOT_READY]


def test_the_default_thresholds_are_90_and_60() -> None:
    assert [level_for(s, ScoringPolicy()) for s in (90, 89.9, 60, 59.9)] == [
        Level.READY, Level.PARTIAL, Level.PARTIAL, Level.NOT_READY]


@pytest.mark.parametrize(("p95", "score"), [(5.0, 100.0), (60.0, 100.0), (1830.0, 50.0), (3600.0, 0.0),
                                            (86400.0, 0.0), (None, None)])
def test_live_falls_linearly_from_one_minute_to_one_hour_of_lag(p95: float | None, score: float | None) -> None:
    assert score_live({"lag_p95_s": p95, "kept_share": None}) == score


def test_events_dropped_by_a_collector_lower_live() -> None:
    # 0.7 x lag on target + 0.3 x 80 % of the events kept
    assert score_live({"lag_p95_s": 5.0, "kept_share": 0.8}) == 94.0


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert (percentile(values, 50), percentile(values, 95), percentile([7.0], 95)) == (50.0, 95.0, 7.0)


@pytest.mark.parametrize(("dataset", "kind"), [
    ("system.auth", "authentication"), ("nginx.access", "web"), ("apache.error", "web"),
    ("suricata.eve", "firewall"), ("system.security", "endpoint"), ("windows.sysmon_operational", "endpoint"),
    ("dns.query", "dns"), ("postfix.log", "mail"), ("generic", None), ("system.syslog", None),
])
def test_datasets_fall_in_the_checklist_kind_of_their_parser_family(dataset: str, kind: str | None) -> None:
    assert kind_of(dataset) == kind


@pytest.mark.django_db
@pytest.mark.parametrize(("kinds", "error"), [
    (["firewall", "smtp"], "unknown source kinds: smtp; known: authentication, web, firewall, endpoint, dns, mail"),
    (["dns"], None),
])
def test_a_province_target_accepts_only_checklist_kinds(kinds: list[str], error: str | None) -> None:
    from organisations.actors import Actor
    from organisations.models import Organisation
    from organisations.services import organisation_tree_ensure
    from readiness.models import ProvinceTarget
    from readiness.services import ReadinessError, province_target_set

    organisation_tree_ensure()
    hni = Organisation.objects.get(code="HNI")
    if error is None:
        target = province_target_set(province=hni, expected_collectors=3, required_sources=kinds, actor=Actor.system())
        assert target.required_sources == kinds
        return
    with pytest.raises(ReadinessError, match=error):
        province_target_set(province=hni, expected_collectors=3, required_sources=kinds, actor=Actor.system())
    assert not ProvinceTarget.objects.exists()


def test_a_policy_with_no_weight_is_invalid() -> None:
    from django.core.exceptions import ValidationError

    policy = ScoringPolicy(weight_connected=0, weight_correct=0, weight_sufficient=0, weight_clean=0,
                           weight_live=0, weight_response=0)
    with pytest.raises(ValidationError, match="at least one dimension needs a positive weight"):
        policy.clean()


@pytest.mark.parametrize(("iso", "shown"), [
    ("2026-11-23T03:10:00+00:00", "2026-11-23 10:10"), (None, "-"), ("not a time", "-"),
])
def test_stored_times_are_shown_in_local_time(iso: str | None, shown: str) -> None:
    from readiness.templatetags.readiness import local_time

    assert local_time(iso) == shown


@pytest.mark.django_db
def test_the_target_command_sets_a_province_target_audited_and_refuses_bad_input() -> None:
    import io

    from django.core.management import CommandError, call_command

    from organisations.models import AuditLog
    from organisations.services import organisation_tree_ensure
    from readiness.models import ProvinceTarget

    organisation_tree_ensure()
    out = io.StringIO()
    call_command("readiness_target_set", "HNI", "--collectors", "4", "--sources", "web,firewall", stdout=out)
    call_command("readiness_target_set", "HNI", "--collectors", "5", "--sources", "web", stdout=out)

    assert ProvinceTarget.objects.get(province__code="HNI").expected_collectors == 5
    last = AuditLog.objects.filter(action="readiness.target_set").order_by("pk").last()
    assert last is not None and last.before == {"expected_collectors": 4, "required_sources": ["web", "firewall"]}
    with pytest.raises(CommandError, match="unknown source kinds"):
        call_command("readiness_target_set", "HNI", "--collectors", "1", "--sources", "smtp")
    with pytest.raises(CommandError, match="no province"):
        call_command("readiness_target_set", "VN", "--collectors", "1", "--sources", "web")
