"""Reads of incidents and what hangs off them, always through the user's scope.

Each ``*_get`` answers 404 for a missing object and for another province's alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, TypeVar, cast

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    Field,
    IntegerField,
    Model,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.http import Http404
from django.utils import timezone

from incidents.models import (
    TASK_CLOSED,
    Attachment,
    Comment,
    Incident,
    IncidentQuerySet,
    Observable,
    Playbook,
    PlaybookVersion,
    RequestForAction,
    RequestForActionQuerySet,
    RequestStatus,
    SavedFilter,
    Severity,
    SlaPolicy,
    TimelineEntry,
)
from incidents.observables import pivot_query
from incidents.sla import DEFAULT_TARGETS
from organisations.access import ASSIGNEE_ROLES, PROVINCIAL_WORKING_ROLES, Owner
from organisations.models import Kind, Organisation
from organisations.selectors import AnyUser
from soc.es import events_pattern, index_pattern, scoped_search

ORDERINGS = {"created_at", "-created_at", "updated_at", "-updated_at", "severity", "-severity", "status",
             "-status", "key", "-key", "resolve_due_at", "-resolve_due_at"}
FILTERS = ("status", "severity", "category", "owner", "tlp")
# Every query parameter the incident list understands (what a saved filter may hold).
FILTER_KEYS = (*FILTERS, "province", "assignee", "q", "sla_breached", "my_tasks", "ordering")


ModelT = TypeVar("ModelT", bound=Model)


# Related rows read with a list of children, by path from the child: ``(("assignee", ("username",)), ...)``; a
# nested path (``playbook_version__playbook``) comes after its parent's. Each related instance holds its pk and the
# named columns only (the rest load on first use, as with ``only()``).
Related = tuple[tuple[str, tuple[str, ...]], ...]


def incident_children(model: type[ModelT], *, incident: Incident, order: tuple[str, ...] = (),
                      limit: int | None = None, related: Related = ()) -> list[ModelT]:
    """``model.objects.filter(incident=incident).select_related(*related).order_by(*order)[:limit]`` (``order``
    empty: the model's own), the same instances, through one statement made once per model and shape.

    The incident page reads several such lists a view and the ORM built each query anew: 0.3 of its 0.4 ms of
    CPU (1 ms for the task checklist's four joined tables). Only forward foreign keys are joined; JSON columns
    are decoded as the ORM does.
    """
    sql, parts = _children_statement(model, order or tuple(model._meta.ordering or ()), limit, related)
    with connection.cursor() as cursor:
        cursor.execute(sql, [incident.pk])
        rows = cursor.fetchall()
    return [cast(ModelT, _instances(row, parts)[""]) for row in rows]


@dataclass(frozen=True)
class _Part:
    """One model's columns in a children statement's row: ``row[start:start + len(names)]``."""

    path: str  # "" for the child itself, else the related path from it
    model: type[Model]
    names: list[str]
    start: int
    decoded: list[tuple[int, Any]]  # (position in the part, field) of columns the ORM converts when read


def _instances(row: tuple[Any, ...], parts: list[_Part]) -> dict[str, Model | None]:
    made: dict[str, Model | None] = {}
    for part in parts:
        values = list(row[part.start:part.start + len(part.names)])
        for n, field in part.decoded:
            values[n] = field.from_db_value(values[n], None, connection)
        instance = None if values[0] is None and part.path else part.model.from_db(connection.alias, part.names,
                                                                                   values)
        made[part.path] = instance
        if part.path:
            parent_path, _sep, name = part.path.rpartition("__")
            parent = made[parent_path]
            if parent is not None:
                parent._meta.get_field(name).set_cached_value(parent, instance)  # type: ignore[union-attr]
    return made


@cache
def _children_statement(model: type[Model], order: tuple[str, ...], limit: int | None, related: Related
                        ) -> tuple[str, list[_Part]]:
    quote, table = connection.ops.quote_name, _table(model)
    fields = list(model._meta.concrete_fields)
    parts = [_part("", model, fields, 0)]
    columns = [f"{table}.{quote(field.column)}" for field in fields]
    joins, aliases = [], {"": table}
    for n, (path, names) in enumerate(related):
        parent_path, _sep, name = path.rpartition("__")
        parent = next(part.model for part in parts if part.path == parent_path)
        foreign = parent._meta.get_field(name)
        target = foreign.related_model
        assert isinstance(foreign, Field) and isinstance(target, type) and issubclass(target, Model)  # forward FK
        alias = aliases[path] = quote(f"r{n}")
        chosen = [target._meta.pk, *(target._meta.get_field(column) for column in names)]
        parts.append(_part(path, target, chosen, len(columns)))
        columns += [f"{alias}.{_column(target, field.name)}" for field in chosen]
        joins.append(f" LEFT OUTER JOIN {_table(target)} {alias} ON {alias}.{quote(target._meta.pk.column)} "
                     f"= {aliases[parent_path]}.{quote(foreign.column)}")
    ordering = ", ".join(f"{table}.{_column(model, name.lstrip('-'))} {'DESC' if name.startswith('-') else 'ASC'}"
                         for name in order)
    sql = (f"SELECT {', '.join(columns)} FROM {table}{''.join(joins)} "  # noqa: S608 - names from the models, quoted; the value is a parameter
           f"WHERE {table}.{_column(model, 'incident')} = %s"
           + (f" ORDER BY {ordering}" if ordering else "") + (f" LIMIT {int(limit)}" if limit is not None else ""))
    return sql, parts


def _part(path: str, model: type[Model], fields: list[Any], start: int) -> _Part:
    return _Part(path, model, [field.attname for field in fields], start,
                 [(n, field) for n, field in enumerate(fields) if hasattr(field, "from_db_value")])


def _table(model: type[Model]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column  # a concrete column, by the model's own name for it
    return str(connection.ops.quote_name(field.column))


def incident_list(*, user: AnyUser, filters: Mapping[str, Any] | None = None) -> IncidentQuerySet:
    """Scoped, filtered and ordered; unknown filter values simply match nothing."""
    incidents = Incident.objects.visible_to(user).select_related("province", "assignee")
    filters = filters or {}
    if _unstorable(filters):
        return incidents.none()
    for name in FILTERS:
        if filters.get(name):
            incidents = incidents.filter(**{name: filters[name]})
    if filters.get("province"):
        incidents = incidents.filter(province__code=filters["province"])
    if filters.get("assignee"):
        incidents = incidents.filter(assignee__username=filters["assignee"])
    if filters.get("q"):
        incidents = incidents.filter(Q(title__icontains=filters["q"]) | Q(key__iexact=filters["q"]))
    if filters.get("my_tasks") == "today":
        incidents = incidents.filter(pk__in=my_tasks_due_today(user=user).values("incident_id"))
    breached = str(filters.get("sla_breached", "")).lower()
    if breached in ("true", "1", "yes"):
        incidents = incidents.sla_breached(timezone.now())
    elif breached in ("false", "0", "no"):
        incidents = incidents.exclude(pk__in=Incident.objects.sla_breached(timezone.now()).values("pk"))
    ordering = filters.get("ordering")
    if ordering in ("severity", "-severity"):
        # By rank, not by name: "critical" sorts above "high", not before it alphabetically.
        rank = Case(*(When(severity=value, then=Value(n)) for n, value in enumerate(Severity.values)),
                    output_field=IntegerField())
        incidents = incidents.alias(severity_rank=rank).order_by(ordering.replace("severity", "severity_rank"), "-id")
    elif ordering in ORDERINGS:
        incidents = incidents.order_by(ordering, "-id")
    return incidents


# What a triage row shows (incidents/templatetags/incident_rows.py); rows added live carry the same.
QUEUE_COLUMNS = ("key", "title", "severity", "status", "alert_count", "created_at", "province__code")


def incident_queue(*, user: AnyUser, filters: Mapping[str, Any] | None = None) -> IncidentQuerySet:
    """``incident_list`` with only the columns a triage row shows: a third of the page's query CPU was reading
    and converting the other thirty columns, and the assignee's row, for fifty incidents."""
    return incident_list(user=user, filters=filters).select_related(None).select_related("province").only(
        *QUEUE_COLUMNS)


def _unstorable(filters: Mapping[str, Any]) -> bool:
    """A NUL character can be in no stored value (PostgreSQL refuses it): such a filter matches nothing."""
    return any("\x00" in str(value) for value in filters.values())


def incident_get(*, user: AnyUser, key: str) -> Incident:
    if "\x00" in key:
        raise Http404("No such incident")
    try:
        return incident_list(user=user).get(key=key)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident") from exc


def incident_get_many(*, user: AnyUser, keys: list[str]) -> IncidentQuerySet:
    return Incident.objects.visible_to(user).filter(key__in=keys)


def timeline_list(*, incident: Incident) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(incident=incident)


def comment_list(*, incident: Incident) -> QuerySet[Comment]:
    return Comment.objects.filter(incident=incident).select_related("author").prefetch_related("mentions")


def comment_thread(*, incident: Incident) -> list[Comment]:
    """The incident page's comments, oldest first, each with its author's name (the page shows no mentions)."""
    return incident_children(Comment, incident=incident, related=(("author", ("username",)),))


def observable_list(*, user: AnyUser, incident: Incident) -> list[Observable]:
    """Each observable with ``seen_elsewhere``: how many other incidents the user may see hold it (one query)."""
    observables = incident_children(Observable, incident=incident)
    if not observables:
        return observables
    same = Q()
    for observable in observables:
        same |= Q(kind=observable.kind, value=observable.value)
    counts = {
        (row["kind"], row["value"]): row["n"]
        for row in Observable.objects.filter(same, incident__in=Incident.objects.visible_to(user))
        .exclude(incident=incident).values("kind", "value").annotate(n=Count("incident", distinct=True))
    }
    for observable in observables:
        observable.seen_elsewhere = counts.get((observable.kind, observable.value), 0)  # type: ignore[attr-defined]
        observable.pivot = pivot_query(observable.kind, observable.value)  # type: ignore[attr-defined]
    return observables


def my_tasks_due_today(*, user: AnyUser) -> RequestForActionQuerySet:
    """Tasks assigned to ``user``, not finished, due before the end of today in the user's zone (so the overdue
    ones too), on incidents the user sees."""
    if not user.is_authenticated:
        return RequestForAction.objects.none()
    tomorrow = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return (RequestForAction.objects.visible_to(user).filter(assignee_id=user.pk, due_at__lt=tomorrow)
            .exclude(status__in=TASK_CLOSED))


def _requests(user: AnyUser) -> RequestForActionQuerySet:
    """Requests for action: the provinces' tasks (the centre's own tasks are on the incidents, see task_list)."""
    return RequestForAction.objects.visible_to(user).requests().select_related("incident", "province", "created_by")


def request_list(*, user: AnyUser, filters: Mapping[str, Any] | None = None) -> RequestForActionQuerySet:
    """A province's to-do and the centre's follow-up. A playbook step skipped as not applicable is listed only
    when asked for by status (it stays on the incident's checklist)."""
    requests = _requests(user)
    filters = filters or {}
    if _unstorable(filters):
        return requests.none()
    if filters.get("status"):
        requests = requests.filter(status=filters["status"])
    else:
        requests = requests.exclude(status=RequestStatus.NOT_APPLICABLE)
    if filters.get("incident"):
        requests = requests.filter(incident__key=filters["incident"])
    overdue = str(filters.get("overdue", "")).lower()
    if overdue in ("true", "1", "yes"):
        requests = requests.overdue(timezone.now())
    return requests


def request_get(*, user: AnyUser, request_id: int) -> RequestForAction:
    try:
        return _requests(user).select_related("incident__province").get(pk=request_id)
    except RequestForAction.DoesNotExist as exc:
        raise Http404("No such request") from exc


def task_list(*, incident: Incident) -> list[RequestForAction]:
    """The incident's checklist: every task, the centre's and the province's, in playbook order (a task's
    scope is its incident's: callers fetch the incident in the user's scope first)."""
    tasks = incident_children(RequestForAction, incident=incident, order=("position", "due_at", "id"),
                              related=TASK_RELATED)
    for task in tasks:
        task.incident = incident  # the one they were read by: no join, no second copy
    prefetch_related_objects(tasks, "evidence")
    return tasks


# What the checklist and the API show of a task's assignee, province and playbook (the rest loads on first use).
TASK_RELATED = (("assignee", ("username",)), ("province", ("code", "name")),
                ("playbook_version", ("playbook", "number", "name")), ("playbook_version__playbook", ("slug",)))


def task_get(*, incident: Incident, task_id: int) -> RequestForAction:
    """One task of an incident already fetched in the user's scope; 404 for any other id."""
    try:
        return (RequestForAction.objects.select_related("incident__province", "province", "assignee",
                                                        "playbook_version__playbook")
                .get(incident=incident, pk=task_id))
    except RequestForAction.DoesNotExist as exc:
        raise Http404("No such task") from exc


@dataclass(frozen=True)
class TaskProgress:
    done: int
    total: int  # not counting the steps marked not applicable
    overdue: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def task_progress(tasks: list[RequestForAction]) -> TaskProgress:
    counted = [task for task in tasks if task.status != RequestStatus.NOT_APPLICABLE]
    return TaskProgress(done=sum(task.status == RequestStatus.DONE for task in counted), total=len(counted),
                        overdue=sum(task.overdue for task in counted))


def task_assignees(*, task: RequestForAction) -> list[tuple[int, str]]:
    """Whom a task can be given to: central staff for the centre's, the province's working members for its own."""
    if task.owner == Owner.CENTRAL:
        return central_staff()
    return list(get_user_model().objects.filter(
        is_active=True, memberships__organisation_id=task.province_id, memberships__role__in=PROVINCIAL_WORKING_ROLES,
    ).order_by("username").values_list("pk", "username").distinct())


def playbook_list() -> QuerySet[Playbook]:
    """Country-wide guidance: every console user may read every playbook."""
    return Playbook.objects.all()


def playbook_get(*, slug: str) -> Playbook:
    try:
        return Playbook.objects.get(slug=slug)
    except (Playbook.DoesNotExist, ValueError) as exc:
        raise Http404("No such playbook") from exc


def playbook_version_get(*, playbook: Playbook, number: int) -> PlaybookVersion:
    try:
        return playbook.versions.select_related("author").get(number=number)
    except PlaybookVersion.DoesNotExist as exc:
        raise Http404("No such version") from exc


def attachment_list(*, incident: Incident) -> QuerySet[Attachment]:
    return Attachment.objects.filter(incident=incident).select_related("uploaded_by")


def evidence_list(*, incident: Incident) -> list[Attachment]:
    """The incident page's evidence (name, size, hash, and the checklist's choices): no uploader to join."""
    return incident_children(Attachment, incident=incident)


def attachment_get(*, user: AnyUser, attachment_id: int) -> Attachment:
    try:
        return Attachment.objects.select_related("incident__province").get(
            pk=attachment_id, incident__in=Incident.objects.visible_to(user))
    except Attachment.DoesNotExist as exc:
        raise Http404("No such attachment") from exc


def central_staff() -> list[tuple[int, str]]:
    """(id, username) of everyone an incident can be assigned to: central leads and analysts."""
    return list(get_user_model().objects.filter(
        is_active=True, memberships__organisation__kind=Kind.NATIONAL,
        memberships__role__in=ASSIGNEE_ROLES,
    ).order_by("username").values_list("pk", "username").distinct())


LINKED_ALERTS = 100  # the newest, by last seen, that the incident page lists


def linked_alerts(*, incident: Incident, limit: int = LINKED_ALERTS) -> list[Any]:
    """The detection alerts behind an incident (they carry the incident's province), newest first, each with its
    rule's name (``rule_name``): the page shows no more of the rule, whose row was a third of this read's CPU."""
    return list(incident.detection_alerts.annotate(rule_name=F("rule__name")).order_by("-last_seen")[:limit])


def saved_filter_list(*, user: AnyUser) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(user_id=user.pk) if user.is_authenticated else SavedFilter.objects.none()


def saved_filter_get(*, user: AnyUser, filter_id: int) -> SavedFilter:
    """Another user's filter answers 404, like a missing one."""
    try:
        return saved_filter_list(user=user).get(pk=filter_id)
    except SavedFilter.DoesNotExist as exc:
        raise Http404("No such filter") from exc


def incident_events(*, user: AnyUser, incident: Incident, limit: int = 100) -> list[dict[str, Any]]:
    """The events behind an incident's alerts, read from Elasticsearch only when asked for, through the one
    scoped search (so an event outside the user's provinces never comes back, whatever an alert points at).

    They are read from the event indices and from the evidence copies (``detection.evidence``), which outlive
    retention while the incident exists; an event found in both is returned once."""
    refs = [ref for alert in linked_alerts(incident=incident) for ref in alert.event_refs]
    return list(event_hits(user=user, refs=refs, limit=limit).values())


def event_hits(*, user: AnyUser, refs: list[str], limit: int = 100) -> dict[str, dict[str, Any]]:
    """The events that alerts' ``event_refs`` ("<index>/<id>") name, by id, oldest first: one scoped search of
    at most ``limit`` ids over the event indices and the evidence copies (a copy and its original count once)."""
    ids = list(dict.fromkeys(ref.rsplit("/", 1)[-1] for ref in refs))[:limit]
    if not ids:
        return {}
    found = scoped_search(user=user, query={"ids": {"values": ids}}, size=2 * limit, sort=[{"@timestamp": "asc"}],
                          indices=f"{events_pattern()},{index_pattern('evidence')}")
    return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}


def sla_policy_table(*, user: AnyUser) -> list[dict[str, Any]]:
    """Per organisation the user sees, the targets in force per severity and where they come from
    (``origin``: ``national``, ``override`` or ``built-in``). Three queries whatever the number of provinces."""
    organisations = list(Organisation.objects.visible_to(user).exclude(kind=Kind.SITE).order_by("path"))
    national = Organisation.objects.national()
    rows = {(p.organisation_id, p.severity): p
            for p in SlaPolicy.objects.filter(organisation__in=[national, *organisations])}
    table = []
    for organisation in organisations:
        cells = []
        for severity in Severity.values:
            own = rows.get((organisation.pk, severity))
            inherited = rows.get((national.pk, severity))
            policy = own or inherited
            origin = ("national" if organisation.pk == national.pk or own is None else "override") if policy \
                else "built-in"
            targets = policy or DEFAULT_TARGETS[severity]
            cells.append({"severity": severity, "origin": origin, "policy": own,
                          "acknowledge_minutes": targets.acknowledge_minutes,
                          "contain_minutes": targets.contain_minutes, "resolve_minutes": targets.resolve_minutes,
                          "business_hours_only": bool(getattr(policy, "business_hours_only", False))})
        table.append({"organisation": organisation, "cells": cells})
    return table
