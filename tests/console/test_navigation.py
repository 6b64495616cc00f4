"""The menu by job: each role sees the pages it has a use for, every one of them opens, the open page is marked,
and /favicon.ico answers (no 404 in any page's console)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from organisations.access import AREA_ACTIONS, AREA_NATIONAL_ACTIONS, Area, Permissions
from organisations.models import Role
from organisations.services import user_with_role
from tests.conftest import PASSWORD, Cast

NAV_LINK = re.compile(r'<a href="([^"]+)" id="nav-(\w+)"( aria-current="page")?')
CENTRAL_ONLY = {Area.RULES, Area.RETENTION}
NEVER_FOR_PROVINCES = CENTRAL_ONLY | {Area.AUDIT, Area.SLA}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hni_admin(cast: Cast) -> User:
    user = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni, role=Role.PROVINCIAL_ADMIN)
    assert isinstance(user, User)
    return user


def menu(client: Client, path: str = "/console/dashboard/") -> dict[str, tuple[str, bool]]:
    page = client.get(path)
    assert page.status_code == 200
    return {area: (href, bool(current)) for href, area, current in NAV_LINK.findall(page.content.decode())
            if area != "notifications"}  # the bell beside the menu, there for everyone


def test_every_area_is_reachable_from_the_menu_by_someone() -> None:
    assert set(AREA_ACTIONS) | set(AREA_NATIONAL_ACTIONS) == set(Area)


def test_the_lead_sees_every_area(cast: Cast) -> None:
    assert set(menu(signed_in(cast.lead))) == {area.value for area in Area}


def test_a_provincial_responder_sees_the_work_of_a_province_and_nothing_central(cast: Cast) -> None:
    areas = set(menu(signed_in(cast.hni_responder)))

    assert areas == {"dashboard", "today", "incidents", "requests", "report", "backfill", "events", "readiness"}


def test_a_provincial_admin_also_sees_members_organisations_and_collectors_but_no_central_page(cast: Cast) -> None:
    areas = set(menu(signed_in(hni_admin(cast))))

    assert {"members", "organisations", "collectors", "today"} <= areas
    assert not areas & {area.value for area in NEVER_FOR_PROVINCES}


def test_an_auditor_sees_the_audit_log_and_nowhere_to_report_or_work(cast: Cast) -> None:
    areas = set(menu(signed_in(cast.auditor)))

    assert "audit" in areas and "members" in areas
    assert not areas & {"report", "today"}


def test_an_analyst_sees_no_audit_log_members_or_organisations(cast: Cast) -> None:
    areas = set(menu(signed_in(cast.analyst)))

    assert not areas & {"audit", "members", "organisations", "sla"}
    assert {"incidents", "requests", "events", "rules", "collectors"} <= areas


@pytest.mark.parametrize("who", ["lead", "analyst", "auditor", "hni_responder", "hni_admin"])
def test_every_page_in_a_users_menu_opens_for_them_and_is_marked_as_the_open_one(cast: Cast, who: str) -> None:
    user = hni_admin(cast) if who == "hni_admin" else getattr(cast, who)
    client = signed_in(user)
    for area, (href, _current) in menu(client).items():
        shown = menu(client, href)
        assert shown[area][1], f"{href} does not mark {area} as the open page"
        assert sum(current for _href, current in shown.values()) == 1


def test_the_menu_follows_permissions_areas(cast: Cast) -> None:
    for user in (cast.lead, cast.analyst, cast.auditor, cast.hni_responder):
        assert set(menu(signed_in(user))) == {area.value for area in Permissions(user).areas()}


def test_a_signed_out_visitor_gets_no_menu(cast: Cast) -> None:
    page = Client().get("/login/").content.decode()
    assert 'id="site-menu"' not in page and 'rel="icon"' in page


def test_favicon_ico_leads_to_the_icon(cast: Cast) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


def test_a_page_url_is_the_reversed_one_under_each_script_prefix() -> None:
    from django.urls import reverse, set_script_prefix

    from console.navigation import page_url

    assert page_url("incidents:list") == reverse("incidents:list") == "/incidents/"
    set_script_prefix("/soc/")
    try:
        assert page_url("incidents:list") == reverse("incidents:list") == "/soc/incidents/"
    finally:
        set_script_prefix("/")
    assert page_url("incidents:list") == "/incidents/"
