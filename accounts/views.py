"""Sign-in (throttled, with a second factor where enrolled or required), language and time zone preferences."""

from __future__ import annotations

import time
import zoneinfo
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import throttle
from accounts.selectors import preference_of, totp_enrolled, totp_required
from accounts.services import PreferenceError, preference_update, totp_begin, totp_verify

PENDING = "accounts.pending_user"
# The password step is good for this long; after it, sign in again.
PENDING_SECONDS = 300


class LoginView(auth_views.LoginView):
    """Django's login (new session key on success) behind the throttle and the second factor."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = throttle.wait_seconds(username=request.POST.get("username", ""), ip=throttle.client_ip(request))
        if wait:
            # An unbound form: binding would validate it, and validating checks the password.
            form = self.get_form_class()(request)
            message = _("Too many failed sign-ins. Try again in %(n)d seconds.") % {"n": wait}
            return self.render_to_response(self.get_context_data(form=form, throttled=message), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        throttle.record_failure(username=self.request.POST.get("username", ""),
                                ip=throttle.client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        throttle.record_success(username=user.get_username(), ip=throttle.client_ip(self.request))
        if totp_required(user):
            self.request.session.cycle_key()
            backend = getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0])
            self.request.session[PENDING] = {"id": user.pk, "backend": backend, "next": self.get_success_url(),
                                             "at": time.time()}
            return redirect("accounts:totp")
        return super().form_valid(form)


def admin_login_view(request: HttpRequest) -> HttpResponseBase:
    """The admin's login page: one door, so staff sign in at the console (throttle and second factor)."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


def totp_view(request: HttpRequest) -> HttpResponseBase:
    """Second step of sign-in, or enrolment of a signed-in user; enrolling shows the secret for an app."""
    if PENDING not in request.session and isinstance(request.user, User):
        return _totp_enrol(request, request.user)
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return redirect("login")
    user = get_user_model().objects.filter(pk=pending["id"], is_active=True).first()
    if user is None:
        return redirect("login")
    refusal = _totp_check(request, user) if request.method == "POST" else None
    if request.method == "POST" and refusal is None:
        del request.session[PENDING]
        login(request, user, backend=pending["backend"])
        return HttpResponseRedirect(pending["next"])
    return _totp_page(request, user, refusal)


def _totp_enrol(request: HttpRequest, user: User) -> HttpResponseBase:
    """A signed-in user with no second factor yet (required now, or by choice) adds one."""
    next_url = _safe_target(request, request.GET.get("next", ""))
    if totp_enrolled(preference_of(user)):
        return HttpResponseRedirect(next_url)
    refusal = _totp_check(request, user) if request.method == "POST" else None
    if request.method == "POST" and refusal is None:
        return HttpResponseRedirect(next_url)
    return _totp_page(request, user, refusal)


def _totp_check(request: HttpRequest, user: User) -> tuple[str, int] | None:
    """None when the posted code is good, else why not and the status. Wrong codes are counted per account
    apart from wrong passwords, and only a good code clears them."""
    ip, username = throttle.client_ip(request), user.get_username()
    wait = throttle.totp_wait_seconds(username=username, ip=ip)
    if wait:
        return _("Too many wrong codes. Try again in %(n)d seconds.") % {"n": wait}, 429
    if totp_verify(user=user, code=request.POST.get("code", "").strip()):
        throttle.totp_record_success(username=username, ip=ip)
        return None
    throttle.totp_record_failure(username=username, ip=ip)
    return _("That code is not valid. Use the current 6-digit code from your app."), 400


def _totp_page(request: HttpRequest, user: User, refusal: tuple[str, int] | None) -> HttpResponse:
    enrolling = not totp_enrolled(preference_of(user))
    secret = totp_begin(user=user) if enrolling else ""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name="SOC") if secret else ""
    error, status = refusal or ("", 200)
    return render(request, "accounts/totp.html", {"enrolling": enrolling, "secret": secret, "uri": uri,
                                                   "error": error}, status=status)


def _safe_next(request: HttpRequest) -> str:
    return _safe_target(request, request.POST.get("next") or request.META.get("HTTP_REFERER") or "/")


def _safe_target(request: HttpRequest, target: str) -> str:
    target = target or "/"
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                              require_https=request.is_secure())
    return target if allowed else "/"


@require_POST
def language_view(request: HttpRequest) -> HttpResponse:
    """Switch language; remembered on the user (and in a cookie for the sign-in page)."""
    language = request.POST.get("language", "")
    response = HttpResponseRedirect(_safe_next(request))
    if language not in dict(settings.LANGUAGES):
        return response
    if isinstance(request.user, User):
        preference_update(user=request.user, language=language)
    translation.activate(language)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
                        samesite="Lax", secure=settings.SESSION_COOKIE_SECURE, httponly=True)
    return response


@login_required
def preferences_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    error = ""
    if request.method == "POST":
        try:
            preference_update(user=request.user, language=request.POST.get("language", ""),
                              time_zone=request.POST.get("time_zone", ""))
            return redirect("accounts:preferences")
        except PreferenceError:
            error = _("Choose a language and a time zone from the lists.")
    return render(request, "accounts/preferences.html", {
        "pref": preference_of(request.user), "languages": settings.LANGUAGES, "error": error,
        "zones": sorted(zoneinfo.available_timezones()), "default_zone": settings.TIME_ZONE,
    }, status=400 if error else 200)
