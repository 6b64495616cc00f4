"""Console pages for incidents: parse, call a selector, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from incidents.selectors import incident_get, incident_list


@login_required
def incident_list_view(request: HttpRequest) -> HttpResponse:
    incidents = incident_list(user=request.user)[:200]
    return render(request, "incidents/list.html", {"incidents": incidents})


@login_required
def incident_detail_view(request: HttpRequest, key: str) -> HttpResponse:
    incident = incident_get(user=request.user, key=key)
    return render(request, "incidents/detail.html", {"incident": incident})
