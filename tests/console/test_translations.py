"""Every string in the console's templates has a Vietnamese translation, compiled and loaded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", ROOT / "console", ROOT / "accounts", ROOT / "notifications"]
TRANSLATE = re.compile(r'{%\s*(?:translate|trans)\s+"([^"]+)"')
BLOCK = re.compile(r"{%\s*blocktranslate[^%]*%}(.*?){%\s*(?:plural|endblocktranslate)", re.S)
# Identical in both languages.
SAME_IN_VIETNAMESE = {"CSV", "TOTP", "SLA"}


def template_strings() -> list[tuple[str, str]]:
    found = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for msgid in TRANSLATE.findall(text) + BLOCK.findall(text):
                msgid = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", msgid)
                found.append((str(path.relative_to(ROOT)), msgid))
    return found


STRINGS = template_strings()


def test_the_console_templates_have_strings_to_translate() -> None:
    assert len(STRINGS) > 50


@pytest.mark.parametrize(("where", "msgid"), STRINGS, ids=[f"{w}:{m[:40]}" for w, m in STRINGS])
def test_each_template_string_is_translated_to_vietnamese(where: str, msgid: str) -> None:
    with translation.override("vi"):
        translated = translation.gettext(msgid)
    assert translated != msgid or msgid in SAME_IN_VIETNAMESE, f"{where}: {msgid!r} has no Vietnamese translation"


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
