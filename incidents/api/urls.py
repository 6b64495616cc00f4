from django.urls import path

from incidents.api import investigation, views

urlpatterns = [
    path("incidents/", views.IncidentListApi.as_view(), name="api-incident-list"),
    path("incidents/bulk/", views.IncidentBulkApi.as_view(), name="api-incident-bulk"),
    path("incidents/<str:key>/", views.IncidentDetailApi.as_view(), name="api-incident-detail"),
    path("incidents/<str:key>/status/", views.IncidentStatusApi.as_view(), name="api-incident-status"),
    path("incidents/<str:key>/assign/", views.IncidentAssignApi.as_view(), name="api-incident-assign"),
    path("incidents/<str:key>/handover/", views.IncidentHandoverApi.as_view(), name="api-incident-handover"),
    path("incidents/<str:key>/merge/", views.IncidentMergeApi.as_view(), name="api-incident-merge"),
    path("incidents/<str:key>/events/", views.IncidentEventsApi.as_view(), name="api-incident-events"),
    path("incidents/<str:key>/timeline/", views.IncidentTimelineApi.as_view(), name="api-incident-timeline"),
    path("incidents/<str:key>/investigation/", investigation.IncidentInvestigationApi.as_view(),
         name="api-incident-investigation"),
    path("incidents/<str:key>/report/", investigation.IncidentReportApi.as_view(), name="api-incident-report"),
    path("incidents/<str:key>/comments/", views.CommentListApi.as_view(), name="api-incident-comments"),
    path("incidents/<str:key>/observables/", views.ObservableListApi.as_view(), name="api-incident-observables"),
    path("incidents/<str:key>/requests/", views.IncidentRequestListApi.as_view(), name="api-incident-requests"),
    path("incidents/<str:key>/attachments/", views.AttachmentListApi.as_view(), name="api-incident-attachments"),
    path("sla-policies/", views.SlaPolicyListApi.as_view(), name="api-sla-policy-list"),
    path("sla-policies/<str:code>/<str:severity>/", views.SlaPolicyDetailApi.as_view(),
         name="api-sla-policy-detail"),
    path("saved-filters/", views.SavedFilterListApi.as_view(), name="api-saved-filter-list"),
    path("saved-filters/<int:filter_id>/", views.SavedFilterDetailApi.as_view(), name="api-saved-filter-detail"),
    path("requests/", views.RequestListApi.as_view(), name="api-request-list"),
    path("requests/<int:request_id>/", views.RequestDetailApi.as_view(), name="api-request-detail"),
    path("attachments/<int:attachment_id>/download/", views.AttachmentDownloadApi.as_view(),
         name="api-attachment-download"),
]
