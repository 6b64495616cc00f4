"""Readiness API: parse, call a selector or service, serialise."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from organisations.actors import Actor
from readiness.api.serializers import (
    DayRankingRowSerializer,
    PublicRowSerializer,
    PublicSummarySerializer,
    PublishedPeriodSerializer,
    RankingResponseSerializer,
    ScorecardResponseSerializer,
    ScorecardSerializer,
)
from readiness.models import PublishedPeriod
from readiness.selectors import (
    latest_day,
    published_period_get,
    ranking_for_day,
    ranking_for_period,
    scorecard_get,
    trend,
)
from readiness.services import ReadinessError, period_publish
from readiness.views import parse_day
from soc.api import error_body

DAY = OpenApiParameter("day", str, description="YYYY-MM-DD (default: the latest computed day)")


class RankingApi(APIView):
    """GET ?day=YYYY-MM-DD&sort=-connected: every province's score, level and dimension scores."""

    @extend_schema(responses=RankingResponseSerializer, parameters=[
        DAY, OpenApiParameter("sort", str, description="a column, - for descending")])
    def get(self, request: Request) -> Response:
        day = parse_day(request.query_params.get("day")) or latest_day()
        if day is None:
            raise Http404("No scorecards computed yet")
        rows = ranking_for_day(day=day, sort=request.query_params.get("sort", "rank"))
        return Response({"day": day, "results": DayRankingRowSerializer(rows, many=True).data})


class ScorecardApi(APIView):
    """GET ?day=: one province's full scorecard; another province's is 404 like a missing one."""

    @extend_schema(responses=ScorecardResponseSerializer, parameters=[DAY])
    def get(self, request: Request, code: str) -> Response:
        snapshot = scorecard_get(user=request.user, code=code, day=parse_day(request.query_params.get("day")))
        trends = {grain: trend(snapshot=snapshot, grain=grain, periods=12) for grain in ("week", "month")}
        return Response({**ScorecardSerializer(snapshot).data, "trends": trends})


class PublicSummaryPermission(BasePermission):
    """Anyone may read the published summary when ``READINESS_PUBLIC_SUMMARY`` is on; otherwise sign in."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS and (
            settings.READINESS_PUBLIC_SUMMARY or bool(request.user and request.user.is_authenticated))


class PublicSummaryApi(APIView):
    """GET ?start=&end=: the ranking of a published period (the latest by default), scores and levels only.
    Public (no sign-in) unless the operator turned ``SOC_READINESS_PUBLIC_SUMMARY`` off."""

    permission_classes = [PublicSummaryPermission]

    @extend_schema(responses=PublicSummarySerializer, parameters=[
        OpenApiParameter("start", str, description="YYYY-MM-DD"), OpenApiParameter("end", str)])
    def get(self, request: Request) -> Response:
        period = published_period_get(start=parse_day(request.query_params.get("start")),
                                      end=parse_day(request.query_params.get("end")))
        rows = ranking_for_period(start=period.start, end=period.end)
        return Response({**PublishedPeriodSerializer(period).data,
                         "results": PublicRowSerializer(rows, many=True).data})


class PublicationListApi(generics.ListAPIView):
    """GET: published periods. POST {start, end}: publish (central lead only)."""

    serializer_class = PublishedPeriodSerializer
    queryset = PublishedPeriod.objects.all()

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = PublishedPeriodSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            period = period_publish(actor=Actor.from_request(request), **serializer.validated_data)
        except ReadinessError as exc:
            return Response(error_body("invalid", str(exc)), status=status.HTTP_400_BAD_REQUEST)
        return Response(PublishedPeriodSerializer(period).data, status=status.HTTP_201_CREATED)
