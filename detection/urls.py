from django.urls import path

from detection import backfill_views, views

app_name = "detection"

urlpatterns = [
    path("", views.rule_list_view, name="rules"),
    path("new/", views.rule_create_view, name="rule-new"),
    path("<int:pk>/", views.rule_detail_view, name="rule"),
    path("<int:pk>/test/", views.rule_test_view, name="rule-test"),
    path("<int:pk>/runs/", views.rule_runs_view, name="rule-runs"),
    path("<int:pk>/delete/", views.rule_delete_view, name="rule-delete"),
    path("<int:pk>/provinces/<str:code>/", views.rule_province_view, name="rule-province"),
    path("backfill/", backfill_views.backfill_view, name="backfill"),
    path("backfill/<uuid:upload_uid>/", backfill_views.backfill_upload_view, name="backfill-upload"),
]
