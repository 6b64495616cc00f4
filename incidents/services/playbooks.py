"""Playbooks: what to do about each kind of incident, versioned and audited, and the tasks they give incidents.

Which playbook an incident gets, when:

* **When it opens** (``incident_create``, so every intake path: a province's filing in the console or the API,
  an analyst's, detection opening one): the playbook named by the detection rule that opened it, otherwise
  the default playbook of its category. No playbook, no tasks.
* **When its category changes** (``incident_update``): the new category's default playbook.
* **By hand** (the incident page, the API): any playbook, e.g. ransomware on a malware incident.

Each time, the playbook's steps in its current version become tasks (``RequestForAction`` rows: the centre's
own, or the province's requests for action), due ``due_minutes`` after that moment (clock time). Tasks that
came from *another* playbook and that nobody has started yet (still ``open``) are marked **not applicable**,
with a note saying why; tasks already acknowledged, in progress, waiting for help or done stay exactly as they
are, and requests for action sent by hand are never touched. Nothing is ever deleted, so the checklist and the
timeline keep the whole story. A playbook whose tasks the incident already holds is not applied twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from incidents.models import (
    Category,
    Incident,
    Owner,
    Playbook,
    PlaybookVersion,
    Priority,
    RequestForAction,
    RequestStatus,
    Severity,
)
from incidents.services.live import broadcast_updated
from incidents.signals import tasks_added
from incidents.timeline import record as _record
from organisations.actors import Actor
from organisations.models import Organisation
from organisations.services import audit_record

MAX_STEPS = 40
MAX_DUE_MINUTES = 366 * 24 * 60
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
STEP_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# A playbook task is as urgent as its incident.
PRIORITY_OF = {Severity.CRITICAL: Priority.URGENT, Severity.HIGH: Priority.HIGH, Severity.MEDIUM: Priority.NORMAL,
               Severity.LOW: Priority.LOW}
# What a save may set; the version number and the steps' keys are the service's.
FIELDS = ("name", "category", "default_for_category", "description", "source", "steps")


def playbook_steps_check(steps: Any) -> list[dict[str, Any]]:
    """The steps as stored: each with a unique ``key`` (kept when given, else made from its title), a title, an
    owner (central or province), a due offset in minutes and, optionally, the evidence expected and instructions.
    Problems are reported by step number (1-based)."""
    if not isinstance(steps, list) or not steps:
        raise ValidationError("A playbook needs at least one step.")
    if len(steps) > MAX_STEPS:
        raise ValidationError(f"At most {MAX_STEPS} steps.")
    problems: list[str] = []
    checked: list[dict[str, Any]] = []
    for n, raw in enumerate(steps, start=1):
        if not isinstance(raw, Mapping):
            problems.append(f"step {n}: not an object")
            continue
        title = str(raw.get("title") or "").strip()
        owner = str(raw.get("owner") or "")
        try:
            due = int(raw.get("due_minutes"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            due = 0
        if not title or len(title) > 300:
            problems.append(f"step {n}: a title of 1 to 300 characters")
        if owner not in Owner.values:
            problems.append(f"step {n}: owner must be one of {', '.join(Owner.values)}")
        if not 1 <= due <= MAX_DUE_MINUTES:
            problems.append(f"step {n}: due_minutes must be 1..{MAX_DUE_MINUTES}")
        key = str(raw.get("key") or "").strip()
        if key and not STEP_KEY.match(key):
            problems.append(f"step {n}: key must be lower-case letters, digits and dashes")
        checked.append({"key": key, "title": title, "owner": owner, "due_minutes": due,
                        "evidence": str(raw.get("evidence") or "").strip()[:2000],
                        "instructions": str(raw.get("instructions") or "").strip()[:20000]})
    if problems:
        raise ValidationError("; ".join(problems))
    given = [step["key"] for step in checked if step["key"]]
    if len(given) != len(set(given)):
        raise ValidationError("Two steps have the same key.")
    keys = set(given)
    for step in checked:
        if not step["key"]:
            step["key"] = _new_key(step["title"], keys)
            keys.add(step["key"])
    return checked


def _new_key(title: str, taken: set[str]) -> str:
    base = (slugify(title)[:48].strip("-") or "step")
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def playbook_save(*, playbook: Playbook | None, actor: Actor, values: Mapping[str, Any],
                  slug: str = "") -> Playbook:
    """Create a playbook (``playbook`` None, ``slug`` given) or save a new version of one.

    Every save that changes anything is a new version (the old ones stay, and tasks keep pointing at the
    version they came from); a save that changes nothing makes none. Made the default of its category, it
    takes over from the previous default (one per category). Audited as ``playbook.created`` / ``.updated``
    in the national organisation, the way rules are.
    """
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        if playbook is None:
            _check_new_slug(slug)
            before: dict[str, Any] = {}
        else:
            playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)  # versions are numbered in turn
            before = _state(playbook, playbook.current())
        after = _checked({**before, **values})
        if playbook is not None and after == before:
            return playbook
        replaced = _take_over_default(after, playbook) if after["default_for_category"] else None
        playbook = _write_version(playbook, slug=slug, after=after, actor=actor)
        changed = [field for field in after if before.get(field) != after[field]]
        audit_record(actor=actor, action="playbook.updated" if before else "playbook.created",
                     object_type="playbook", object_ref=playbook.slug, organisation=Organisation.objects.national(),
                     before={field: before[field] for field in changed if field in before},
                     after={"version": playbook.version, **{field: after[field] for field in changed},
                            **({"replaces_default": replaced.slug} if replaced else {})})
    return playbook


def _check_new_slug(slug: str) -> None:
    if not SLUG.match(slug):
        raise ValidationError("The short name is 2 to 64 lower-case letters, digits and dashes.")
    if Playbook.objects.filter(slug=slug).exists():
        raise ValidationError(f"A playbook named {slug} already exists.")


def _checked(merged: Mapping[str, Any]) -> dict[str, Any]:
    """A playbook's fields as stored (the same keys as ``_state``), or the first problem found."""
    name, category = str(merged.get("name") or "").strip()[:200], str(merged.get("category") or "")
    if not name:
        raise ValidationError("Name the playbook.")
    if category not in Category.values:
        raise ValidationError(f"Category must be one of {', '.join(Category.values)}.")
    return {"name": name, "category": category, "default_for_category": bool(merged.get("default_for_category")),
            "description": str(merged.get("description") or "").strip(),
            "source": str(merged.get("source") or "").strip(), "steps": playbook_steps_check(merged.get("steps"))}


