from django.urls import path

from incidents.api import views

urlpatterns = [
    path("incidents/", views.IncidentListApi.as_view(), name="api-incident-list"),
    path("incidents/<str:key>/", views.IncidentDetailApi.as_view(), name="api-incident-detail"),
]
