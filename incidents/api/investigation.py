"""The investigation timeline and the incident report over the API: the same selectors and audited service as the
console pages (incidents.investigation_views), in the caller's scope (404 outside it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.views import IncidentScoped
from incidents.investigation import KINDS, Item, investigation_timeline, kinds_from
from incidents.report import LANGUAGES
from incidents.services.report import FORMATS, incident_report_produce


class TimelinePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class IncidentInvestigationApi(APIView, IncidentScoped):
    @extend_schema(parameters=[
        OpenApiParameter("kind", OpenApiTypes.STR, many=True, enum=list(KINDS),
                         description="repeat to choose several; none means all"),
        OpenApiParameter("page", OpenApiTypes.INT), OpenApiParameter("page_size", OpenApiTypes.INT),
    ], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, key: str) -> Response:
        """The investigation timeline, newest first: events and alerts by their own time with comments, status
        changes, requests for action, evidence, observables, hand-overs and other changes."""
        chosen = kinds_from(request.query_params.getlist("kind"))
        timeline = investigation_timeline(user=request.user, incident=self.incident(), kinds=chosen)
        paginator = TimelinePagination()
        page: list[Item] | None = paginator.paginate_queryset(timeline.items, request, view=self)  # type: ignore[arg-type]
        assert page is not None
        response = paginator.get_paginated_response([item.as_dict() for item in page])
        response.data |= {"kinds": sorted(chosen), "truncated": timeline.truncated,
                          "events_unavailable": timeline.events_unavailable}
        return response


class IncidentReportApi(APIView, IncidentScoped):
    @extend_schema(parameters=[
        OpenApiParameter("output", OpenApiTypes.STR, enum=list(FORMATS),
                         description="pdf (default) or html (DRF keeps ?format= for content negotiation)"),
        OpenApiParameter("lang", OpenApiTypes.STR, enum=list(LANGUAGES), description="the report's language"),
    ], responses={(200, "application/pdf"): OpenApiTypes.BINARY, (200, "text/html"): OpenApiTypes.STR})
    def get(self, request: Request, key: str) -> Any:
        """The incident report as produced now; its SHA-256 (header X-Report-SHA256) is in the audit log."""
        produced = incident_report_produce(
            user=request.user, incident=self.incident(), form=request.query_params.get("output", "pdf"),
            language=request.query_params.get("lang", LANGUAGES[0]), actor=self.actor())
        response = HttpResponse(produced.content, content_type=produced.content_type)
        response["Content-Disposition"] = f'attachment; filename="{produced.filename}"'
        response["X-Report-SHA256"] = produced.sha256
        return response
