"""Who may do what: the one authorization module. Views, the API, consumers, services and tasks all ask here.

Scope (which part of the tree a user can see at all) is decided by
``Organisation.objects.visible_to``; this module decides the action. A grant
counts only for objects inside the organisation it was given in, so a
provincial responder's rights stop at their province's border. Grants are read
fresh per ``Permissions`` (one per request): a revoked membership loses its
rights on the next request.

It sits in ``organisations``, the lowest app, and imports nothing above it, so
every app may ask it without depending on ``incidents`` (tests/test_layers.py
keeps it so). Incident-specific bits (which right a status move needs) stay in
``incidents.models`` beside the statuses they read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from organisations.models import CENTRAL_ROLES, Kind, Organisation, Role
from organisations.selectors import AnyUser, user_grants


class Owner(models.TextChoices):
    """Which side drives a piece of work (an incident): ownership moves rights, see the tables below."""

    CENTRAL = "central", _("Central SOC")
    PROVINCE = "province", _("Province")


class Action(StrEnum):
    VIEW = "view"
    FILE = "file"                  # create an incident (provincial intake, integrations)
    EDIT = "edit"                  # title, severity, category, TLP, ATT&CK techniques
    TRIAGE = "triage"              # new / triaged / false positive
    PROGRESS = "progress"          # in progress / contained / resolved
    CLOSE = "close"
    ASSIGN = "assign"
    HANDOVER = "handover"
    MERGE = "merge"
    COMMENT = "comment"
    OBSERVE = "observe"            # add observables
    ATTACH = "attach"
    REQUEST_SEND = "request_send"  # ask a province for action
    REQUEST_WORK = "request_work"  # acknowledge, report progress, mark done, ask for help
    TASK_WORK = "task_work"        # work the central SOC's own tasks on an incident (a province's: REQUEST_WORK)
    SAVE_FILTER = "save_filter"    # keep named list filters (auditors write nothing, not even these)
    AUDIT_VIEW = "audit_view"
    MEMBERS_MANAGE = "members_manage"
    ORGANISATIONS_MANAGE = "organisations_manage"  # sites below a province; provinces only nationally
    SLA_MANAGE = "sla_manage"
    RETENTION_MANAGE = "retention_manage"  # days each province's events are kept (central lead only)
    COLLECTORS_MANAGE = "collectors_manage"  # enroll, configure, revoke the collectors of an organisation
    RULES_MANAGE = "rules_manage"  # detection rules run country-wide: asked nationally (see can_nationally)
    READINESS_PUBLISH = "readiness_publish"  # published scores are public: asked nationally
    PLAYBOOKS_MANAGE = "playbooks_manage"  # playbooks apply country-wide: asked nationally (central lead)


_CENTRAL_WORK = {Action.VIEW, Action.SAVE_FILTER, Action.FILE, Action.EDIT, Action.TRIAGE, Action.PROGRESS,
                 Action.HANDOVER, Action.MERGE, Action.COMMENT, Action.OBSERVE, Action.ATTACH, Action.REQUEST_SEND,
                 Action.TASK_WORK}
_PROVINCE_WORK = {Action.VIEW, Action.SAVE_FILTER, Action.FILE, Action.PROGRESS, Action.COMMENT, Action.OBSERVE,
                  Action.ATTACH, Action.REQUEST_WORK}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.CENTRAL_LEAD: frozenset(set(Action)),
    Role.CENTRAL_ANALYST: frozenset(_CENTRAL_WORK),
    Role.PROVINCIAL_RESPONDER: frozenset(_PROVINCE_WORK),
    Role.PROVINCIAL_ADMIN: frozenset(_PROVINCE_WORK | {Action.MEMBERS_MANAGE, Action.ORGANISATIONS_MANAGE,
                                                       Action.COLLECTORS_MANAGE}),
    Role.AUDITOR: frozenset({Action.VIEW, Action.AUDIT_VIEW}),
    Role.SERVICE: frozenset({Action.VIEW, Action.FILE, Action.COMMENT, Action.OBSERVE}),
}

# Ownership moves who drives an incident. Handed to its province, the province
# triages, edits and may hand it back; a central analyst then watches it
# (comments, requests for action, taking it back) instead of working it. The
# central lead keeps every right whoever owns it.
OWNED_BY_PROVINCE_GAINS: dict[str, frozenset[Action]] = {
    Role.PROVINCIAL_RESPONDER: frozenset({Action.EDIT, Action.TRIAGE, Action.HANDOVER}),
    Role.PROVINCIAL_ADMIN: frozenset({Action.EDIT, Action.TRIAGE, Action.HANDOVER}),
}
OWNED_BY_PROVINCE_LOSSES: dict[str, frozenset[Action]] = {
    Role.CENTRAL_ANALYST: frozenset({Action.EDIT, Action.TRIAGE, Action.PROGRESS}),
}

# Who is told about an incident's changes: people who work incidents. Auditors only read and service
# accounts are machines, so neither gets notices.
WORKING_ROLES = frozenset({Role.CENTRAL_LEAD, Role.CENTRAL_ANALYST, Role.PROVINCIAL_RESPONDER,
                           Role.PROVINCIAL_ADMIN})
# Who receives a request for action addressed to a province: the province's own working members.
PROVINCIAL_WORKING_ROLES = frozenset({Role.PROVINCIAL_RESPONDER, Role.PROVINCIAL_ADMIN})
# Who an incident may be assigned to (with a membership of the national organisation): central staff.
ASSIGNEE_ROLES = frozenset({Role.CENTRAL_LEAD, Role.CENTRAL_ANALYST})


class Area(StrEnum):
    """A console page a person goes to from the menu; the menu shows only the areas the user has a use for."""

    TODAY = "today"
    INCIDENTS = "incidents"
    REQUESTS = "requests"
    PLAYBOOKS = "playbooks"
    REPORT = "report"
    BACKFILL = "backfill"  # logs a responder already has, uploaded to be detected on
    EVENTS = "events"
    RULES = "rules"
    COLLECTORS = "collectors"
    RETENTION = "retention"
    MEMBERS = "members"
    ORGANISATIONS = "organisations"
    SLA = "sla"
    AUDIT = "audit"
    READINESS = "readiness"
    DASHBOARD = "dashboard"


# An area is of use to whoever holds any of its actions somewhere in their scope ...
AREA_ACTIONS: dict[Area, frozenset[Action]] = {
    Area.TODAY: frozenset({Action.REQUEST_WORK}),  # a province's day: its requests for action and incidents
    Area.INCIDENTS: frozenset({Action.VIEW}),
    Area.REQUESTS: frozenset({Action.REQUEST_SEND, Action.REQUEST_WORK, Action.AUDIT_VIEW}),
    Area.REPORT: frozenset({Action.FILE}),
    Area.BACKFILL: frozenset({Action.FILE}),  # its alerts open incidents, as a report does
    Area.EVENTS: frozenset({Action.VIEW}),
    Area.COLLECTORS: frozenset({Action.COLLECTORS_MANAGE}),
    Area.RETENTION: frozenset({Action.RETENTION_MANAGE}),
    Area.MEMBERS: frozenset({Action.MEMBERS_MANAGE, Action.AUDIT_VIEW}),
    Area.ORGANISATIONS: frozenset({Action.ORGANISATIONS_MANAGE, Action.AUDIT_VIEW}),
    Area.SLA: frozenset({Action.SLA_MANAGE, Action.AUDIT_VIEW}),
    Area.AUDIT: frozenset({Action.AUDIT_VIEW}),
    Area.READINESS: frozenset({Action.VIEW}),
    Area.DASHBOARD: frozenset({Action.VIEW}),
}
# ... or, for country-wide pages, holds one of these at the root: the rules and the fleet are watched centrally.
AREA_NATIONAL_ACTIONS: dict[Area, frozenset[Action]] = {
    Area.RULES: frozenset({Action.VIEW}),
    Area.COLLECTORS: frozenset({Action.VIEW}),
    Area.RETENTION: frozenset({Action.VIEW}),
    Area.PLAYBOOKS: frozenset({Action.VIEW}),  # national guidance, kept centrally (provinces see it as tasks)
}


def role_allows(role: str, action: Action, owner: str | None = None) -> bool:
    """``owner`` None asks whether the role could ever do it (for showing bulk tools)."""
    if owner == Owner.PROVINCE and action in OWNED_BY_PROVINCE_LOSSES.get(role, frozenset()):
        return False
    if action in ROLE_ACTIONS.get(role, frozenset()):
        return True
    return owner != Owner.CENTRAL and action in OWNED_BY_PROVINCE_GAINS.get(role, frozenset())


def _role_scope(role: str, action: Action, path: str, field: str) -> Q:
    """The rows one grant allows ``action`` on, ownership included, as a filter."""
    inside = Q(**{f"{field}__path__startswith": path})
    province_owned = Q(owner=Owner.PROVINCE)
    if action in ROLE_ACTIONS.get(role, frozenset()):
        lost = action in OWNED_BY_PROVINCE_LOSSES.get(role, frozenset())
        return inside & ~province_owned if lost else inside
    if action in OWNED_BY_PROVINCE_GAINS.get(role, frozenset()):
        return inside & province_owned
    return Q(pk__in=[])


def _is_root(path: str) -> bool:
    """A grant at a root of the tree (the national SOC, path ``VN/``) covers the whole country."""
    return path.count("/") == 1


class Permissions:
    """A user's grants, read once per request (never across requests)."""

    def __init__(self, user: AnyUser) -> None:
        self.grants = user_grants(user)

    def can(self, action: Action, organisation: Organisation | None = None, owner: str | None = None) -> bool:
        """``organisation`` is the object's province (None: "anywhere in my scope"); ``owner`` an incident's.

        An object named without an owner is judged as centrally owned: ownership only ever adds rights on
        incidents whose owner the caller passed, so forgetting it cannot widen a province's rights.
        """
        if organisation is not None and owner is None:
            owner = Owner.CENTRAL
        return any(
            role_allows(role, action, owner) and (organisation is None or organisation.path.startswith(path))
            for path, role in self.grants
        )

    def can_nationally(self, action: Action) -> bool:
        """For country-wide objects (detection rules, published readiness): a grant at the root only."""
        return any(_is_root(path) and role_allows(role, action) for path, role in self.grants)

    def require(self, action: Action, organisation: Organisation | None = None, owner: str | None = None) -> None:
        if not self.can(action, organisation, owner):
            raise PermissionDenied(f"Your role does not allow '{action}' here")

    def require_any(self, actions: tuple[Action, ...], organisation: Organisation | None = None,
                    owner: str | None = None) -> None:
        """For forms whose exact action depends on the input: refuse early, before validating it."""
        if not any(self.can(action, organisation, owner) for action in actions):
            raise PermissionDenied("Your role does not allow this here")

    def restrict(self, queryset: QuerySet[Any], action: Action, field: str = "province",
                 owned: bool = False) -> QuerySet[Any]:
        """Only the rows this user holds ``action`` on (bulk changes); ``owned`` rows carry an incident owner."""
        scope = Q(pk__in=[])
        for path, role in self.grants:
            if owned:
                scope |= _role_scope(role, action, path, field)
            elif action in ROLE_ACTIONS.get(role, frozenset()):
                scope |= Q(**{f"{field}__path__startswith": path})
        return queryset.filter(scope)

    def organisations(self, action: Action) -> QuerySet[Organisation]:
        """Every organisation this user holds ``action`` in (the subtrees of the grants that allow it)."""
        scope = Q(pk__in=[])
        for path, role in self.grants:
            if action in ROLE_ACTIONS.get(role, frozenset()):
                scope |= Q(path__startswith=path)
        return Organisation.objects.filter(scope)

    def areas(self) -> frozenset[Area]:
        """The console areas this user has a use for (what the menu shows; each page still checks its actions)."""
        anywhere, nationally = self.allowed_anywhere(), self.allowed_nationally()
        return frozenset(area for area in Area if AREA_ACTIONS.get(area, frozenset()) & anywhere
                         or AREA_NATIONAL_ACTIONS.get(area, frozenset()) & nationally)

    def allowed_nationally(self) -> frozenset[Action]:
        return frozenset(action for action in Action if self.can_nationally(action))

    def allowed_anywhere(self) -> frozenset[Action]:
        return frozenset(action for action in Action if self.can(action))

    def allowed(self, organisation: Organisation, owner: str | None = None) -> frozenset[Action]:
        return frozenset(action for action in Action if self.can(action, organisation, owner))


def require(user: AnyUser, action: Action, organisation: Organisation | None = None) -> None:
    Permissions(user).require(action, organisation)


def require_organisation_manage(user: AnyUser, *, kind: str, place: Organisation) -> None:
    """Provincial admins manage the sites in their province (``place``: the site, or the parent of a new one);
    provinces and the national SOC are managed nationally."""
    target = place if kind == Kind.SITE else Organisation.objects.national()
    Permissions(user).require(Action.ORGANISATIONS_MANAGE, target)


def require_role_grant(user: AnyUser, *, organisation: Organisation, role: str) -> None:
    """Granting ``role`` in ``organisation``: a manager of that organisation; central roles only nationally."""
    permissions = Permissions(user)
    permissions.require(Action.MEMBERS_MANAGE, organisation)
    if role in CENTRAL_ROLES and not permissions.can(Action.MEMBERS_MANAGE, Organisation.objects.national()):
        raise PermissionDenied("Only the central SOC grants central roles.")
