"""Console pages: my notifications and my notification preferences."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifications.models import Kind
from notifications.selectors import channel_preferences, notification_list
from notifications.services import channel_preference_set, notification_mark_read
from organisations.actors import Actor


@login_required
def notification_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/list.html", {
        "notifications": notification_list(user=request.user)[:100],
        "preferences": channel_preferences(user=request.user)})


@login_required
@require_POST
def notification_read_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    notification_mark_read(user=request.user)
    return redirect("notifications:list")


@login_required
@require_POST
def preferences_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    actor = Actor.from_request(request)
    for kind in Kind.values:
        channel_preference_set(user=request.user, kind=kind, in_app=f"{kind}:in_app" in request.POST,
                               email=f"{kind}:email" in request.POST, actor=actor)
    return redirect("notifications:list")
