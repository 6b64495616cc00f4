from __future__ import annotations

from rest_framework import generics

from incidents.api.serializers import IncidentSerializer
from incidents.models import IncidentQuerySet
from incidents.selectors import incident_list


class IncidentListApi(generics.ListAPIView):
    serializer_class = IncidentSerializer

    def get_queryset(self) -> IncidentQuerySet:
        return incident_list(user=self.request.user)


class IncidentDetailApi(generics.RetrieveAPIView):
    serializer_class = IncidentSerializer
    lookup_field = "key"

    def get_queryset(self) -> IncidentQuerySet:
        return incident_list(user=self.request.user)
