"""Every URL the resolver knows, by method, role and object of province A or B, with canary strings.

The routes come from ``django.urls.get_resolver()`` walked recursively, so a new endpoint is in the matrix
the moment it is routed. A new URL parameter with no entry in ``OBJECT_OF`` fails the run: tell the matrix
which object of a province that parameter names. The matrix fails on any cross-province read (the other
province's canary in the body), any cross-province write (a row scoped to the other province changed),
an answer for another province's object that differs from the answer for a missing one, a 5xx, or an
auditor's write that is not refused.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Q
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from organisations.models import Organisation
from tests.tenancy.conftest import MATRIX_PLAYBOOK, Province, World

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")

# Routes the matrix does not call, each with the reason. Everything else is called.
NOT_CALLED = {
    "healthz": "public liveness probe that waits on each service (about 1 s a call); no tenant data; "
               "tests/test_healthz.py covers it",
    "logout/": "ends the caller's session (the matrix would continue logged out); holds no data",
    "admin/": "Django admin: staff only, and no cast user is staff (see test_the_admin_refuses_every_cast_user)",
}
# Reachable without a user session, on purpose. Every other route must refuse an anonymous caller.
PUBLIC = {
    "": "redirects to the incident list (which then asks for a login)",
    "login/": "the login form",
    "api/v1/ingest/events": "collector-authenticated (collector secret, not a session); tests/ingest covers scope",
    "api/v1/collectors/enroll": "collector enrollment with a one-time token",
    "api/v1/collectors/heartbeat": "collector-authenticated (collector secret)",
    # The readiness summary of the periods the central lead published, for public announcement: scores and
    # levels only (tests/readiness/test_public_access.py; SOC_READINESS_PUBLIC_SUMMARY=false closes it).
    "readiness/public/": "published readiness summary (public by design)",
    "readiness/public/<str:start>/<str:end>/": "published readiness summary (public by design)",
    "readiness/public/<str:start>/<str:end>/report.csv": "published readiness summary (public by design)",
    "readiness/public/<str:start>/<str:end>/report.pdf": "published readiness summary (public by design)",
    "api/v1/readiness/public/": "published readiness summary (public by design)",
    "favicon.ico": "redirects to the static icon; no data",
    "metrics": "operators' Prometheus endpoint: its own bearer token, 404 when none is set (tests/test_metrics.py)",
}
# A user's own settings, not SOC data: an auditor may change their own language or notification preferences.
PERSONAL = {
    "accounts/totp/": "the user's own second factor",
    "accounts/language/": "the user's own interface language",
    "accounts/preferences/": "the user's own preferences",
    "notifications/read/": "marks the user's own notifications read",
    "notifications/preferences/": "the user's own notification preferences",
}

# Which object of a province each URL parameter names, and a value that names nothing.
OBJECT_OF: dict[str, Callable[[Province], Any]] = {
    "key": lambda p: p.incident.key,
    "request_id": lambda p: p.request.pk,
    "attachment_id": lambda p: p.attachment.pk,
    "membership_id": lambda p: p.membership.pk,
    "uid": lambda p: p.collector.uid,
    "upload_uid": lambda p: p.backfill_upload.uid,  # a log file uploaded for detection (rules/backfill/)
    "code": lambda p: p.org.code,
    "filter_id": lambda p: p.saved_filter.pk,  # owned by that province's responder
    "search_id": lambda p: p.saved_search.pk,  # shared with that province by its responder
    "rule_id": lambda p: p.rule.pk,  # the province's own detection rule (console's enable of a drafted rule)
    # SLA rows are named by organisation code and severity: the code carries the province.
    "severity": lambda p: "high",
    # Publication periods of the readiness reports are dates, the same for every province.
    "start": lambda p: "2026-01-01",
    "end": lambda p: "2026-12-31",
    # A task on the province's incident: its request for action (the playbook's centre task sits beside it).
    "task_id": lambda p: p.request.pk,
    # Playbooks are national guidance, the same for every province (every console user reads them, as SLA
    # severities): their slug and version name no province's object.
    "slug": lambda p: MATRIX_PLAYBOOK,
    "version": lambda p: 1,
}
# A generic name (pk, id) means a different object under each prefix: say which, per prefix.
OBJECT_UNDER: dict[tuple[str, str], Callable[[Province], Any]] = {
    ("api/v1/rules/", "pk"): lambda p: p.rule.pk,
    ("rules/", "pk"): lambda p: p.rule.pk,
}
MISSING: dict[str, Any] = {
    "key": "HNI-2099-9999", "request_id": 987654321, "attachment_id": 987654321, "membership_id": 987654321,
    "upload_uid": uuid.UUID(int=9),
    "uid": uuid.UUID(int=7), "code": "ZZZ", "start": "1999-01-01", "end": "1999-12-31", "pk": 987654321,
    "filter_id": 987654321, "severity": "high", "search_id": 987654321, "rule_id": 987654321,
    "task_id": 987654321, "slug": MATRIX_PLAYBOOK, "version": 1,
}


def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        else:
            yield route


def all_routes() -> list[str]:
    return sorted(set(walk(get_resolver().url_patterns)))


def not_called(route: str) -> bool:
    return any(route == skip or (skip.endswith("/") and route.startswith(skip)) for skip in NOT_CALLED)


def params(route: str) -> list[str]:
    return [name for _, name in PARAM.findall(route)]


def fill(route: str, values: dict[str, Any]) -> str:
    return "/" + PARAM.sub(lambda m: str(values[m.group(2)]), route)


def object_of(route: str, name: str) -> Callable[[Province], Any] | None:
    for (prefix, param), get in OBJECT_UNDER.items():
        if param == name and route.startswith(prefix):
            return get
    return OBJECT_OF.get(name)


def values_for(route: str, province: Province) -> dict[str, Any]:
    return {name: object_of(route, name)(province) for name in params(route)}  # type: ignore[misc]


def payload(world: World, other: Province) -> dict[str, Any]:
    """Every field any endpoint reads, pointing at the other province wherever a field can."""
    return {
        "keys": [other.incident.key], "into": other.incident.key, "action": "close", "status": "closed",
        "resolution_summary": "matrix", "assignee": world.cast.lead.pk, "owner": "province", "body": "matrix @lead",
        "kind": "ip", "value": "198.51.100.7", "instructions": "matrix", "priority": "high",
        "due_at": (timezone.now() + timedelta(days=1)).isoformat(), "province": other.org.code, "title": "matrix",
        "description": "matrix", "contact": "matrix", "note": "matrix", "severity": "low", "category": "other",
        "tlp": "red", "mitre_techniques": ["T1110"], "incident": other.incident.key, "organisation": other.org.code,
    }


def call(client: Client, method: str, path: str, data: dict[str, Any]) -> tuple[int, str]:
    if method == "GET":
        response: HttpResponseBase = client.get(path)
    elif method == "POST" and not path.startswith("/api/"):
        response = client.post(path, data)
    else:
        response = client.generic(method, path, json.dumps(data), content_type="application/json")
    return response.status_code, body_of(response)


def body_of(response: HttpResponseBase) -> str:
    streaming = getattr(response, "streaming", False)
    raw = b"".join(response.streaming_content) if streaming else response.content  # type: ignore[attr-defined]
    # No response.close() here: outside the test client's handler it would close the DB connection.
    return raw.decode("utf-8", errors="replace")


def _org_lookups(model: type[models.Model], depth: int = 2) -> list[str]:
    """Lookup paths from ``model`` to an Organisation (``province``, ``incident__province`` ...)."""
    found = []
    for field in model._meta.get_fields():
        # one_to_one too: a per-province setting (ProvinceRetention, ReadinessTarget) hangs off its province so.
        if not ((field.many_to_one or field.one_to_one) and field.concrete) or field.related_model is None:
            continue
        target = field.related_model
        if target is Organisation:
            found.append(field.name)
        elif depth > 1 and target is not model:
            found += [f"{field.name}__{sub}" for sub in _org_lookups(target, depth - 1)]  # type: ignore[arg-type]
    return found


def state_of(org: Organisation) -> dict[str, list[str]]:
    """Every row of every model that hangs off ``org`` (directly or through one hop), as text."""
    snapshot = {}
    for model in apps.get_models():
        lookups = _org_lookups(model)
        if model is Organisation or not lookups:
            continue
        scope = Q()
        for lookup in lookups:
            scope |= Q(**{lookup: org})
        rows = model._default_manager.filter(scope).distinct().values()
        snapshot[model._meta.label] = sorted(repr(sorted(row.items())) for row in rows)
    return snapshot


@dataclass
class Finding:
    role: str
    method: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.role} {self.method} {self.path}: {self.problem}"


def test_every_url_parameter_is_known_to_the_matrix() -> None:
    unknown = {(route, name) for route in all_routes() if not not_called(route)
               for name in params(route) if object_of(route, name) is None or name not in MISSING}
    assert not unknown, f"add these URL parameters to OBJECT_OF/MISSING in {__file__}: {sorted(unknown)}"


def test_every_exemption_names_a_route_that_still_exists() -> None:
    routes = all_routes()
    for listed in (*NOT_CALLED, *PUBLIC, *PERSONAL):
        assert any(route == listed or route.startswith(listed) for route in routes), f"stale exemption {listed!r}"


def test_anonymous_callers_reach_only_the_public_routes(world: World, client: Client) -> None:
    home = world.provinces["HNI"]
    findings = []
    for route in all_routes():
        if not_called(route) or route in PUBLIC:
            continue
        path = fill(route, values_for(route, home))
        status, body = call(client, "GET", path, {})
        if status not in (302, 401, 403, 405) or home.canary in body:
            findings.append(f"GET {path}: {status}")
    assert not findings, "\n".join(findings)


def sweep(world: World, client: Client, role: str, home: Province, other: Province,
          include_home: bool = True, thorough: bool = True) -> list[Finding]:
    """One user against every route: the other province's objects, missing ones and (``include_home``) their own.

    ``thorough`` snapshots the other province after every write; otherwise only after writes that were not
    refused (403/404/405) and once at the end, which still catches any change, with less precise blame.
    """
    findings: list[Finding] = []
    data = payload(world, other)
    baseline = state_of(other.org)
    for route in all_routes():
        if not_called(route):
            continue
        names = params(route)
        targets = ([other, home] if include_home else [other]) if names else [None]
        for method in METHODS:
            missing_status = call(client, method, fill(route, MISSING), data)[0] if names else None
            for target in targets:
                path = fill(route, values_for(route, target)) if target else fill(route, {})
                status, body = call(client, method, path, data)
                problems = []
                if status >= 500 and route not in PUBLIC:
                    problems.append(f"server error {status}")
                if other.canary in body:
                    problems.append(f"shows {other.org.code}'s canary")
                if target is other and status != missing_status:
                    problems.append(f"answers {status} for {other.org.code}'s object but {missing_status} "
                                    "for a missing one")
                checked = method in WRITES and (thorough or status not in (403, 404, 405))
                if checked and state_of(other.org) != baseline:
                    problems.append(f"changed {other.org.code}'s data")
                    baseline = state_of(other.org)
                findings += [Finding(role, method, path, problem) for problem in problems]
    if state_of(other.org) != baseline:
        findings.append(Finding(role, "*", "*", f"a refused write changed {other.org.code}'s data"))
    return findings


def test_a_province_can_neither_read_nor_change_another_provinces_data(world: World, client: Client) -> None:
    client.force_login(world.cast.hcm_responder)

    findings = sweep(world, client, "hcm_responder", world.provinces["HCM"], world.provinces["HNI"],
                     include_home=False, thorough=False)

    assert not findings, "\n".join(map(str, findings))


@pytest.mark.slow
@pytest.mark.parametrize("role, home, other", [
    ("hni_responder", "HNI", "HCM"),
    ("hcm_responder", "HCM", "HNI"),
    ("hni_admin", "HNI", "HCM"),
])
def test_every_provincial_role_acting_on_both_provinces_objects_stays_in_its_province(
        world: World, client: Client, role: str, home: str, other: str) -> None:
    user = world.hni_admin if role == "hni_admin" else getattr(world.cast, role)
    client.force_login(user)

    findings = sweep(world, client, role, world.provinces[home], world.provinces[other])

    assert not findings, "\n".join(map(str, findings))


# Where every write an auditor attempts must be refused outright (403/405); elsewhere the matrix
# proves an auditor's write changes nothing.
STRICT_READ_ONLY = ("incidents/", "organisations/", "api/v1/incidents/", "api/v1/requests/", "api/v1/attachments/",
                    "api/v1/memberships/", "api/v1/audit/", "collectors/retention/", "api/v1/event-retention/",
                    "api/v1/playbooks/")


def test_an_auditor_changes_nothing_and_incident_writes_are_refused(world: World, client: Client) -> None:
    client.force_login(world.cast.auditor)
    hni, hcm = world.provinces["HNI"], world.provinces["HCM"]
    findings = []
    before = (state_of(hni.org), state_of(hcm.org))
    for route in all_routes():
        if not_called(route) or route in PUBLIC or route in PERSONAL:
            continue
        path = fill(route, values_for(route, hni))
        for method in WRITES:
            status, _ = call(client, method, path, payload(world, hcm))
            if route.startswith(STRICT_READ_ONLY) and status not in (403, 405):
                findings.append(f"{method} {path}: {status}")
            if route.startswith(STRICT_READ_ONLY) and call(client, method, path, {})[0] not in (403, 405):
                findings.append(f"{method} {path} with an empty body: not refused")
            if status not in (403, 404, 405) and (state_of(hni.org), state_of(hcm.org)) != before:
                findings.append(f"{method} {path}: changed data")
                before = (state_of(hni.org), state_of(hcm.org))
    assert not findings, "auditor writes not refused:\n" + "\n".join(findings)
    assert (state_of(hni.org), state_of(hcm.org)) == before, "a refused auditor write changed data"


def test_central_roles_see_both_provinces_without_errors(world: World, client: Client) -> None:
    for user in (world.cast.lead, world.cast.auditor):
        client.force_login(user)
        for route in all_routes():
            if not_called(route):
                continue
            for province in world.provinces.values():
                status, _ = call(client, "GET", fill(route, values_for(route, province)), {})
                assert status < 500 or route in PUBLIC, f"{user} GET {route}: {status}"
        page = client.get("/incidents/").content.decode()
        assert all(p.canary in page for p in world.provinces.values())


def test_the_admin_refuses_every_cast_user(world: World, client: Client) -> None:
    for user in (world.cast.lead, world.cast.analyst, world.cast.auditor, world.cast.hni_responder,
                 world.hni_admin):
        client.force_login(user)
        response = client.get("/admin/incidents/incident/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
