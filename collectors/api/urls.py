from django.urls import path

from collectors.api import views

urlpatterns = [
    path("ingest/events", views.ingest_events_view, name="api-ingest-events"),
    path("collectors/enroll", views.enroll_view, name="api-collector-enroll"),
]
