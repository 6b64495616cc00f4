from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("events/", views.event_search_view, name="events"),
    path("events/export.csv", views.event_export_view, name="events-export"),
    path("events/attach", views.event_attach_view, name="events-attach"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
]
