from django.urls import path

from organisations.api import views

urlpatterns = [
    path("memberships/", views.MembershipListApi.as_view(), name="api-membership-list"),
    path("memberships/<int:membership_id>/", views.MembershipDetailApi.as_view(), name="api-membership-detail"),
    path("organisations/", views.OrganisationListApi.as_view(), name="api-organisation-list"),
    path("organisations/<str:code>/", views.OrganisationDetailApi.as_view(), name="api-organisation-detail"),
    path("audit/", views.AuditLogListApi.as_view(), name="api-audit-list"),
    path("audit/export/", views.AuditLogExportApi.as_view(), name="api-audit-export"),
]
