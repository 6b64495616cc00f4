"""Every string the console shows has a Vietnamese translation, compiled and loaded: the templates' strings and
the labels of model choices (severity, status, category, TLP, roles, requests, notifications…)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation
from django.utils.functional import Promise

from incidents.models import Category, Owner, Severity, Status
from organisations.models import Role

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", ROOT / "console", ROOT / "accounts", ROOT / "notifications",
                 ROOT / "incidents"]
TRANSLATE = re.compile(r'{%\s*(?:translate|trans)\s+"([^"]+)"')
BLOCK = re.compile(r"{%\s*blocktranslate[^%]*%}(.*?){%\s*(?:plural|endblocktranslate)", re.S)
# Identical in both languages.
SAME_IN_VIETNAMESE = {"CSV", "TOTP", "SLA"}
# Choices the console shows on every incident: their labels must go through gettext (lazy), not stay English.
SHOWN_CHOICES = [Severity, Status, Category, Owner, Role]


def template_strings() -> list[tuple[str, str]]:
    found = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for msgid in TRANSLATE.findall(text) + BLOCK.findall(text):
                msgid = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", msgid)
                found.append((str(path.relative_to(ROOT)), msgid))
    return found


def choice_labels() -> list[tuple[str, str]]:
    """(model.field, label) for every translatable choice label of the project's own models."""
    found = {}
    with translation.override("en"):  # the English catalogue is the msgids themselves
        for model in apps.get_models():
            if not str(model.__module__).startswith(tuple(f"{app}." for app in PROJECT_APPS)):
                continue
            for field in model._meta.get_fields():
                for _value, label in getattr(field, "choices", None) or []:
                    if isinstance(label, Promise):
                        found[str(label)] = f"{model.__name__}.{field.name}"
    return sorted((where, msgid) for msgid, where in found.items())


PROJECT_APPS = ("organisations", "incidents", "collectors", "detection", "console", "notifications", "accounts",
                "readiness")
STRINGS = template_strings()
LABELS = choice_labels()


def vietnamese(msgid: str) -> str:
    with translation.override("vi"):
        return translation.gettext(msgid)


def test_the_console_templates_have_strings_to_translate() -> None:
    assert len(STRINGS) > 50


@pytest.mark.parametrize(("where", "msgid"), STRINGS, ids=[f"{w}:{m[:40]}" for w, m in STRINGS])
def test_each_template_string_is_translated_to_vietnamese(where: str, msgid: str) -> None:
    assert vietnamese(msgid) != msgid or msgid in SAME_IN_VIETNAMESE, f"{where}: {msgid!r} is not translated"


@pytest.mark.parametrize("choices", SHOWN_CHOICES, ids=[c.__name__ for c in SHOWN_CHOICES])
def test_the_labels_shown_on_incidents_go_through_gettext(choices: type[models.TextChoices]) -> None:
    assert all(isinstance(label, Promise) for _value, label in choices.choices), choices


def test_every_shown_label_is_among_the_translatable_choices() -> None:
    labels = {msgid for _where, msgid in LABELS}
    assert {"Critical", "False positive", "Malicious code", "TLP:AMBER+STRICT", "Provincial responder",
            "Help requested", "SLA breached"} <= labels


@pytest.mark.parametrize(("where", "msgid"), LABELS, ids=[f"{w}:{m[:40]}" for w, m in LABELS])
def test_each_model_choice_label_is_translated_to_vietnamese(where: str, msgid: str) -> None:
    assert vietnamese(msgid) != msgid or msgid in SAME_IN_VIETNAMESE, f"{where}: {msgid!r} is not translated"


def test_an_incident_page_shows_its_labels_in_vietnamese() -> None:
    with translation.override("vi"):
        assert str(Severity.CRITICAL.label) == "Nghiêm trọng"
        assert str(Status.FALSE_POSITIVE.label) == "Cảnh báo nhầm"
    with translation.override("en"):
        assert str(Severity.CRITICAL.label) == "Critical"


def test_the_vietnamese_catalogue_has_no_empty_or_fuzzy_entries() -> None:
    po = (ROOT / "locale/vi/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    entries = po.split("\n\n")[1:]
    assert entries
    for entry in entries:
        assert "#, fuzzy" not in entry, entry
        assert not re.search(r'^msgstr(\[0\])? ""\Z', entry.strip(), re.M), entry


def test_the_compiled_catalogue_matches_its_source() -> None:
    """A .po edited without compilemessages leaves a stale .mo; this catches it."""
    po = (ROOT / "locale/vi/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po, re.M)
    assert pairs
    with translation.override("vi"):
        stale = [msgid for msgid, msgstr in pairs
                 if translation.gettext(msgid.replace('\\"', '"')) != msgstr.replace('\\"', '"')]
    assert not stale, f"run manage.py compilemessages: {stale[:5]}"
