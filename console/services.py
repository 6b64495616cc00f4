"""Writes from the console: events and searches found while hunting are added to an incident; saved searches;
a search made into a draft detection rule; the dashboard's weekly rollup.

The incident's own services do the writing (comment, observables), so its
timeline, audit log and live updates follow as for any other change; rules are
written by detection's authoring services, which compile, version and audit them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from console.dashboard import incident_week_sums, week_start_moment, week_starts
from console.events import Event
from console.models import SavedSearch, Sharing, WeeklyFigures
from console.search import EventSearch, rule_lucene
from detection.authoring import rule_create, rule_update
from detection.models import DetectionRule, RuleKind
from incidents.models import Comment, Incident, ObservableKind
from incidents.services.collaboration import comment_add, observable_add
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Kind, Organisation
from organisations.services import audit_record

# Event fields that become observables of the incident, with their kind.
OBSERVABLE_FIELDS = (("source.ip", ObservableKind.IP), ("destination.ip", ObservableKind.IP),
                     ("user.name", ObservableKind.ACCOUNT), ("host.name", ObservableKind.HOST))
COMMENT_FIELDS = ("@timestamp", "organization.id", "host.name", "event.dataset", "event.action", "event.outcome",
                  "source.ip", "user.name")


def event_attach(*, incident: Incident, event: Event, actor: Actor) -> Comment:
    """A comment quoting the event (id, key fields, summary) and its addresses, accounts and hosts as observables."""
    lines = [f"Event {event.id}"] + [f"{name}: {event.fields[name]}" for name in COMMENT_FIELDS
                                     if event.fields.get(name)]
    if event.summary:
        lines.append(event.summary)
    comment = comment_add(incident=incident, body="\n".join(lines), actor=actor)
    _observables_add(incident, [event], actor)
    return comment


# A search is attached with its first events (newest first, or in the search's sort); the comment links the rest.
ATTACH_SEARCH_EVENTS = 20
ATTACH_SEARCH_OBSERVABLES = 50


def search_attach(*, incident: Incident, search: EventSearch, events: list[Event], total: int, link: str,
                  actor: Actor) -> Comment:
    """A comment with the search (what it asks, its range, its count, a link to run it again) and its first
    events; their addresses, accounts and hosts become observables (at most ATTACH_SEARCH_OBSERVABLES)."""
    span = f"{timezone.localtime(search.start):%Y-%m-%d %H:%M} to {timezone.localtime(search.end):%Y-%m-%d %H:%M}"
    lines = [f"Event search: {search.describe()}", f"Time range: {span}", f"Matching events: {total}",
             f"Search: {link}"]
    shown = events[:ATTACH_SEARCH_EVENTS]
    if shown:
        lines.append(f"First {len(shown)} events:")
    lines += [f"- {e.fields.get('@timestamp', '')} {e.id} {e.host} {e.summary[:200]}" for e in shown]
    with transaction.atomic():
        comment = comment_add(incident=incident, body="\n".join(lines), actor=actor)
        _observables_add(incident, shown, actor)
    return comment


def _observables_add(incident: Incident, events: list[Event], actor: Actor) -> None:
    found = list(dict.fromkeys((kind, event.fields[name]) for event in events for name, kind in OBSERVABLE_FIELDS
                               if event.fields.get(name)))
    for kind, value in found[:ATTACH_SEARCH_OBSERVABLES]:
        try:
            observable_add(incident=incident, kind=kind, value=value, actor=actor)
        except ValidationError:
            continue  # not a valid value of that kind (e.g. a hostile host name): the comment keeps it


# --- saved searches ---------------------------------------------------------------------------------------

# Saved searches a user may keep: a user (or a stolen session) cannot grow the table, or everyone's list, without end.
SAVED_SEARCHES_PER_USER = 200


def saved_search_create(*, name: str, search: EventSearch, sharing: str, actor: Actor) -> SavedSearch:
    """A named search of ``actor``'s, saved from their own organisation; shared as ``sharing`` allows them."""
    user = _saver(actor)
    if SavedSearch.objects.filter(owner=user).count() >= SAVED_SEARCHES_PER_USER:
        raise ValidationError(f"You keep {SAVED_SEARCHES_PER_USER} saved searches, the most there may be: "
                              "delete one you no longer use first.")
    home = _home_organisation(actor)
    saved = SavedSearch(owner=user, organisation=home)
    return _saved_search_write(saved, name=name, search=search, sharing=sharing, actor=actor, action="created")


def saved_search_update(*, saved: SavedSearch, name: str, search: EventSearch, sharing: str,
                        actor: Actor) -> SavedSearch:
    _require_owner(saved, actor)
    return _saved_search_write(saved, name=name, search=search, sharing=sharing, actor=actor, action="updated")


