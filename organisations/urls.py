from django.urls import path

from organisations import views

app_name = "organisations"
urlpatterns = [
    path("", views.organisation_list_view, name="list"),
    path("members/", views.membership_list_view, name="members"),
    path("members/<int:membership_id>/revoke/", views.membership_revoke_view, name="member-revoke"),
    path("audit/", views.audit_list_view, name="audit"),
    path("audit.csv", views.audit_export_view, name="audit-export"),
]
