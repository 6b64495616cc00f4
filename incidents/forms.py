"""Console forms: parse and validate input; services do the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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


# What a province answers to a request (skipping a step as not applicable is the centre's, on the incident page).
REQUEST_ANSWERS = [c for c in RequestStatus.choices if c[0] not in (RequestStatus.OPEN, RequestStatus.NOT_APPLICABLE)]


class RequestUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=REQUEST_ANSWERS)
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


class TaskUpdateForm(forms.Form):
    """One task's change from the incident page; only the fields sent are changed (see ``changes``)."""

    status = forms.ChoiceField(choices=[("", "—"), *RequestStatus.choices], required=False)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=20000)
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, choices=[])
    due_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    evidence = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[])

    def __init__(self, *args: object, assignees: list[tuple[int, str]], attachments: list[tuple[int, str]],
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["assignee"].choices = [("", "—"), *assignees]  # type: ignore[attr-defined]
        self.fields["evidence"].choices = attachments  # type: ignore[attr-defined]

    def changes(self, current_assignee: int | None) -> dict[str, object]:
        """What the person changed (cleaned data required): a blank status, note or due time changes nothing;
        the assignee and the evidence are sent by the form every time, so they count only when different."""
        data = self.cleaned_data
        found: dict[str, object] = {name: data[name] for name in ("status", "note", "due_at") if data[name]}
        if "assignee" in self.data and data["assignee"] != current_assignee:
            found["assignee"] = data["assignee"]
        if "evidence_sent" in self.data:
            found["evidence"] = data["evidence"]
        return found


class PlaybookApplyForm(forms.Form):
    playbook = forms.SlugField(max_length=64)


class PlaybookForm(forms.Form):
    slug = forms.SlugField(max_length=64, required=False, label=_("Short name"),
                           help_text=_("Permanent: lower-case letters, digits and dashes"))
    name = forms.CharField(max_length=200, label=_("Name"))
    category = forms.ChoiceField(choices=Category.choices, label=_("Category"))
    default_for_category = forms.BooleanField(required=False, label=_("Every new incident of this category gets it"))
    description = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}),
                                  label=_("Description"))
    source = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                             label=_("Source (the public guidance it follows)"))


class StepForm(forms.Form):
    key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=300, label=_("Step"))
    owner = forms.ChoiceField(choices=Owner.choices, initial=Owner.CENTRAL, label=_("Done by"))
    due_minutes = forms.IntegerField(min_value=1, max_value=366 * 24 * 60, initial=60,
                                     label=_("Due after (minutes)"))
    evidence = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                               label=_("Evidence expected"))
    instructions = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2}),
                                   label=_("Instructions"))


# Rows in the order given by their "order" field; a ticked "delete" drops the step; two blank rows to add steps.
StepFormSet = forms.formset_factory(StepForm, extra=2, can_order=True, can_delete=True, max_num=40,
                                    validate_max=True)


def steps_initial(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**step, "ORDER": n} for n, step in enumerate(steps, start=1)]


def steps_from(formset: forms.BaseFormSet) -> list[dict[str, object]]:
    """The steps in the order the person gave (a valid formset required), deleted and blank rows left out."""
    return [{name: form.cleaned_data[name] for name in ("key", "title", "owner", "due_minutes", "evidence",
                                                         "instructions")}
            for form in formset.ordered_forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
