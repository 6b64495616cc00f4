"""The console's menu, grouped by job: which pages exist, under which heading, and which one is open.

Who sees which page is not decided here: ``Permissions.areas()`` (organisations/access.py) says which areas a
user has a use for, and the menu keeps those. A group of one page (Dashboard, Readiness) is shown as a plain
link; the others stay lists even when a role has one page in them, so the menu keeps its shape across roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from organisations.access import Area, Permissions


@dataclass(frozen=True)
class Item:
    area: Area
    label: str | Promise
    url_name: str
    # The URL names (namespace:name or namespace:*) that count as being on this page, e.g. its detail pages.
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    key: str
    label: str | Promise
    items: tuple[Item, ...]


MENU: tuple[Group, ...] = (
    Group("dashboard", _("Dashboard"), (Item(Area.DASHBOARD, _("Dashboard"), "console:dashboard"),)),
    Group("work", _("Work"), (
        Item(Area.TODAY, _("Today"), "console:home"),
        Item(Area.INCIDENTS, _("Incidents"), "incidents:list",
             ("incidents:detail", "incidents:events")),
        Item(Area.REQUESTS, _("Requests for action"), "incidents:requests", ("incidents:request",)),
        Item(Area.PLAYBOOKS, _("Playbooks"), "incidents:playbooks",
             ("incidents:playbook", "incidents:playbook-new", "incidents:playbook-edit", "incidents:playbook-version")),
        Item(Area.REPORT, _("Report an incident"), "incidents:intake"),
    )),
    Group("hunt", _("Hunt"), (
        Item(Area.EVENTS, _("Event search"), "console:events"),
        # Not "detection:*": the back-fill pages under /rules/ are their own menu entry.
        Item(Area.RULES, _("Rules"), "detection:rules", ("detection:rule", "detection:rule-new", "detection:rule-test",
                                                         "detection:rule-runs", "detection:rule-delete",
                                                         "detection:rule-province")),
        Item(Area.BACKFILL, _("Logs you already have"), "detection:backfill", ("detection:backfill-upload",)),
    )),
    Group("fleet", _("Fleet"), (
        Item(Area.COLLECTORS, _("Collectors"), "collectors:list"),
        Item(Area.RETENTION, _("Event retention"), "collectors:retention"),
    )),
    Group("organisation", _("Organisation"), (
        Item(Area.MEMBERS, _("Members"), "organisations:members"),
        Item(Area.ORGANISATIONS, _("Organisations"), "organisations:list"),
        Item(Area.SLA, _("SLA policies"), "incidents:sla"),
        Item(Area.AUDIT, _("Audit log"), "organisations:audit"),
    )),
    Group("readiness", _("Readiness"), (Item(Area.READINESS, _("Readiness"), "readiness:ranking", ("readiness:*",)),)),
)


@dataclass(frozen=True)
class Link:
    label: str | Promise
    url: str
    current: bool
    area: str


@dataclass(frozen=True)
class Section:
    key: str
    label: str | Promise
    links: tuple[Link, ...]
    single: bool = False  # a group of one page by design (Dashboard, Readiness): a plain link, not a list

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def _here(request: HttpRequest) -> tuple[str, str]:
    match = request.resolver_match
    return (match.namespace, match.url_name or "") if match else ("", "")


def _is_current(item: Item, here: tuple[str, str]) -> bool:
    namespace, name = here
    for pattern in (item.url_name, *item.covers):
        want_ns, _sep, want_name = pattern.partition(":")
        if want_ns == namespace and want_name in ("*", name):
            return True
    return False


def menu_for(request: HttpRequest) -> list[Section]:
    """The user's menu: only the areas of use to them, empty groups left out, the open page marked."""
    areas = Permissions(request.user).areas()
    here = _here(request)
    sections = []
    for group in MENU:
        links = tuple(Link(label=item.label, url=page_url(item.url_name), current=_is_current(item, here),
                           area=item.area.value) for item in group.items if item.area in areas)
        if links:
            sections.append(Section(group.key, group.label, links, single=len(group.items) == 1))
    return sections



def page_url(name: str) -> str:
    """``reverse(name)`` for a page that takes no arguments, reversed once per process, URLconf, script prefix
    and language: the menu and the top bar reverse a dozen such names on every page, 0.3-0.5 ms of its CPU, and
    their URLs change only with these. Not for anything that depends on the user: the key holds none of it."""
    return _page_url(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), translation.get_language())


@lru_cache(maxsize=512)
def _page_url(name: str, urlconf: str, prefix: str, language: str | None) -> str:
    return reverse(name, urlconf=urlconf)
