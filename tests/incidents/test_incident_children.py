"""``incident_children``: an incident's own rows through a statement made once, the same instances as the ORM's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model

from incidents.models import Attachment, Comment, Incident, Observable, ObservableKind, Status, TimelineEntry
from incidents.selectors import comment_thread, incident_children
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.workflow import incident_change_status
from organisations.actors import Actor
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _fields(instances: list[Any]) -> list[dict[str, Any]]:
    return [{field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}
            for instance in instances]


def _same(model: type[Model], got: list[Any], expected: list[Any]) -> None:
    assert [type(instance) for instance in got] == [model] * len(expected)
    assert _fields(got) == _fields(expected)
    assert all(not instance._state.adding and instance._state.db == "default" for instance in got)


def test_the_rows_of_an_incident_are_the_orms_in_its_order(cast: Cast, media: Path,
                                                            make_incidents: Callable[..., list[Incident]]) -> None:
    incident, other = make_incidents(2)
    actor = Actor(user=cast.analyst)
    for kind, value in ((ObservableKind.IP, "203.0.113.9"), (ObservableKind.DOMAIN, "evil.example"),
                        (ObservableKind.IP, "198.51.100.1")):
        observable_add(incident=incident, kind=kind, value=value, actor=actor)
    observable_add(incident=other, kind=ObservableKind.IP, value="192.0.2.1", actor=actor)
    attachment_add(incident=incident, upload=SimpleUploadedFile("a <b>.log", b"one"), actor=actor)
    attachment_add(incident=incident, upload=SimpleUploadedFile("b.log", b"two"), actor=actor)
    comment_add(incident=incident, body='{"json": "in a body"} ü', actor=actor)
    incident_change_status(incident=incident, status=Status.TRIAGED, actor=actor)

    _same(Observable, incident_children(Observable, incident=incident),
          list(Observable.objects.filter(incident=incident)))
    attachments = incident_children(Attachment, incident=incident)
    _same(Attachment, attachments, list(Attachment.objects.filter(incident=incident)))
    assert attachments[0].file.read() == b"one"  # the file field works as the ORM's does
    entries = incident_children(TimelineEntry, incident=incident, order=("-created_at", "-id"), limit=3)
    _same(TimelineEntry, entries, list(TimelineEntry.objects.filter(incident=incident)
                                       .order_by("-created_at", "-id")[:3]))
    assert any(isinstance(entry.after, dict) and entry.after for entry in entries)  # JSON decoded, not text
    assert incident_children(Observable, incident=make_incidents(1)[0]) == []


def test_the_pages_comments_come_with_their_authors_names(cast: Cast,
                                                          make_incidents: Callable[..., list[Incident]]) -> None:
    incident = make_incidents(1)[0]
    comment_add(incident=incident, body="first <b>", actor=Actor(user=cast.analyst))
    comment_add(incident=incident, body="second", actor=Actor(user=cast.hni_responder))
    Comment.objects.filter(body="second").update(author=None)  # an author since deleted

    got = comment_thread(incident=incident)

    _same(Comment, got, list(Comment.objects.filter(incident=incident)))
    assert [(c.body, c.author and c.author.username) for c in got] == [("first <b>", cast.analyst.username),
                                                                       ("second", None)]
