"""The authorization module: the role predicates that used to live in detection, readiness and collectors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from organisations.access import (
    PROVINCIAL_WORKING_ROLES,
    WORKING_ROLES,
    Action,
    Permissions,
    require_role_grant,
)
from organisations.models import Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db


def hni_admin(cast: Cast) -> User:
    user = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni, role=Role.PROVINCIAL_ADMIN)
    assert isinstance(user, User)
    return user


@pytest.mark.parametrize("action", [Action.RULES_MANAGE, Action.READINESS_PUBLISH])
def test_country_wide_work_is_for_a_lead_of_the_national_organisation_only(cast: Cast, action: Action) -> None:
    lead_in_a_province = user_with_role(username="hni.lead", password=PASSWORD, organisation=cast.hni,
                                        role=Role.CENTRAL_LEAD)

    assert Permissions(cast.lead).can_nationally(action)
    assert not Permissions(lead_in_a_province).can_nationally(action)
    assert not any(Permissions(user).can_nationally(action)
                   for user in (cast.analyst, cast.auditor, cast.hni_responder, hni_admin(cast)))


def test_a_provincial_admin_manages_the_collectors_of_their_province_only(cast: Cast) -> None:
    admin = Permissions(hni_admin(cast))

    assert admin.can(Action.COLLECTORS_MANAGE, cast.hni) and not admin.can(Action.COLLECTORS_MANAGE, cast.hcm)
    assert list(admin.organisations(Action.COLLECTORS_MANAGE).filter(code__in=["HNI", "HCM"])) == [cast.hni]
    assert not Permissions(cast.hni_responder).can(Action.COLLECTORS_MANAGE, cast.hni)
    assert not Permissions(cast.analyst).organisations(Action.COLLECTORS_MANAGE).exists()


def test_a_provincial_admin_grants_provincial_roles_at_home_and_never_central_ones(cast: Cast) -> None:
    admin = hni_admin(cast)

    require_role_grant(admin, organisation=cast.hni, role=Role.PROVINCIAL_RESPONDER)
    for organisation, role in ((cast.hni, Role.CENTRAL_ANALYST), (cast.hcm, Role.PROVINCIAL_RESPONDER)):
        with pytest.raises(PermissionDenied):
            require_role_grant(admin, organisation=organisation, role=role)
    require_role_grant(cast.lead, organisation=cast.hni, role=Role.CENTRAL_ANALYST)


def test_auditors_and_service_accounts_are_never_notified_of_work() -> None:
    assert not {Role.AUDITOR, Role.SERVICE} & WORKING_ROLES
    assert PROVINCIAL_WORKING_ROLES < WORKING_ROLES
