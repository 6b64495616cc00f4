"""The incidents API: parse with a serializer, fetch in scope (404 otherwise), check the role (403), call a service.

Every view leaves authentication and the default IsAuthenticated to the settings; nothing is AllowAny.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api import serializers as s
from incidents.models import (
    BULK_ACTIONS,
    STATUS_ACTIONS,
    Attachment,
    Comment,
    Incident,
    IncidentQuerySet,
    Observable,
    SavedFilter,
    TimelineEntry,
    status_action,
)
from incidents.selectors import (
    attachment_get,
    attachment_list,
    comment_list,
    incident_events,
    incident_get,
    incident_list,
    observable_list,
    request_get,
    request_list,
    saved_filter_get,
    saved_filter_list,
    sla_policy_table,
    timeline_list,
)
from incidents.services.bulk import incident_bulk_apply
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.filters import saved_filter_delete, saved_filter_save
from incidents.services.intake import incident_file
from incidents.services.merge import incident_merge
from incidents.services.requests import request_send, request_update
from incidents.services.sla import sla_policy_clear, sla_policy_set
from incidents.services.workflow import incident_assign, incident_change_status, incident_handover, incident_update
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Organisation
from organisations.selectors import organisation_get


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class IncidentScoped:
    """The incident named in the URL, in the user's scope, with the user's rights on it."""

    request: Request
    kwargs: dict[str, Any]

    def incident(self, action: Action | None = Action.VIEW) -> Incident:
        incident = incident_get(user=self.request.user, key=self.kwargs["key"])
        if action is not None:
            Permissions(self.request.user).require(action, incident.province, incident.owner)
        return incident

    def actor(self) -> Actor:
        return Actor.from_request(self.request._request)


LIST_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=f"exact {name}")
    for name in ("status", "severity", "category", "owner", "tlp", "province", "assignee")
] + [
    OpenApiParameter("q", OpenApiTypes.STR, description="title contains, or exact key"),
    OpenApiParameter("sla_breached", OpenApiTypes.BOOL, description="any SLA clock past due"),
    OpenApiParameter("my_tasks", OpenApiTypes.STR, enum=["today"],
                     description="today: incidents with a task of mine not finished and due by the end of today "
                                 "(overdue ones included)"),
    OpenApiParameter("ordering", OpenApiTypes.STR, description="created_at, updated_at, severity, status, key, "
                                                               "resolve_due_at; prefix - for descending"),
]


@dataclass(frozen=True)
class CountedApart:
    """Rows to page through (``rows``), whose total is the count of the same query without their columns.

    Counted through the rows' own query, PostgreSQL joined the province and the assignee and Django compiled the
    eleven time formats into the count: 1.6 ms of CPU and 19 ms of waiting a list, against 0.4 and 4.
    """

    rows: QuerySet[Any]
    plain: QuerySet[Any]

    @property
    def ordered(self) -> bool:
        return self.rows.ordered

    def count(self) -> int:
        return self.plain.count()

    def __getitem__(self, index: slice) -> Any:
        return self.rows[index]


@extend_schema(parameters=LIST_PARAMETERS)
class IncidentListApi(generics.ListCreateAPIView[Incident], IncidentScoped):
    serializer_class = s.IncidentSerializer

    def get_queryset(self) -> IncidentQuerySet:
        return incident_list(user=self.request.user, filters=self.request.query_params)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """IncidentSerializer's JSON from plain rows (``s.incident_rows``): most of this page's CPU was the
        serializer's and the model instances'."""
        incidents = self.get_queryset()
        page = self.paginate_queryset(CountedApart(s.incident_values(incidents), incidents))  # type: ignore[arg-type]
        assert page is not None  # PAGE_SIZE is set: the list is always paginated
        return self.get_paginated_response(s.incident_rows(page))

    @extend_schema(request=s.IntakeSerializer, responses={201: s.IncidentSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """File an incident (provincial intake or an integration): it starts ``new`` in the triage queue."""
        Permissions(request.user).require(Action.FILE)  # roles that never file get 403, not a validation error
        data = _valid(s.IntakeSerializer, request)
        province = Organisation.objects.visible_to(request.user).provinces().filter(code=data.pop("province")).first()
        if province is None:
            raise ValidationError({"province": ["Unknown province, or not one you may file for."]})
        Permissions(request.user).require(Action.FILE, province)
        incident = incident_file(province=province, actor=self.actor(), **data)
        return Response(s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)


class IncidentDetailApi(generics.RetrieveAPIView[Incident], IncidentScoped):
    serializer_class = s.IncidentSerializer

    def get_object(self) -> Incident:
        return self.incident()

    @extend_schema(request=s.IncidentUpdateSerializer, responses=s.IncidentSerializer)
    def patch(self, request: Request, key: str) -> Response:
        incident = self.incident(Action.EDIT)
        data = _valid(s.IncidentUpdateSerializer, request)
        incident = incident_update(incident=incident, actor=self.actor(), changes=data)
        return Response(s.IncidentSerializer(incident).data)


class IncidentStatusApi(APIView, IncidentScoped):
    @extend_schema(request=s.StatusChangeSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, key: str) -> Response:
        incident = self.incident()
        Permissions(request.user).require_any(STATUS_ACTIONS, incident.province, incident.owner)
        data = _valid(s.StatusChangeSerializer, request)
        Permissions(request.user).require(status_action(data["status"]), incident.province, incident.owner)
        incident = incident_change_status(incident=incident, actor=self.actor(), **data)
        return Response(s.IncidentSerializer(incident).data)


class IncidentAssignApi(APIView, IncidentScoped):
    @extend_schema(request=s.AssignSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, key: str) -> Response:
        incident = self.incident(Action.ASSIGN)
        data = _valid(s.AssignSerializer, request)
        incident = incident_assign(incident=incident, assignee_id=data["assignee"], actor=self.actor())
        return Response(s.IncidentSerializer(incident).data)


class IncidentHandoverApi(APIView, IncidentScoped):
    @extend_schema(request=s.HandoverSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, key: str) -> Response:
        incident = self.incident(Action.HANDOVER)
        data = _valid(s.HandoverSerializer, request)
        incident = incident_handover(incident=incident, owner=data["owner"], actor=self.actor())
        return Response(s.IncidentSerializer(incident).data)


class IncidentMergeApi(APIView, IncidentScoped):
    @extend_schema(request=s.MergeSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, key: str) -> Response:
        duplicate = self.incident(Action.MERGE)
        data = _valid(s.MergeSerializer, request)
        survivor = incident_get(user=request.user, key=data["into"])
        Permissions(request.user).require(Action.MERGE, survivor.province)
        survivor = incident_merge(duplicate=duplicate, survivor=survivor, actor=self.actor())
        return Response(s.IncidentSerializer(survivor).data)


class IncidentBulkApi(APIView):
    @extend_schema(request=s.BulkSerializer, responses=s.BulkResultSerializer)
    def post(self, request: Request) -> Response:
        """Change status, assign or close up to 5,000 incidents in one UPDATE; one shared resolution summary."""
        Permissions(request.user).require_any(BULK_ACTIONS)
        data = _valid(s.BulkSerializer, request)
        result = incident_bulk_apply(user=request.user, actor=Actor.from_request(request._request), **data)
        return Response({"changed": result.changed, "skipped": result.skipped})


class IncidentTimelineApi(generics.ListAPIView[TimelineEntry], IncidentScoped):
    serializer_class = s.TimelineEntrySerializer

    def get_queryset(self) -> Any:
        return timeline_list(incident=self.incident())


class CommentListApi(generics.ListAPIView[Comment], IncidentScoped):
    serializer_class = s.CommentSerializer

    def get_queryset(self) -> Any:
        return comment_list(incident=self.incident())

    @extend_schema(request=s.CommentSerializer, responses={201: s.CommentSerializer})
    def post(self, request: Request, key: str) -> Response:
        incident = self.incident(Action.COMMENT)
        data = _valid(s.CommentSerializer, request)
        comment = comment_add(incident=incident, body=data["body"], actor=self.actor())
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class ObservableListApi(generics.ListAPIView[Observable], IncidentScoped):
    serializer_class = s.ObservableSerializer
    pagination_class = None  # bounded per incident; counts come from one aggregate query

    def get_queryset(self) -> Any:
        return observable_list(user=self.request.user, incident=self.incident())

    @extend_schema(request=s.ObservableSerializer, responses={201: s.ObservableSerializer})
    def post(self, request: Request, key: str) -> Response:
        incident = self.incident(Action.OBSERVE)
        data = _valid(s.ObservableSerializer, request)
        observable, created = observable_add(incident=incident, actor=self.actor(), **data)
        return Response(s.ObservableSerializer(observable).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class IncidentRequestListApi(generics.ListAPIView[Any], IncidentScoped):
    serializer_class = s.RequestSerializer

    def get_queryset(self) -> Any:
        return request_list(user=self.request.user, filters={"incident": self.incident().key})

    @extend_schema(request=s.RequestSerializer, responses={201: s.RequestSerializer})
    def post(self, request: Request, key: str) -> Response:
        """Ask the incident's province to act, by a due time."""
        incident = self.incident(Action.REQUEST_SEND)
        data = _valid(s.RequestSerializer, request)
        rfa = request_send(incident=incident, actor=self.actor(), **data)
        return Response(s.RequestSerializer(rfa).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[
    OpenApiParameter("overdue", OpenApiTypes.BOOL), OpenApiParameter("status", OpenApiTypes.STR),
    OpenApiParameter("incident", OpenApiTypes.STR),
])
class RequestListApi(generics.ListAPIView[Any]):
    serializer_class = s.RequestSerializer

    def get_queryset(self) -> Any:
        return request_list(user=self.request.user, filters=self.request.query_params)


