from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list_view, name="list"),
    path("<str:key>/", views.incident_detail_view, name="detail"),
]
