"""Console forms for rules: parse what an author typed into the data ``rule_create``/``rule_update`` take.

Validation of the rule itself (Sigma conversion, threshold parameters...) stays in
``detection.kinds``; ``problems_to_form`` puts each problem it reports beside the
field it concerns, so the author sees the YAML line that is wrong where they typed it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from detection.models import DetectionRule, RuleKind
from incidents.models import Category, Playbook, Severity
from organisations.models import Organisation

SIGMA_KINDS = (RuleKind.SIGMA, RuleKind.CORRELATION)
THRESHOLD_KEYS = ("query", "group_by", "count", "window_seconds", "distinct_field")
COMMON = ("name", "enabled", "organisation", "description", "severity", "category", "playbook", "interval_seconds",
          "lookback_seconds", "delay_seconds", "use_ingest_time", "max_alerts_per_run", "suppress_seconds")


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    kind = forms.ChoiceField(choices=RuleKind.choices, label=_("Kind"))
    enabled = forms.BooleanField(required=False, label=_("Enabled nationally"))
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.provinces().order_by("code"), required=False,
                                          to_field_name="code", empty_label=_("National: every province"),
                                          label=_("Runs on"))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Description"))
    severity = forms.ChoiceField(choices=[("", _("From the Sigma level")), *Severity.choices], required=False,
                                 label=_("Severity"))
    category = forms.ChoiceField(choices=Category.choices, label=_("Category"))
    playbook = forms.ModelChoiceField(queryset=Playbook.objects.order_by("name"), required=False, to_field_name="slug",
                                      empty_label=_("The category's playbook"), label=_("Playbook"),
                                      help_text=_("The tasks an incident this rule opens gets"))
    interval_seconds = forms.IntegerField(min_value=1, max_value=86400, initial=5, label=_("Run every (s)"))
    lookback_seconds = forms.IntegerField(min_value=0, max_value=86400, initial=300, label=_("Look back (s)"))
    delay_seconds = forms.IntegerField(min_value=0, max_value=3600, initial=2, label=_("Delay (s)"))
    use_ingest_time = forms.BooleanField(required=False, label=_("Select events on ingest time"))
    max_alerts_per_run = forms.IntegerField(min_value=1, max_value=10000, initial=200, label=_("Alert cap per run"))
    suppress_seconds = forms.IntegerField(min_value=0, max_value=30 * 86400, initial=0, label=_("Suppress (s)"))
    exceptions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text=_("One per line: field = value, value"), label=_("Exceptions"))
    sigma_yaml = forms.CharField(required=False, strip=False, label=_("Sigma YAML"),
                                 widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "spellcheck": "false",
                                                              "class": "code"}))
    query = forms.CharField(required=False, label=_("Query (Lucene)"))
    group_by = forms.CharField(required=False, label=_("Group by"), help_text=_("One to three fields, comma-separated"))
    count = forms.IntegerField(required=False, min_value=1, label=_("Count"))
    window_seconds = forms.IntegerField(required=False, min_value=1, label=_("Window (s)"))
    distinct_field = forms.CharField(required=False, label=_("Distinct field"))
    params_json = forms.CharField(required=False, label=_("Parameters (JSON)"),
                                  widget=forms.Textarea(attrs={"rows": 6, "cols": 100, "spellcheck": "false",
                                                                "class": "code"}))

    def clean_exceptions(self) -> list[dict[str, Any]]:
        found = []
        for n, line in enumerate(str(self.cleaned_data.get("exceptions") or "").splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, values = line.partition("=")
            listed = [v.strip() for v in values.split(",") if v.strip()]
            if not sep or not name.strip() or not listed:
                raise forms.ValidationError(_("Line %(n)s: write field = value, value") % {"n": n})
            found.append({"field": name.strip(), "values": listed})
        return found

    def clean_params_json(self) -> dict[str, Any] | None:
        text = str(self.cleaned_data.get("params_json") or "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The parameters must be a JSON object"))
        return value

    def rule_data(self, *, created: bool) -> dict[str, Any]:
        """What the author set, as the authoring service takes it (cleaned data required)."""
        data = {name: self.cleaned_data[name] for name in COMMON}
        if not data["severity"]:
            del data["severity"]  # a Sigma rule's own level applies
        data["exceptions"] = self.cleaned_data["exceptions"]
        kind = self.cleaned_data["kind"]
        if created:
            data["kind"] = kind
        data["params"] = self._params(kind)
        return data

    def _params(self, kind: str) -> dict[str, Any]:
        if kind in SIGMA_KINDS:
            return {"yaml": self.cleaned_data["sigma_yaml"]}
        if kind == RuleKind.THRESHOLD:
            raw = {key: self.cleaned_data.get(key) for key in THRESHOLD_KEYS}
            raw["group_by"] = [f.strip() for f in str(raw["group_by"] or "").split(",") if f.strip()]
            return {key: value for key, value in raw.items() if value not in (None, "", [])}
        return self.cleaned_data.get("params_json") or {}


def rule_initial(rule: DetectionRule) -> dict[str, Any]:
    """The form as the rule stands now."""
    initial: dict[str, Any] = {name: getattr(rule, name) for name in COMMON}
    initial["organisation"] = rule.organisation.code if rule.organisation else None
    initial["playbook"] = rule.playbook.slug if rule.playbook else None
    initial["kind"] = rule.kind
    initial["exceptions"] = "\n".join(f"{e['field']} = {', '.join(e['values'])}" for e in rule.exceptions)
    params = rule.params or {}
    if rule.kind in SIGMA_KINDS:
        initial["sigma_yaml"] = params.get("yaml", "")
    elif rule.kind == RuleKind.THRESHOLD:
        initial |= {key: params.get(key) for key in THRESHOLD_KEYS}
        initial["group_by"] = ", ".join(params.get("group_by") or [])
    else:
        initial["params_json"] = json.dumps(params, indent=2, ensure_ascii=False)
    return initial


def problems_to_form(form: forms.Form, problems: list[dict[str, Any]], kind: str) -> None:
    """Each problem the service reported, beside the field it concerns (Sigma ones keep their YAML line)."""
    for problem in problems:
        form.add_error(_form_field(str(problem.get("field") or ""), kind), str(problem.get("message") or problem))


def _form_field(field: str, kind: str) -> str | None:
    if field.startswith("params"):
        if kind in SIGMA_KINDS:
            return "sigma_yaml"
        return "group_by" if kind == RuleKind.THRESHOLD else "params_json"
    if field.startswith("exceptions"):
        return "exceptions"
    return field if field in RuleForm.base_fields else None


PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


class TestRunForm(forms.Form):
    """A past period: one of the usual ones, or exact start and end."""

    period = forms.ChoiceField(choices=[("1h", _("Last hour")), ("24h", _("Last 24 hours")), ("7d", _("Last 7 days")),
                                        ("custom", _("From … to …"))], initial="24h", label=_("Period"))
    start = forms.DateTimeField(required=False, label=_("From"),
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(required=False, label=_("To"),
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("period") in PERIODS:
            cleaned["end"] = timezone.now()
            cleaned["start"] = cleaned["end"] - PERIODS[cleaned["period"]]
        elif not cleaned.get("start") or not cleaned.get("end"):
            raise forms.ValidationError(_("Give both the start and the end of the period"))
        elif cleaned["end"] <= cleaned["start"]:
            raise forms.ValidationError(_("The end must be after the start"))
        return cleaned
