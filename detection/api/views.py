"""The rules API: parse, fetch in scope (404 otherwise), check the role (403), call one service.

Everyone with a role reads the rules they can see (national ones and their
province's); only a central lead creates, edits, deletes, imports or test-runs.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.api import serializers as s
from detection.authoring import (
    rule_create,
    rule_delete,
    rule_province_set,
    rule_test_run,
    rule_update,
    sigma_text_import,
)
from detection.indicators import indicators_import
from detection.kinds import RuleInvalid
from detection.models import Alert, DetectionRule, RuleRun, RuleVersion
from detection.selectors import (
    alert_list,
    rule_get,
    rule_list,
    rule_province_states,
    run_list,
    run_rows,
)
from organisations.access import Action, Permissions
from organisations.actors import Actor
from organisations.models import Organisation
from soc.api import error_body


def _invalid(exc: RuleInvalid) -> Response:
    """A rule that does not compile is the client's fault: 400 listing every problem (line numbers stay numbers)."""
    return Response(error_body("invalid", "The rule is not valid.", {"problems": exc.problems}),
                    status=status.HTTP_400_BAD_REQUEST)


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _require_manager(request: Request) -> None:
    if not Permissions(request.user).can_nationally(Action.RULES_MANAGE):
        raise PermissionDenied("Only a central lead manages detection rules.")


class RuleListApi(generics.ListAPIView[DetectionRule]):
    serializer_class = s.RuleSerializer

    def get_queryset(self) -> QuerySet[DetectionRule]:
        return rule_list(user=self.request.user)

    def post(self, request: Request) -> Response:
        _require_manager(request)
        data = _valid(s.RuleInputSerializer, request)
        try:
            rule = rule_create(actor=Actor.from_request(request), data=data)
        except RuleInvalid as exc:
            return _invalid(exc)
        return Response(s.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    @extend_schema(responses=s.RuleSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.RuleSerializer(rule_get(user=request.user, pk=pk)).data)

    @extend_schema(request=s.RuleInputSerializer, responses=s.RuleSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        rule = rule_get(user=request.user, pk=pk)
        _require_manager(request)
        data = _valid(s.RuleInputSerializer, request, partial=True)
        try:
            rule = rule_update(rule=rule, actor=Actor.from_request(request), data=data)
        except RuleInvalid as exc:
            return _invalid(exc)
        return Response(s.RuleSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        rule = rule_get(user=request.user, pk=pk)
        _require_manager(request)
        rule_delete(rule=rule, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleProvinceListApi(APIView):
    @extend_schema(responses=s.ProvinceStateSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """Where a national rule runs: each province the caller may see, on or off (empty for a province's rule)."""
        rule = rule_get(user=request.user, pk=pk)
        states = rule_province_states(user=request.user, rule=rule)
        return Response([{"province": province.code, "enabled": on} for province, on in states])


class RuleProvinceDetailApi(APIView):
    @extend_schema(request=s.ProvinceSwitchSerializer, responses=s.ProvinceStateSerializer)
    def put(self, request: Request, pk: int, code: str) -> Response:
        """Switch a national rule off (or back on) for one province."""
        rule = rule_get(user=request.user, pk=pk)
        _require_manager(request)
        province = Organisation.objects.provinces().filter(code=code).first()
        if province is None:
            raise Http404("No such province.")
        data = _valid(s.ProvinceSwitchSerializer, request)
        try:
            rule_province_set(rule=rule, province=province, enabled=data["enabled"],
                              actor=Actor.from_request(request))
        except RuleInvalid as exc:
            return _invalid(exc)
        return Response({"province": province.code, "enabled": data["enabled"]})


class RuleRunListApi(generics.ListAPIView[RuleRun]):
    """The runs page's rows, paginated: a national rule's totals only for national scope (``run_rows``)."""

    serializer_class = s.RunSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = rule_get(user=request.user, pk=self.kwargs["pk"])
        page = self.paginate_queryset(run_list(user=request.user, rule=rule)) or []
        rows = run_rows(user=request.user, rule=rule, runs=page)
        return self.get_paginated_response(s.RunSerializer(rows, many=True).data)


class RuleVersionListApi(generics.ListAPIView[RuleVersion]):
    serializer_class = s.VersionSerializer

    def get_queryset(self) -> QuerySet[RuleVersion]:
        return rule_get(user=self.request.user, pk=self.kwargs["pk"]).versions.select_related("author")


class RuleTestRunApi(APIView):
    @extend_schema(request=s.TestRunSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        rule = rule_get(user=request.user, pk=pk)
        _require_manager(request)
        data = _valid(s.TestRunSerializer, request)
        try:
            return Response(rule_test_run(rule=rule, start=data["start"], end=data["end"]))
        except RuleInvalid as exc:
            return _invalid(exc)


class SigmaImportApi(APIView):
    @extend_schema(request=s.SigmaImportSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        _require_manager(request)
        data = _valid(s.SigmaImportSerializer, request)
        actor = Actor.from_request(request)
        lines = [sigma_text_import(path=f["path"], text=f["yaml"], actor=actor, enabled=data["enabled"])
                 for f in data["rules"]]
        return Response({"imported": sum(line.imported for line in lines), "total": len(lines),
                         "results": [asdict(line) for line in lines]})


class IndicatorImportApi(APIView):
    @extend_schema(request=s.IndicatorImportSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        _require_manager(request)
        data = _valid(s.IndicatorImportSerializer, request)
        summary = indicators_import(fmt=data["format"], text=data["text"], source=data["source"])
        return Response(asdict(summary))


class AlertListApi(generics.ListAPIView[Alert]):
    serializer_class = s.AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        return alert_list(user=self.request.user)
