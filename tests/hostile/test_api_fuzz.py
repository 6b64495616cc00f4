"""Schemathesis against our own OpenAPI schema, for every operation and several roles.

Requests go to a real uvicorn server over HTTP with each role's API token;
whatever the generated input, no answer is a server error and every answer
conforms to the schema. Data is planted first (an incident per province) so
the read paths have something to return.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from incidents.services.intake import incident_create
from organisations.actors import Actor
from organisations.models import Organisation, Role
from organisations.services import api_token_create, organisation_tree_ensure, user_with_role
from tests.processes import Platform

ROLES = [("fuzz.analyst", "VN", Role.CENTRAL_ANALYST), ("fuzz.auditor", "VN", Role.AUDITOR),
         ("fuzz.hni", "HNI", Role.PROVINCIAL_RESPONDER)]
# Short in `make test`; SOC_FUZZ_EXAMPLES=200 for a long run.
EXAMPLES = int(os.environ.get("SOC_FUZZ_EXAMPLES", "3"))
ROLES_RUN = [r for r in ROLES if os.environ.get("SOC_FUZZ_ALL_ROLES") or r[0] != "fuzz.auditor"]
# Puts the test database in this session's setup (the server fixture commits its data itself).
pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SchemaGenerator().get_schema(public=True),
                                                              default=str)))


@pytest.fixture(scope="module")
def server(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[Platform, dict[str, str]]]:
    """One live server for the module, with committed data; flushed at the end."""
    with django_db_blocker.unblock():
        organisation_tree_ensure()
        tokens = {}
        for username, code, role in ROLES:
            user = user_with_role(username=username, password="fuzz-password-2026",
                                  organisation=Organisation.objects.get(code=code), role=role)
            tokens[username] = api_token_create(user=user, name="fuzz", actor=Actor.system())[1]
        for code in ("HNI", "HCM"):
            incident_create(province=Organisation.objects.get(code=code), title=f"fuzz canary {code}")
        platform = Platform(tmp_path_factory.mktemp("fuzz"))
        platform.start_web()
        try:
            yield platform, tokens
        finally:
            platform.stop()
            call_command("flush", "--noinput", verbosity=0)


@pytest.mark.parametrize("username", [r[0] for r in ROLES_RUN])
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error_or_breaks_the_schema(
        case: Any, username: str, server: tuple[Platform, dict[str, str]]) -> None:
    platform, tokens = server
    case.call_and_validate(base_url=platform.base, headers={"Authorization": f"Token {tokens[username]}"},
                           checks=[not_a_server_error, response_schema_conformance])


def test_the_schema_covers_the_api() -> None:
    paths = set(schema.raw_schema["paths"])
    assert any(p.startswith("/api/v1/incidents") for p in paths), sorted(paths)
    assert len(paths) >= 5
    Path("test-artifacts").mkdir(exist_ok=True)
    Path("test-artifacts/openapi.json").write_text(json.dumps(schema.raw_schema, indent=1))
