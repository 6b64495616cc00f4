"""Forms of the collectors' console pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from collectors.models import BackfillFormat
from organisations.models import Organisation


class BackfillUploadForm(forms.Form):
    """A log file to detect on, for one of ``provinces`` (the ones the user may file incidents for)."""

    province = forms.ModelChoiceField(queryset=Organisation.objects.none(), to_field_name="code",
                                      label=_("Province"), empty_label=None)
    file = forms.FileField(label=_("Log file"), allow_empty_file=False)
    format = forms.ChoiceField(choices=BackfillFormat.choices, initial=BackfillFormat.AUTO, label=_("Format"))
    host_name = forms.CharField(max_length=255, required=False, label=_("Host"),
                                help_text=_("host.name of lines that do not carry one (default: the file name)"))

    def __init__(self, *args: Any, provinces: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["province"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = provinces
        if len(provinces) == 1:
            field.initial = provinces[0].code
