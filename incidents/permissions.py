"""Who may do what, in one place; views and the API both ask here.

Scope (which incidents a user can see at all) is decided by
``Organisation.objects.visible_to``; this module decides the action. A grant
counts only for objects inside the organisation it was given in, so a
provincial responder's rights stop at their province's border. Read fresh
per request: a revoked membership loses its rights on the next request.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from incidents.models import Owner, Status
from organisations.models import Kind, Organisation, Role
from organisations.selectors import AnyUser, user_grants


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
    SAVE_FILTER = "save_filter"    # keep named list filters (auditors write nothing, not even these)
    AUDIT_VIEW = "audit_view"
    MEMBERS_MANAGE = "members_manage"
    ORGANISATIONS_MANAGE = "organisations_manage"  # sites below a province; provinces only nationally
    SLA_MANAGE = "sla_manage"
    RETENTION_MANAGE = "retention_manage"  # days each province's events are kept (central lead only)


_CENTRAL_WORK = {Action.VIEW, Action.SAVE_FILTER, Action.FILE, Action.EDIT, Action.TRIAGE, Action.PROGRESS,
                 Action.HANDOVER, Action.MERGE, Action.COMMENT, Action.OBSERVE, Action.ATTACH, Action.REQUEST_SEND}
_PROVINCE_WORK = {Action.VIEW, Action.SAVE_FILTER, Action.FILE, Action.PROGRESS, Action.COMMENT, Action.OBSERVE,
                  Action.ATTACH, Action.REQUEST_WORK}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.CENTRAL_LEAD: frozenset(set(Action)),
    Role.CENTRAL_ANALYST: frozenset(_CENTRAL_WORK),
    Role.PROVINCIAL_RESPONDER: frozenset(_PROVINCE_WORK),
    Role.PROVINCIAL_ADMIN: frozenset(_PROVINCE_WORK | {Action.MEMBERS_MANAGE, Action.ORGANISATIONS_MANAGE}),
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

    def allowed_anywhere(self) -> frozenset[Action]:
        return frozenset(action for action in Action if self.can(action))

    def allowed(self, organisation: Organisation, owner: str | None = None) -> frozenset[Action]:
        return frozenset(action for action in Action if self.can(action, organisation, owner))


def require(user: AnyUser, action: Action, organisation: Organisation | None = None) -> None:
    Permissions(user).require(action, organisation)


def status_action(status: str) -> Action:
    """Which right a move to ``status`` needs."""
    if status == Status.CLOSED:
        return Action.CLOSE
    if status in (Status.IN_PROGRESS, Status.CONTAINED, Status.RESOLVED):
        return Action.PROGRESS
    return Action.TRIAGE


STATUS_ACTIONS = (Action.TRIAGE, Action.PROGRESS, Action.CLOSE)
BULK_ACTIONS = (Action.TRIAGE, Action.PROGRESS, Action.CLOSE, Action.ASSIGN)


def require_organisation_manage(user: AnyUser, *, kind: str, place: Organisation) -> None:
    """Provincial admins manage the sites in their province (``place``: the site, or the parent of a new one);
    provinces and the national SOC are managed nationally."""
    target = place if kind == Kind.SITE else Organisation.objects.national()
    Permissions(user).require(Action.ORGANISATIONS_MANAGE, target)
