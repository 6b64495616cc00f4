"""Memberships (list, revoke) and the audit log (read, CSV export). No route edits the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from organisations.access import Action, Permissions, require_organisation_manage, require_role_grant
from organisations.actors import Actor
from organisations.api.serializers import (
    AuditLogSerializer,
    MembershipGrantSerializer,
    MembershipSerializer,
    OrganisationCreateSerializer,
    OrganisationRenameSerializer,
    OrganisationSerializer,
)
from organisations.exports import audit_csv_response
from organisations.models import AuditLog, Membership, Organisation
from organisations.selectors import audit_list, membership_get, membership_list, organisation_get, organisation_list
from organisations.services import membership_grant, membership_revoke, organisation_create, organisation_rename


class MembershipListApi(generics.ListAPIView[Membership]):
    serializer_class = MembershipSerializer

    def get_queryset(self) -> Any:
        return membership_list(user=self.request.user).order_by("organisation__path", "user__username")

    @extend_schema(request=MembershipGrantSerializer, responses={201: MembershipSerializer})
    def post(self, request: Request) -> Response:
        """Give an existing user a role in an organisation you manage (provincial admins: provincial roles only)."""
        permissions = Permissions(request.user)
        permissions.require(Action.MEMBERS_MANAGE)
        body = MembershipGrantSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organisation = Organisation.objects.visible_to(request.user).filter(code=body.validated_data["organisation"])
        user = get_user_model().objects.filter(username=body.validated_data["username"], is_active=True).first()
        if not organisation.exists() or user is None:
            raise ValidationError({"detail": "Unknown user or organisation."})
        role = body.validated_data["role"]
        require_role_grant(request.user, organisation=organisation.get(), role=role)
        membership = membership_grant(user=user, organisation=organisation.get(), role=role,
                                      actor=Actor.from_request(request._request))
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetailApi(generics.RetrieveAPIView[Membership]):
    serializer_class = MembershipSerializer

    def get_object(self) -> Membership:
        return membership_get(user=self.request.user, membership_id=self.kwargs["membership_id"])

    def delete(self, request: Request, membership_id: int) -> Response:
        """Remove a user from an organisation: effective on their next request; their sockets close."""
        membership = self.get_object()
        Permissions(request.user).require(Action.MEMBERS_MANAGE, membership.organisation)
        membership_revoke(membership=membership, actor=Actor.from_request(request._request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[OpenApiParameter("action", OpenApiTypes.STR),
                           OpenApiParameter("object_ref", OpenApiTypes.STR)])
class AuditLogListApi(generics.ListAPIView[AuditLog]):
    serializer_class = AuditLogSerializer

    def get_queryset(self) -> Any:
        Permissions(self.request.user).require(Action.AUDIT_VIEW)
        entries = audit_list(user=self.request.user).select_related("organisation")
        for name in ("action", "object_ref"):
            if self.request.query_params.get(name):
                entries = entries.filter(**{name: self.request.query_params[name]})
        return entries


class AuditLogExportApi(APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        """The whole audit log in the user's scope as CSV (formula-looking cells prefixed with ')."""
        Permissions(request.user).require(Action.AUDIT_VIEW)
        return audit_csv_response(user=request.user)


class OrganisationListApi(generics.ListAPIView[Organisation]):
    serializer_class = OrganisationSerializer

    def get_queryset(self) -> Any:
        return organisation_list(user=self.request.user)

    @extend_schema(request=OrganisationCreateSerializer, responses={201: OrganisationSerializer})
    def post(self, request: Request) -> Response:
        """Add an agency or site below a province (or, nationally, a province)."""
        Permissions(request.user).require(Action.ORGANISATIONS_MANAGE)
        body = OrganisationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        parent = organisation_get(user=request.user, code=body.validated_data["parent_code"])
        require_organisation_manage(request.user, kind=body.validated_data["kind"], place=parent)
        organisation = organisation_create(parent=parent, code=body.validated_data["code"],
                                           name=body.validated_data["name"], kind=body.validated_data["kind"],
                                           actor=Actor.from_request(request._request))
        return Response(OrganisationSerializer(organisation).data, status=status.HTTP_201_CREATED)


class OrganisationDetailApi(generics.RetrieveAPIView[Organisation]):
    serializer_class = OrganisationSerializer

    def get_object(self) -> Organisation:
        return organisation_get(user=self.request.user, code=self.kwargs["code"])

    @extend_schema(request=OrganisationRenameSerializer, responses=OrganisationSerializer)
    def patch(self, request: Request, code: str) -> Response:
        organisation = self.get_object()
        require_organisation_manage(request.user, kind=organisation.kind, place=organisation)
        body = OrganisationRenameSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organisation = organisation_rename(organisation=organisation, name=body.validated_data["name"],
                                           actor=Actor.from_request(request._request))
        return Response(OrganisationSerializer(organisation).data)
