"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSockets are origin-checked against ALLOWED_HOSTS (a page on another site
cannot open a console socket with the user's cookies) and authenticated by
the Django session.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soc.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from soc.asgi_limits import BodyLimitMiddleware  # noqa: E402
from soc.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app, settings.MAX_REQUEST_BYTES),  # type: ignore[arg-type]
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
