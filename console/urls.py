from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("events/", views.event_search_view, name="events"),
    path("events/export.csv", views.event_export_view, name="events-export"),
    path("events/attach", views.event_attach_view, name="events-attach"),
    path("events/attach-search", views.search_attach_view, name="events-attach-search"),
    path("events/context", views.event_context_view, name="events-context"),
    path("events/saved/", views.saved_search_create_view, name="saved-search-new"),
    path("events/saved/<int:search_id>/", views.saved_search_view, name="saved-search"),
    path("events/saved/<int:search_id>/delete", views.saved_search_delete_view, name="saved-search-delete"),
    path("events/rule", views.rule_from_search_view, name="events-rule"),
    path("events/rule/<int:rule_id>/enable", views.rule_enable_view, name="events-rule-enable"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
]
