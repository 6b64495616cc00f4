from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from accounts.views import LoginView, admin_login_view
from soc.health import healthz
from soc.metrics import metrics_view


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers and tools ask for /favicon.ico whatever the page's <link rel=icon> says."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


api_v1: list[URLPattern | URLResolver] = [
    path("", include("incidents.api.urls")),
    path("", include("collectors.api.urls")),
    path("", include("organisations.api.urls")),
    path("", include("readiness.api.urls")),
    path("", include("detection.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="incidents:list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("metrics", metrics_view, name="metrics"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("incidents/", include("incidents.urls")),
    path("organisations/", include("organisations.urls")),
    path("console/", include("console.urls")),
    path("notifications/", include("notifications.urls")),
    path("accounts/", include("accounts.urls")),
    path("readiness/", include("readiness.urls")),
    path("collectors/", include("collectors.urls")),
    path("rules/", include("detection.urls")),
    path("api/v1/", include(api_v1)),
]
if settings.SOC_ADMIN_ENABLED:
    urlpatterns += [
        # Before the admin's own routes, so its login page (which checks no second factor) is never reached.
        path("admin/login/", admin_login_view),
        path("admin/", admin.site.urls),
    ]