def saved_search_delete(*, saved: SavedSearch, actor: Actor) -> None:
    _require_owner(saved, actor)
    with transaction.atomic():
        audit_record(actor=actor, action="saved_search.deleted", object_type="saved_search",
                     object_ref=str(saved.pk), organisation=saved.organisation, before=_snapshot(saved))
        saved.delete()


def _saved_search_write(saved: SavedSearch, *, name: str, search: EventSearch, sharing: str, actor: Actor,
                        action: str) -> SavedSearch:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("Name the search (at most 100 characters).")
    _check_sharing(saved.organisation, sharing, actor)
    before = _snapshot(saved) if saved.pk else {}
    saved.name, saved.sharing, saved.query = name, sharing, search.params().urlencode()
    if len(saved.query) > 4000:
        raise ValidationError("This search is too long to save.")
    try:
        with transaction.atomic():
            saved.save()
            audit_record(actor=actor, action=f"saved_search.{action}", object_type="saved_search",
                         object_ref=str(saved.pk), organisation=saved.organisation, before=before,
                         after=_snapshot(saved))
    except IntegrityError as exc:
        raise ValidationError("You already have a saved search with this name.") from exc
    return saved


def _saver(actor: Actor) -> Any:
    if actor.user is None or not Permissions(actor.user).can(Action.SAVE_FILTER):
        raise PermissionDenied("Your role does not allow saving searches.")
    return actor.user


def _home_organisation(actor: Actor) -> Organisation:
    """The highest organisation the actor saves searches in (the centre for central staff, else their
    province or site)."""
    if actor.user is not None:
        permissions = Permissions(actor.user)
        for home in Organisation.objects.filter(memberships__user_id=actor.user.pk).order_by("path"):
            if permissions.can(Action.SAVE_FILTER, home):
                return home
    raise PermissionDenied("Your role does not allow saving searches.")


def _check_sharing(organisation: Organisation, sharing: str, actor: Actor) -> None:
    if sharing not in Sharing.values:
        raise ValidationError("Choose who sees the search: only you, your province, or every province.")
    national = organisation.kind == Kind.NATIONAL
    if sharing == Sharing.NATIONAL and not (national and actor.user
                                            and Permissions(actor.user).can_nationally(Action.SAVE_FILTER)):
        raise PermissionDenied("Only the central SOC shares searches with every province.")
    if sharing == Sharing.PROVINCE and national:
        raise ValidationError("The central SOC shares a search with every province, or keeps it private.")


def _require_owner(saved: SavedSearch, actor: Actor) -> None:
    if actor.user_id != saved.owner_id:
        raise PermissionDenied("Only its owner changes a saved search.")


def _snapshot(saved: SavedSearch) -> dict[str, str]:
    return {"name": saved.name, "sharing": saved.sharing, "query": saved.query}


# --- a search as a detection rule -------------------------------------------------------------------------

def rule_draft_from_search(*, search: EventSearch, name: str, group_by: list[str], count: int,
                           window_seconds: int, organisation: Organisation | None, actor: Actor) -> DetectionRule:
    """A threshold rule, switched off, that alerts when ``count`` events of ``search`` (its query and field
    filters, time range aside) share the ``group_by`` values within ``window_seconds``. Count 1 makes it a
    plain query rule: every matching event alerts, grouped. Only a central lead manages rules."""
    _require_rule_manager(actor)
    params = {"query": rule_lucene(search), "group_by": group_by, "count": count, "window_seconds": window_seconds}
    return rule_create(actor=actor, data={
        "name": name, "kind": RuleKind.THRESHOLD, "params": params, "enabled": False, "organisation": organisation,
        "description": f"Drafted from the event search: {search.describe()}"[:2000]})


def rule_enable_drafted(*, rule: DetectionRule, actor: Actor) -> DetectionRule:
    _require_rule_manager(actor)
    return rule_update(rule=rule, actor=actor, data={"enabled": True})


def _require_rule_manager(actor: Actor) -> None:
    if actor.user is None or not Permissions(actor.user).can_nationally(Action.RULES_MANAGE):
        raise PermissionDenied("Only a central lead manages detection rules.")


def weekly_figures_refresh(*, now: datetime) -> int:
    """Recount every past week of the dashboard's trend charts, for every province, in one grouped scan.

    The rows are replaced in one transaction under an advisory lock, so readers see the old or the new figures,
    never a mix, and two overlapping runs (a slow worker, a manual run) take turns instead of colliding.
    """
    weeks = week_starts(now)
    incidents = Incident.objects.filter(created_at__gte=week_start_moment(weeks[0]),
                                        created_at__lt=week_start_moment(weeks[-1]), province__isnull=False)
    rows = incident_week_sums(incidents, now=now, by_province=True)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('console.weekly_figures'))")
        WeeklyFigures.objects.all().delete()
        WeeklyFigures.objects.bulk_create([WeeklyFigures(computed_at=now, **row) for row in rows], batch_size=1000)
    return len(rows)
