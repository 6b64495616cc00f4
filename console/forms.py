"""Console forms: a search made into a detection rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from console.search import FIELD_NAME
from organisations.models import Organisation


class RuleFromSearchForm(forms.Form):
    """What a threshold rule needs besides the search's query: count 1 alerts on every matching event."""

    name = forms.CharField(max_length=200, label=_("Rule name"))
    group_by = forms.CharField(max_length=300, initial="host.name", label=_("Group by"),
                               help_text=_("One to three fields, comma-separated"))
    count = forms.IntegerField(min_value=1, max_value=100_000, initial=1, label=_("Alert at (events)"),
                               help_text=_("1: every matching event alerts (a query rule)"))
    window_seconds = forms.IntegerField(min_value=1, max_value=86_400, initial=300, label=_("Within (s)"))
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.provinces().order_by("code"), required=False,
                                          to_field_name="code", empty_label=_("National: every province"),
                                          label=_("Runs on"))

    def clean_group_by(self) -> list[str]:
        fields = [f.strip() for f in str(self.cleaned_data["group_by"]).split(",") if f.strip()]
        if not 1 <= len(fields) <= 3 or not all(FIELD_NAME.match(f) for f in fields):
            raise forms.ValidationError(_("Write one to three field names, comma-separated."))
        return fields

    def draft_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"name": data["name"], "group_by": data["group_by"], "count": data["count"],
                "window_seconds": data["window_seconds"], "organisation": data["organisation"]}