class RequestDetailApi(generics.RetrieveAPIView[Any]):
    serializer_class = s.RequestSerializer

    def get_object(self) -> Any:
        return request_get(user=self.request.user, request_id=self.kwargs["request_id"])

    @extend_schema(request=s.RequestUpdateSerializer, responses=s.RequestSerializer)
    def patch(self, request: Request, request_id: int) -> Response:
        """The province acknowledges, reports progress, asks for help or marks it done."""
        rfa = self.get_object()
        Permissions(request.user).require(Action.REQUEST_WORK, rfa.province)
        data = _valid(s.RequestUpdateSerializer, request)
        rfa = request_update(request=rfa, actor=Actor.from_request(request._request), **data)
        return Response(s.RequestSerializer(rfa).data)


class AttachmentListApi(generics.ListAPIView[Attachment], IncidentScoped):
    serializer_class = s.AttachmentSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> Any:
        return attachment_list(incident=self.incident())

    @extend_schema(request={"multipart/form-data": s.AttachmentUploadSerializer},
                   responses={201: s.AttachmentSerializer})
    def post(self, request: Request, key: str) -> Response:
        incident = self.incident(Action.ATTACH)
        data = _valid(s.AttachmentUploadSerializer, request)
        attachment = attachment_add(incident=incident, upload=data["file"], actor=self.actor())
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        attachment = attachment_get(user=request.user, attachment_id=attachment_id)
        response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name,
                                content_type="application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"
        return response


