"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSockets are origin-checked against ALLOWED_HOSTS (a page on another site
cannot open a console socket with the user's cookies) and authenticated by
the Django session.
"""

import gc
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


def warm_up() -> None:
    """Load the whole app now, in each worker as it starts, then take it out of garbage collection.

    Django imports the URLconf and every view lazily, on a worker's first request: measured at about 1.2 s
    of CPU, which the first ingest batch after every restart waited for (times four workers). What is
    loaded here lives as long as the process, so ``gc.freeze`` spares every later collection from walking
    it (~200,000 objects): a batch decodes into ~10,000 containers, which triggers the cyclic collector,
    and full collections had doubled the CPU of decoding a batch (measured 28 -> 13 us per event).
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    gc.collect()
    gc.freeze()


warm_up()

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app, settings.MAX_REQUEST_BYTES),  # type: ignore[arg-type]
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
