"""API shapes. Input serializers validate; services write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from django.db import models
from django.db.models import Func, QuerySet
from django.utils import timezone
from rest_framework import serializers

from incidents.models import (
    TLP,
    Attachment,
    Category,
    Comment,
    Incident,
    Observable,
    ObservableKind,
    Owner,
    Priority,
    RequestForAction,
    RequestStatus,
    SavedFilter,
    Severity,
    Status,
    TimelineEntry,
)


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    province = serializers.CharField(source="province.code", read_only=True)
    assignee = serializers.CharField(source="assignee.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Incident
        fields = [
            "key", "title", "description", "category", "severity", "tlp", "status", "owner",
            "province", "assignee", "created_at", "updated_at", "last_seen_at", "alert_count",
            "mitre_techniques", "resolution_summary", "affected_systems", "occurred_at", "contact",
            "ack_due_at", "contain_due_at", "resolve_due_at", "acknowledged_at", "contained_at", "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields


# IncidentSerializer's fields as columns of one query: the related ones by their source.
INCIDENT_COLUMNS = tuple({"province": "province__code", "assignee": "assignee__username"}.get(name, name)
                         for name in IncidentSerializer.Meta.fields)
_DATETIMES = frozenset(field.name for field in Incident._meta.fields if isinstance(field, models.DateTimeField))


class UtcIso(Func):
    """A time as DRF's DateTimeField writes it in UTC (``2026-12-04T11:00:11.147710Z``; no fraction on a whole
    second, as ``isoformat`` does), written by PostgreSQL. NULL stays NULL (``||`` with NULL is NULL)."""

    template = ("to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
                "mod(date_part('microseconds', %(expressions)s AT TIME ZONE 'UTC')::bigint, 1000000) = 0 THEN '' "
                "ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', '.US') END || 'Z'")
    output_field = models.CharField()


def incident_values(incidents: QuerySet[Incident]) -> QuerySet[Any]:
    """``incidents`` as rows of INCIDENT_COLUMNS, for ``incident_rows``.

    In UTC (the API's zone) PostgreSQL writes the eleven times of each row as text: read as datetimes (psycopg's
    and Django's loaders, in Python) and formatted again, they were a sixth of the list's CPU. In any other zone
    they are read as datetimes and converted by ``incident_rows``.
    """
    if str(timezone.get_current_timezone()) != "UTC":
        return incidents.values_list(*INCIDENT_COLUMNS)
    return incidents.values_list(*(UtcIso(name) if name in _DATETIMES else name for name in INCIDENT_COLUMNS))


def incident_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of ``incident_values`` as IncidentSerializer writes them, for read-only lists.

    The same JSON (tests/incidents/test_api_contract.py compares the two), at a fifth of the CPU: the
    ModelSerializer looks up each of 26 fields of 50 model instances through its field objects. Times already
    written (``UtcIso``) are left as they are.
    """
    zone = timezone.get_current_timezone()
    names = IncidentSerializer.Meta.fields
    datetimes = [(n, name) for n, name in enumerate(names) if name in _DATETIMES]
    out = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        for n, name in datetimes:
            if isinstance(row[n], datetime):
                item[name] = _iso(row[n], zone)
        out.append(item)
    return out


def _iso(value: datetime, zone: tzinfo) -> str:
    """DRF's DateTimeField output: ISO 8601 in the current zone, UTC written as Z."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class IncidentUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=50000)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False)
    mitre_techniques = serializers.ListField(child=serializers.CharField(max_length=16), required=False,
                                             max_length=200)


class IntakeSerializer(serializers.Serializer[dict[str, Any]]):
    province = serializers.CharField(max_length=16)
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=50000)
    affected_systems = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    contact = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices, default=Category.OTHER)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)


class StatusChangeSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=Status.choices)
    resolution_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class AssignSerializer(serializers.Serializer[dict[str, Any]]):
    assignee = serializers.IntegerField(allow_null=True, help_text="User id of a central lead or analyst")


class HandoverSerializer(serializers.Serializer[dict[str, Any]]):
    owner = serializers.ChoiceField(choices=Owner.choices)


class MergeSerializer(serializers.Serializer[dict[str, Any]]):
    into = serializers.CharField(max_length=32, help_text="Key of the surviving incident")


class BulkSerializer(serializers.Serializer[dict[str, Any]]):
    keys = serializers.ListField(child=serializers.CharField(max_length=32), min_length=1, max_length=5000)
    action = serializers.ChoiceField(choices=["status", "assign", "close"])
    status = serializers.ChoiceField(choices=Status.choices, required=False, allow_null=True, default=None)
    assignee = serializers.IntegerField(required=False, allow_null=True, default=None)
    resolution_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class BulkResultSerializer(serializers.Serializer[dict[str, Any]]):
    changed = serializers.ListField(child=serializers.CharField())
    skipped = serializers.DictField(child=serializers.CharField())


class TimelineEntrySerializer(serializers.ModelSerializer[TimelineEntry]):
    class Meta:
        model = TimelineEntry
        fields = ["created_at", "actor_name", "kind", "before", "after"]
        read_only_fields = fields


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = serializers.CharField(source="author.username", read_only=True, default=None, allow_null=True)
    mentions: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="username")

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "mentions", "created_at"]
        read_only_fields = ["id", "author", "mentions", "created_at"]
        extra_kwargs = {"body": {"max_length": 20000}}


class ObservableSerializer(serializers.ModelSerializer[Observable]):
    kind = serializers.ChoiceField(choices=ObservableKind.choices)
    seen_elsewhere = serializers.IntegerField(read_only=True, default=0,
                                              help_text="Other incidents (in your scope) holding it")

    class Meta:
        model = Observable
        fields = ["id", "kind", "value", "seen_elsewhere", "created_at"]
        read_only_fields = ["id", "seen_elsewhere", "created_at"]


class RequestSerializer(serializers.ModelSerializer[RequestForAction]):
    incident = serializers.CharField(source="incident.key", read_only=True)
    province = serializers.CharField(source="province.code", read_only=True)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = RequestForAction
        fields = ["id", "incident", "province", "title", "instructions", "evidence_expected", "priority", "status",
                  "due_at", "progress_note", "overdue", "created_at", "updated_at", "acknowledged_at", "done_at",
                  "escalated_at"]
        read_only_fields = ["id", "incident", "province", "title", "evidence_expected", "status", "progress_note",
                            "overdue", "created_at", "updated_at", "acknowledged_at", "done_at", "escalated_at"]


class RequestUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=[c for c in RequestStatus.choices
                                              if c[0] not in (RequestStatus.OPEN, RequestStatus.NOT_APPLICABLE)])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "sha256", "created_at"]
        read_only_fields = fields


class AttachmentUploadSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField()


class SavedFilterSerializer(serializers.ModelSerializer[SavedFilter]):
    params = serializers.DictField(child=serializers.CharField(max_length=500), write_only=True,
                                   help_text="The list's query parameters: status, severity, province, q, ...")

    class Meta:
        model = SavedFilter
        fields = ["id", "name", "query", "params", "created_at"]
        read_only_fields = ["id", "query", "created_at"]


class SlaCellSerializer(serializers.Serializer[dict[str, Any]]):
    severity = serializers.CharField()
    origin = serializers.ChoiceField(choices=["national", "override", "built-in"],
                                     help_text="Where the targets in force come from")
    acknowledge_minutes = serializers.IntegerField()
    contain_minutes = serializers.IntegerField()
    resolve_minutes = serializers.IntegerField()
    business_hours_only = serializers.BooleanField()


class SlaRowSerializer(serializers.Serializer[dict[str, Any]]):
    organisation = serializers.CharField(source="organisation.code")
    cells = SlaCellSerializer(many=True)


class SlaPolicySerializer(serializers.Serializer[dict[str, Any]]):
    """Minutes per clock; a partial body keeps the other values of the row in force."""

    acknowledge_minutes = serializers.IntegerField(min_value=1, required=False)
    contain_minutes = serializers.IntegerField(min_value=1, required=False)
    resolve_minutes = serializers.IntegerField(min_value=1, required=False)
    business_hours_only = serializers.BooleanField(required=False)
    business_day_start = serializers.TimeField(required=False, help_text="Local time, e.g. 08:00")
    business_day_end = serializers.TimeField(required=False, help_text="Local time, e.g. 17:00")