def _take_over_default(after: Mapping[str, Any], playbook: Playbook | None) -> Playbook | None:
    """The category's previous default stops being one (returned, for the audit entry)."""
    others = Playbook.objects.select_for_update().filter(category=after["category"], default_for_category=True)
    replaced = (others.exclude(pk=playbook.pk) if playbook is not None else others).first()
    if replaced is not None:
        replaced.default_for_category = False
        replaced.save(update_fields=["default_for_category", "updated_at"])
    return replaced


def _write_version(playbook: Playbook | None, *, slug: str, after: Mapping[str, Any], actor: Actor) -> Playbook:
    """The playbook row (created, or moved to its next version number) and the new version's row."""
    if playbook is None:
        playbook = Playbook.objects.create(slug=slug, name=after["name"], category=after["category"], version=1,
                                           default_for_category=after["default_for_category"])
    else:
        playbook.name, playbook.category = after["name"], after["category"]
        playbook.default_for_category, playbook.version = after["default_for_category"], playbook.version + 1
        playbook.save(update_fields=["name", "category", "default_for_category", "version", "updated_at"])
    PlaybookVersion.objects.create(playbook=playbook, number=playbook.version, name=after["name"],
                                   description=after["description"], source=after["source"], steps=after["steps"],
                                   author=actor.user)
    return playbook


def _state(playbook: Playbook, version: PlaybookVersion) -> dict[str, Any]:
    return {"name": version.name, "category": playbook.category, "default_for_category": playbook.default_for_category,
            "description": version.description, "source": version.source, "steps": version.steps}


def playbook_for(*, category: str) -> Playbook | None:
    """The default playbook of a category, if there is one."""
    return Playbook.objects.filter(category=category, default_for_category=True).first()


