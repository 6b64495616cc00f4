from django.urls import path

from readiness.api import views

urlpatterns = [
    path("readiness/ranking/", views.RankingApi.as_view(), name="api-readiness-ranking"),
    path("readiness/public/", views.PublicSummaryApi.as_view(), name="api-readiness-public"),
    path("readiness/publications/", views.PublicationListApi.as_view(), name="api-readiness-publications"),
    path("readiness/scorecards/<str:code>/", views.ScorecardApi.as_view(), name="api-readiness-scorecard"),
]
