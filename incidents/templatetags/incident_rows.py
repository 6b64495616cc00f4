"""``{% incident_rows incidents selectable %}``: the triage queue's rows, built in Python.

The same markup as a ``{% for %}`` over the page in the template, at a tenth of the CPU: the template loop
cost about 200 us a row (a URL reversed, two choice labels looked up through lazy translations, the time
filter and a dozen variable lookups each), 10 of a page's 20 ms (bench/page_cpu_bench.py). Each value is
escaped by ``html.escape``, which Django's ``escape`` calls too: through ``format_html`` the lazy-string checks
of eleven ``conditional_escape`` calls a row cost more than the rest of the row. Rows added live by
static/js/live.js keep the same columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from accounts.templatetags.times import when
from incidents.models import Incident, Severity, Status

register = template.Library()

ROW = ('<tr data-key="{}"><td>{}<a href="{}">{}</a></td><td>{}</td><td class="sev sev-{}">{}</td><td>{}</td>'
       '<td>{}</td><td>{}</td><td>{}</td></tr>\n')
CHECKBOX = '<input type="checkbox" name="keys" value="{}" aria-label="{}"> '


@register.simple_tag
def incident_rows(incidents: Iterable[Incident], selectable: bool) -> SafeString:
    head, tail = reverse("incidents:detail", args=["KEY"]).split("KEY")
    # Translated and escaped once a page, not per row.
    severity = {value: escape(str(label)) for value, label in Severity.choices}
    status = {value: escape(str(label)) for value, label in Status.choices}
    rows = []
    for i in incidents:
        key = escape(i.key)
        rows.append(ROW.format(
            key, CHECKBOX.format(key, key) if selectable else "", escape(head + quote(i.key, safe="") + tail), key,
            escape(i.title), escape(i.severity), severity.get(i.severity) or escape(i.severity),
            status.get(i.status) or escape(i.status), escape(i.province.code) if i.province_id else "",
            i.alert_count, conditional_escape(when(i.created_at))))
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped
