"""The console's collector API: list and detail with health, and central configuration.

Every read goes through ``collector_list`` (the user's provinces only); a
collector outside them is a 404, exactly like a missing one.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors.api.serializers import CollectorConfigSerializer, CollectorSerializer
from collectors.models import CollectorQuerySet
from collectors.selectors import collector_get_to_manage, collector_list
from collectors.services import collector_configure
from organisations.actors import Actor
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
