"""Console forms: parse and validate input; services do the rest."""

from __future__ import annotations

from django import forms

from incidents.models import TLP, Category, ObservableKind, Owner, Priority, RequestStatus, Severity, Status


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    resolution_summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, choices=[])

    def __init__(self, *args: object, staff: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["assignee"].choices = [("", "— unassigned —"), *staff]  # type: ignore[attr-defined]


class HandoverForm(forms.Form):
    owner = forms.ChoiceField(choices=Owner.choices)


class EditForm(forms.Form):
    title = forms.CharField(max_length=300)
    severity = forms.ChoiceField(choices=Severity.choices)
    category = forms.ChoiceField(choices=Category.choices)
    tlp = forms.ChoiceField(choices=TLP.choices)
    mitre_techniques = forms.CharField(required=False, max_length=2000, help_text="e.g. T1110.001 T1078")


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000)


class ObservableForm(forms.Form):
    kind = forms.ChoiceField(choices=ObservableKind.choices)
    value = forms.CharField(max_length=2048)


class RequestForm(forms.Form):
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000)
    due_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)


class RequestUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in RequestStatus.choices if c[0] != RequestStatus.OPEN])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=20000)


class AttachmentForm(forms.Form):
    file = forms.FileField()


class MergeForm(forms.Form):
    into = forms.CharField(max_length=32, label="Survivor incident id")


BULK_MAX = 5000


class BulkForm(forms.Form):
    """The incident ids come as repeated ``keys`` fields (checkboxes); they are scoped by the view."""

    action = forms.ChoiceField(choices=[("status", "Change status"), ("assign", "Assign"), ("close", "Close")])
    status = forms.ChoiceField(choices=Status.choices, required=False)
    assignee = forms.IntegerField(required=False)
    resolution_summary = forms.CharField(required=False, max_length=10000)


class IntakeForm(forms.Form):
    title = forms.CharField(max_length=300, label="What happened (short)")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=50000,
                                  label="What happened (details)")
    affected_systems = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10000, required=False)
    occurred_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      label="When it happened")
    contact = forms.CharField(max_length=200, label="Who to contact (name, phone, e-mail)")
    category = forms.ChoiceField(choices=Category.choices, initial=Category.OTHER)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    province = forms.ChoiceField(choices=[], label="Province")
    evidence = forms.FileField(required=False, label="Evidence (optional)")

    def __init__(self, *args: object, provinces: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["province"].choices = provinces  # type: ignore[attr-defined]


class SlaPolicyClearForm(forms.Form):
    organisation = forms.CharField(max_length=16)
    severity = forms.ChoiceField(choices=Severity.choices)


class SlaPolicyForm(SlaPolicyClearForm):
    acknowledge_minutes = forms.IntegerField(min_value=1)
    contain_minutes = forms.IntegerField(min_value=1)
    resolve_minutes = forms.IntegerField(min_value=1)
    business_hours_only = forms.BooleanField(required=False)
    business_day_start = forms.TimeField(required=False)
    business_day_end = forms.TimeField(required=False)

    def values(self) -> dict[str, object]:
        """The row's values; empty business-day bounds keep the ones in force."""
        return {name: value for name, value in self.cleaned_data.items()
                if name not in ("organisation", "severity") and value is not None}
