from django.urls import path

from incidents import investigation_views, task_views, views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list_view, name="list"),
    path("new/", views.incident_intake_view, name="intake"),
    path("bulk/", views.incident_bulk_view, name="bulk"),
    path("filters/", views.saved_filter_save_view, name="filter-save"),
    path("filters/<int:filter_id>/delete/", views.saved_filter_delete_view, name="filter-delete"),
    path("sla/", views.sla_policy_view, name="sla"),
    path("requests/", views.request_list_view, name="requests"),
    path("requests/<int:request_id>/", views.request_detail_view, name="request"),
    path("attachments/<int:attachment_id>/download/", views.attachment_download_view, name="attachment-download"),
    path("playbooks/", task_views.playbook_list_view, name="playbooks"),
    path("playbooks/new/", task_views.playbook_edit_view, name="playbook-new"),
    path("playbooks/<slug:slug>/", task_views.playbook_detail_view, name="playbook"),
    path("playbooks/<slug:slug>/edit/", task_views.playbook_edit_view, name="playbook-edit"),
    path("playbooks/<slug:slug>/versions/<int:version>/", task_views.playbook_detail_view, name="playbook-version"),
    path("<str:key>/", views.incident_detail_view, name="detail"),
    path("<str:key>/status/", views.incident_status_view, name="status"),
    path("<str:key>/assign/", views.incident_assign_view, name="assign"),
    path("<str:key>/handover/", views.incident_handover_view, name="handover"),
    path("<str:key>/edit/", views.incident_edit_view, name="edit"),
    path("<str:key>/comments/", views.comment_add_view, name="comment"),
    path("<str:key>/observables/", views.observable_add_view, name="observable"),
    path("<str:key>/requests/", views.request_send_view, name="request-send"),
    path("<str:key>/tasks/<int:task_id>/", task_views.task_update_view, name="task"),
    path("<str:key>/playbook/", task_views.playbook_apply_view, name="playbook-apply"),
    path("<str:key>/attachments/", views.attachment_add_view, name="attachment"),
    path("<str:key>/merge/", views.incident_merge_view, name="merge"),
    path("<str:key>/events/", views.incident_events_view, name="events"),
    path("<str:key>/timeline/", investigation_views.incident_timeline_view, name="timeline"),
    path("<str:key>/timeline/export/", investigation_views.incident_timeline_export_view, name="timeline-export"),
    path("<str:key>/report/", investigation_views.incident_report_view, name="report"),
    path("<str:key>/report/pdf/", investigation_views.incident_report_pdf_view, name="report-pdf"),
    path("<str:key>/report/verify/", investigation_views.incident_report_verify_view, name="report-verify"),
]
