from django.urls import path

from detection.api import views

urlpatterns = [
    path("rules/", views.RuleListApi.as_view(), name="api-rule-list"),
    path("rules/import-sigma/", views.SigmaImportApi.as_view(), name="api-rule-import-sigma"),
    path("rules/<int:pk>/", views.RuleDetailApi.as_view(), name="api-rule-detail"),
    path("rules/<int:pk>/provinces/", views.RuleProvinceListApi.as_view(), name="api-rule-provinces"),
    path("rules/<int:pk>/provinces/<str:code>/", views.RuleProvinceDetailApi.as_view(), name="api-rule-province"),
    path("rules/<int:pk>/runs/", views.RuleRunListApi.as_view(), name="api-rule-runs"),
    path("rules/<int:pk>/versions/", views.RuleVersionListApi.as_view(), name="api-rule-versions"),
    path("rules/<int:pk>/test/", views.RuleTestRunApi.as_view(), name="api-rule-test"),
    path("indicators/import/", views.IndicatorImportApi.as_view(), name="api-indicator-import"),
    path("alerts/", views.AlertListApi.as_view(), name="api-alert-list"),
]