class SavedFilterListApi(generics.ListAPIView[SavedFilter]):
    serializer_class = s.SavedFilterSerializer

    def get_queryset(self) -> Any:
        return saved_filter_list(user=self.request.user)

    @extend_schema(request=s.SavedFilterSerializer, responses={201: s.SavedFilterSerializer})
    def post(self, request: Request) -> Response:
        Permissions(request.user).require(Action.SAVE_FILTER)
        data = _valid(s.SavedFilterSerializer, request)
        saved = saved_filter_save(user=request.user, name=data["name"], params=data["params"])
        return Response(s.SavedFilterSerializer(saved).data, status=status.HTTP_201_CREATED)


class SavedFilterDetailApi(generics.RetrieveAPIView[SavedFilter]):
    serializer_class = s.SavedFilterSerializer

    def get_object(self) -> SavedFilter:
        return saved_filter_get(user=self.request.user, filter_id=self.kwargs["filter_id"])

    def delete(self, request: Request, filter_id: int) -> Response:
        Permissions(request.user).require(Action.SAVE_FILTER)
        saved = self.get_object()
        saved_filter_delete(saved=saved)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IncidentEventsApi(APIView, IncidentScoped):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, key: str) -> Response:
        """The ECS events behind the incident's alerts (up to 100), read from Elasticsearch in your scope."""
        return Response({"events": incident_events(user=request.user, incident=self.incident())})


class SlaPolicyListApi(APIView):
    @extend_schema(responses=s.SlaRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The SLA targets in force for each organisation you see, per severity, and where they come from."""
        rows: Any = sla_policy_table(user=request.user)
        return Response(s.SlaRowSerializer(rows, many=True).data)


class SlaPolicyDetailApi(APIView):
    def _organisation(self, request: Request, code: str) -> Organisation:
        organisation = organisation_get(user=request.user, code=code)
        Permissions(request.user).require(Action.SLA_MANAGE, organisation)
        return organisation

    @extend_schema(request=s.SlaPolicySerializer, responses=s.SlaRowSerializer)
    def put(self, request: Request, code: str, severity: str) -> Response:
        """Set the national targets (code of the national SOC) or a province's override, for new incidents."""
        organisation = self._organisation(request, code)
        data = _valid(s.SlaPolicySerializer, request)
        sla_policy_set(organisation=organisation, severity=severity, values=data,
                                actor=Actor.from_request(request._request))
        return Response(_sla_row(request, organisation))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, code: str, severity: str) -> Response:
        """Remove a province's override: the national targets apply to its new incidents again."""
        organisation = self._organisation(request, code)
        sla_policy_clear(organisation=organisation, severity=severity,
                                  actor=Actor.from_request(request._request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _sla_row(request: Request, organisation: Organisation) -> Any:
    row = next(r for r in sla_policy_table(user=request.user) if r["organisation"].pk == organisation.pk)
    return s.SlaRowSerializer(row).data
