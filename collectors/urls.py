from django.urls import path

from collectors import views

app_name = "collectors"

urlpatterns = [
    path("", views.collector_list_view, name="list"),
    path("enrollment-tokens", views.enrollment_token_create_view, name="enroll"),
    path("<uuid:uid>/revoke", views.collector_revoke_view, name="revoke"),
]
