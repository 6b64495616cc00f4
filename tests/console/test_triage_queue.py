"""The triage queue page (incidents list): saved views picked on the queue, bulk tools only for those who may use
them, and the data the keyboard shortcuts (static/js/triage.js) work from. Browser behaviour is in
tests/browser/test_triage_in_browser.py."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import SavedFilter
from incidents.services.intake import incident_create
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def queue(user: User, query: str = "") -> tuple[int, str, str]:
    client = Client()
    client.force_login(user)
    response = client.get(f"/incidents/{query}")
    return response.status_code, response.headers.get("Location", ""), response.content.decode()


def test_picking_a_saved_view_shows_its_filters(cast: Cast) -> None:
    saved = SavedFilter.objects.create(user=cast.analyst, name="New high", query="status=new&severity=high")
    status, location, _ = queue(cast.analyst, f"?view={saved.pk}")
    assert status == 302 and location == "/incidents/?status=new&severity=high"


def test_another_users_view_or_a_made_up_one_is_not_found(cast: Cast) -> None:
    theirs = SavedFilter.objects.create(user=cast.hni_responder, name="mine", query="status=new")
    assert queue(cast.analyst, f"?view={theirs.pk}")[0] == 404
    assert queue(cast.analyst, "?view=999999")[0] == 404
    assert queue(cast.analyst, "?view=1%20OR%201=1")[0] == 404


def test_the_view_being_shown_is_selected_whatever_the_order_of_its_filters(cast: Cast) -> None:
    saved = SavedFilter.objects.create(user=cast.analyst, name="New <i>high</i>", query="status=new&severity=high")
    _, _, body = queue(cast.analyst, "?severity=high&status=new&page=1")
    assert f'<option value="{saved.pk}" selected>New &lt;i&gt;high&lt;/i&gt;</option>' in body
    assert 'id="save-view"' not in body, "an unchanged view is not offered for saving again"
    _, _, other = queue(cast.analyst, "?severity=high")
    assert f'<option value="{saved.pk}">' in other and 'id="save-view"' in other


def test_the_lead_gets_bulk_tools_and_assign_to_me(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t")
    _, _, body = queue(cast.lead)
    assert 'id="select-all"' in body and f'name="keys" value="{incident.key}"' in body
    assert re.search(rf'data-me="{cast.lead.pk}" data-can-assign="true"', body)
    assert f'<option value="{cast.analyst.pk}">analyst</option>' in body


def test_an_auditor_gets_no_bulk_tools_and_no_assign_shortcut(cast: Cast) -> None:
    incident = incident_create(province=cast.hni, title="t")
    _, _, body = queue(cast.auditor)
    assert incident.key in body
    assert 'id="select-all"' not in body and 'name="keys"' not in body and 'fieldset class="bulk"' not in body
    assert 'data-selectable="false"' in body and 'data-can-assign="false"' in body


def test_rows_added_live_get_translated_labels_from_the_page(cast: Cast) -> None:
    _, _, body = queue(cast.analyst)
    match = re.search(r'<script id="incident-labels" type="application/json">(.*?)</script>', body, re.S)
    assert match and '"critical": "Nghi\\u00eam tr\\u1ecdng"' in match.group(1)
