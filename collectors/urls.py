from django.urls import path

from collectors import views

app_name = "collectors"

urlpatterns = [
    path("", views.collector_list_view, name="list"),
    path("enrollment-tokens", views.enrollment_token_create_view, name="enroll"),
    path("<uuid:uid>/revoke", views.collector_revoke_view, name="revoke"),
    path("retention/", views.retention_view, name="retention"),
    path("retention/<str:code>/", views.retention_set_view, name="retention-set"),
    path("retention/<str:code>/clear", views.retention_clear_view, name="retention-clear"),
]
