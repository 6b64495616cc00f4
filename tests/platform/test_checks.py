"""The build fails when the API could be opened to anyone."""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from soc.checks import drf_denies_by_default


def test_the_configured_api_denies_by_default() -> None:
    assert drf_denies_by_default() == []


def test_allow_any_as_the_default_permission_is_an_error(settings: Any) -> None:
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK,
                                           "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}):
        assert [e.id for e in drf_denies_by_default()] == ["soc.E001"]


def test_no_default_permission_at_all_is_an_error(settings: Any) -> None:
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_PERMISSION_CLASSES": []}):
        assert [e.id for e in drf_denies_by_default()] == ["soc.E001"]
