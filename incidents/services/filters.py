"""Saved filters of the incident list, per user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError

from incidents.models import SavedFilter
from incidents.selectors import FILTER_KEYS
from organisations.selectors import AnyUser


def saved_filter_save(*, user: AnyUser, name: str, params: Mapping[str, Any]) -> SavedFilter:
    """Keeps only the list's known filter keys; saving under an existing name replaces it."""
    if not name.strip():
        raise ValidationError("Name the filter.")
    kept = {key: str(params[key]) for key in FILTER_KEYS if params.get(key)}
    if not kept:
        raise ValidationError("There is no filter to save.")
    saved, _ = SavedFilter.objects.update_or_create(user_id=user.pk, name=name.strip()[:100],
                                                    defaults={"query": urlencode(kept)})
    return saved


def saved_filter_delete(*, saved: SavedFilter) -> None:
    saved.delete()
