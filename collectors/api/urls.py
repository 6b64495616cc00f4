from django.urls import path

from collectors.api import console, views

urlpatterns = [
    path("ingest/events", views.ingest_events_view, name="api-ingest-events"),
    path("collectors/enroll", views.enroll_view, name="api-collector-enroll"),
    path("collectors/heartbeat", views.heartbeat_view, name="api-collector-heartbeat"),
    path("collectors/", console.CollectorListApi.as_view(), name="api-collector-list"),
    path("collectors/<uuid:uid>", console.CollectorDetailApi.as_view(), name="api-collector-detail"),
    path("collectors/<uuid:uid>/config", console.CollectorConfigApi.as_view(), name="api-collector-config"),
    path("event-retention/", console.EventRetentionListApi.as_view(), name="api-event-retention-list"),
    path("event-retention/<str:code>/", console.EventRetentionDetailApi.as_view(), name="api-event-retention-detail"),
]
