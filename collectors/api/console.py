"""The console's collector API: list and detail with health, central configuration, and event retention.

Every read goes through ``collector_list`` (the user's provinces only); a
collector outside them is a 404, exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors.api.serializers import (
    CollectorConfigSerializer,
    CollectorSerializer,
    RetentionRowSerializer,
    RetentionSetSerializer,
)
from collectors.models import CollectorQuerySet
from collectors.selectors import (
    collector_get_to_manage,
    collector_list,
    retention_province_get,
    retention_province_get_to_manage,
    retention_table,
)
from collectors.services import (
    collector_configure,
    province_retention_clear,
    province_retention_set,
    retention_days_check,
)
from organisations.actors import Actor
from organisations.models import Organisation
from soc.api import error_body


class CollectorListApi(generics.ListAPIView):
    serializer_class = CollectorSerializer

    def get_queryset(self) -> CollectorQuerySet:
        return collector_list(user=self.request.user)


class CollectorDetailApi(generics.RetrieveAPIView):
    serializer_class = CollectorSerializer
    lookup_field = "uid"

    def get_queryset(self) -> CollectorQuerySet:
        return collector_list(user=self.request.user)


class CollectorConfigApi(APIView):
    @extend_schema(request=CollectorConfigSerializer, responses=CollectorSerializer)
    def put(self, request: Request, uid: str) -> Response:
        collector = collector_get_to_manage(user=request.user, uid=uid)
        body = CollectorConfigSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            collector_configure(collector=collector, config=body.validated_data["config"],
                                actor=Actor.from_request(request))
        except ValueError as exc:
            return Response(error_body("invalid_config", str(exc)), status=status.HTTP_400_BAD_REQUEST)
        return Response(CollectorSerializer(collector).data)


class EventRetentionListApi(APIView):
    @extend_schema(responses=RetentionRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Days each province in your scope keeps its events, where the figure comes from, and its oldest day."""
        return Response(RetentionRowSerializer(retention_table(user=request.user), many=True).data)


class EventRetentionDetailApi(APIView):
    @extend_schema(responses=RetentionRowSerializer)
    def get(self, request: Request, code: str) -> Response:
        return Response(_retention_row(request, retention_province_get(user=request.user, code=code)))

    @extend_schema(request=RetentionSetSerializer, responses=RetentionRowSerializer)
    def put(self, request: Request, code: str) -> Response:
        """Set the province's own days (1..3650); the next hourly run deletes by them. Central lead only."""
        province = retention_province_get_to_manage(user=request.user, code=code)
        days = retention_days_check(request.data.get("days") if isinstance(request.data, dict) else None)
        province_retention_set(organisation=province, days=days, actor=Actor.from_request(request))
        return Response(_retention_row(request, province))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, code: str) -> Response:
        """Remove the province's override: the national default applies again. Central lead only."""
        province = retention_province_get_to_manage(user=request.user, code=code)
        province_retention_clear(organisation=province, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _retention_row(request: Request, province: Organisation) -> Any:
    return RetentionRowSerializer(retention_table(user=request.user, only=province)[0]).data