def playbook_apply(*, incident: Incident, playbook: Playbook, actor: Actor, reason: str) -> list[RequestForAction]:
    """Give ``incident`` the steps of ``playbook`` (its current version) as tasks; see the module's docstring
    for what happens to the tasks of another playbook. ``reason``: opened, category or manual (on the timeline).

    Returns the new tasks (none when the incident already holds this playbook's tasks)."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("province").get(pk=incident.pk)
        held = RequestForAction.objects.filter(incident=locked, playbook_version__playbook=playbook)
        if held.exclude(status=RequestStatus.NOT_APPLICABLE).exists():
            return []
        version = playbook.current()
        retired = _retire(locked, keep=playbook, note=f"Not applicable: the incident now follows the "
                                                     f"playbook '{version.name}'.")
        now = timezone.now()
        start = (RequestForAction.objects.filter(incident=locked).aggregate(top=Max("position"))["top"] or 0) + 1
        priority = PRIORITY_OF.get(Severity(locked.severity), Priority.NORMAL)
        tasks = RequestForAction.objects.bulk_create([
            RequestForAction(incident=locked, province=locked.province, owner=step["owner"], title=step["title"],
                             instructions=step["instructions"] or step["title"], evidence_expected=step["evidence"],
                             priority=priority, due_at=now + timedelta(minutes=step["due_minutes"]),
                             position=start + n, playbook_version=version, step=step["key"], created_by=actor.user)
            for n, step in enumerate(version.steps)])
        _record(locked, actor=actor, kind="playbook.applied", after={
            "playbook": playbook.slug, "version": version.number, "reason": reason,
            "tasks": [task.pk for task in tasks], "not_applicable": retired})
        tasks_added.send(sender=RequestForAction, incident=locked, tasks=tasks, playbook=version)
        broadcast_updated(locked)
    return tasks


def playbook_category_changed(*, incident: Incident, actor: Actor) -> list[RequestForAction]:
    """After ``incident``'s category changed (inside that change's transaction): the new category's playbook,
    or, where the new category has none, the old playbook's unstarted tasks marked not applicable."""
    playbook = playbook_for(category=incident.category)
    if playbook is not None:
        return playbook_apply(incident=incident, playbook=playbook, actor=actor, reason="category")
    retired = _retire(incident, keep=None, note="Not applicable: the incident's category changed.")
    if retired:
        _record(incident, actor=actor, kind="playbook.retired", after={"not_applicable": retired,
                                                                       "category": incident.category})
    return []


def _retire(incident: Incident, *, keep: Playbook | None, note: str) -> list[int]:
    """Unstarted tasks of other playbooks become not applicable (never deleted); returns their ids."""
    stale = (RequestForAction.objects.select_for_update()
             .filter(incident=incident, playbook_version__isnull=False, status=RequestStatus.OPEN))
    if keep is not None:
        stale = stale.exclude(playbook_version__playbook=keep)
    ids = list(stale.values_list("pk", flat=True))
    if ids:
        RequestForAction.objects.filter(pk__in=ids).update(status=RequestStatus.NOT_APPLICABLE, progress_note=note,
                                                           updated_at=timezone.now())
    return ids


STARTER_DIR = Path(settings.BASE_DIR) / "playbooks"


def playbook_starter_load(*, actor: Actor, folder: Path = STARTER_DIR) -> list[tuple[str, str]]:
    """The starter playbooks (``playbooks/*.yml``); idempotent. Each: ``created``, ``updated`` (a new version,
    when the file changed and the playbook is still as loaded), ``unchanged``, ``kept`` (a person saved a
    version since: theirs stays) or ``invalid: ...``."""
    results = []
    for path in sorted(folder.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        slug = str(raw.get("slug") or path.stem)
        values = {field: raw[field] for field in FIELDS if field in raw}
        existing = Playbook.objects.filter(slug=slug).first()
        try:
            if existing is None:
                playbook_save(playbook=None, slug=slug, actor=actor, values=values)
                results.append((slug, "created"))
                continue
            if existing.current().author_id is not None:
                results.append((slug, "kept"))
                continue
            version = existing.version
            playbook_save(playbook=existing, actor=actor, values=values)
            existing.refresh_from_db(fields=["version"])
            results.append((slug, "updated" if existing.version != version else "unchanged"))
        except ValidationError as exc:
            results.append((slug, f"invalid: {' '.join(exc.messages)}"))
    return results
