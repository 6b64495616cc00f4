"""A world with one of everything in two provinces, each object carrying its province's canary string."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from elasticsearch import Elasticsearch

from collectors.models import BackfillUpload, Collector
from collectors.services import backfill_upload_create, collector_create, province_retention_set
from console.models import SavedSearch, Sharing
from detection.models import DetectionRule, RuleKind
from incidents.models import Attachment, Incident, ObservableKind, RequestForAction, SavedFilter
from incidents.services.collaboration import comment_add, observable_add
from incidents.services.evidence import attachment_add
from incidents.services.intake import incident_create
from incidents.services.playbooks import playbook_save
from incidents.services.requests import request_send
from organisations.actors import Actor
from organisations.models import Membership, Organisation, Role
from organisations.services import user_with_role
from soc import es as soc_es
from soc.management.commands.seed_demo import SSH_BRUTE_FORCE
from tests.conftest import PASSWORD, Cast

MATRIX_PLAYBOOK = "matrix-playbook"


def canary(code: str) -> str:
    return f"CANARY{code}Q7Z"


@dataclass
class Province:
    org: Organisation
    incident: Incident
    request: RequestForAction
    attachment: Attachment
    membership: Membership
    collector: Collector
    backfill_upload: BackfillUpload  # a log file uploaded for the province to be detected on
    rule: DetectionRule
    saved_filter: SavedFilter
    saved_search: SavedSearch  # shared with its province by that province's responder
    canary: str


@dataclass
class World:
    cast: Cast
    hni_admin: User
    provinces: dict[str, Province] = field(default_factory=dict)


def plant(org: Organisation, lead: User, responder: User) -> Province:
    mark = canary(org.code)
    actor = Actor(user=lead, ip="192.0.2.1")
    incident = incident_create(province=org, title=f"{mark} title", description=f"{mark} description",
                                        actor=actor)
    comment_add(incident=incident, body=f"{mark} comment", actor=actor)
    observable_add(incident=incident, kind=ObservableKind.ACCOUNT, value=f"{mark}-account", actor=actor)
    request = request_send(incident=incident, instructions=f"{mark} instructions", priority="high",
                                    due_at=timezone.now() + timedelta(hours=4), actor=actor)
    upload = SimpleUploadedFile(f"{mark}.txt", f"{mark} evidence".encode())
    attachment = attachment_add(incident=incident, upload=upload, actor=actor)
    victim = user_with_role(username=f"{org.code.lower()}.victim", password=PASSWORD, organisation=org,
                            role=Role.PROVINCIAL_RESPONDER)
    membership = Membership.objects.get(user_id=victim.pk, organisation=org)
    collector, _ = collector_create(organisation=org, name=f"{org.code}-{mark}")
    log_file = SimpleUploadedFile(f"{mark}.log", f"{mark} line\n".encode())
    backfill_upload = backfill_upload_create(organisation=org, upload=log_file, file_name=f"{mark}.log",
                                             file_format="text", host_name=f"{mark}-host", actor=actor)
    rule = DetectionRule.objects.create(name=f"{mark} rule", description=f"{mark} rule", organisation=org,
                                        kind=RuleKind.THRESHOLD, params=SSH_BRUTE_FORCE)
    saved_filter = SavedFilter.objects.create(user=responder, name=f"{mark} filter", query=f"q={mark}")
    saved_search = SavedSearch.objects.create(owner=responder, organisation=org, name=f"{mark} search",
                                              sharing=Sharing.PROVINCE, query=f"q={mark}")
    # An override in each province, so that a wrongful clear of the other province's shows in the snapshot.
    province_retention_set(organisation=org, days=400, actor=actor)
    return Province(org=org, incident=incident, request=request, attachment=attachment, membership=membership,
                    backfill_upload=backfill_upload,
                    collector=collector, rule=rule, saved_filter=saved_filter, saved_search=saved_search,
                    canary=mark)


def plant_event(client: Elasticsearch, org: Organisation) -> None:
    now = timezone.now()
    client.index(index=soc_es.index_name("events", now), refresh=True, document={
        "@timestamp": now.isoformat(), "message": f"{canary(org.code)} event",
        "organization": {"id": org.code}, "event": {"dataset": "system.auth"},
    })


@pytest.fixture
def world(cast: Cast, es: Elasticsearch, settings: Any, tmp_path: Path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = user_with_role(username="hni.admin", password=PASSWORD, organisation=cast.hni,
                           role=Role.PROVINCIAL_ADMIN)
    assert isinstance(admin, User)
    found = World(cast=cast, hni_admin=admin)
    # A national playbook for the incidents' category: each province's incident gets a task for the centre and one
    # for the province (its request for action), both in that province's scope.
    playbook_save(playbook=None, slug=MATRIX_PLAYBOOK, actor=Actor(user=cast.lead), values={
        "name": "Matrix playbook", "category": "other", "default_for_category": True, "steps": [
            {"title": "Centre looks", "owner": "central", "due_minutes": 60},
            {"title": "Province acts", "owner": "province", "due_minutes": 120}]})
    for org, responder in ((cast.hni, cast.hni_responder), (cast.hcm, cast.hcm_responder)):
        found.provinces[org.code] = plant(org, cast.lead, responder)
        plant_event(es, org)
    return found
