from django.urls import path

from incidents.consumers import IncidentFeedConsumer

websocket_urlpatterns = [
    path("ws/incidents/", IncidentFeedConsumer.as_asgi()),
]
