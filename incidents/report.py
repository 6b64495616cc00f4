"""The incident report for the authorities and the province: what it holds (``report_build``) and its two forms,
a print-friendly HTML page (``report_html``) and a PDF (``report_pdf``, reportlab with a Unicode TrueType font so
Vietnamese keeps its diacritics). Both are made from the data at the time of the request, in the language asked
for; the audited service that hands them out and records their SHA-256 is incidents.services.report.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from accounts.times import local_stamp
from incidents.investigation import SOURCE_CAP, Item, investigation_timeline
from incidents.models import Attachment, Incident, Observable, ObservableKind, RequestForAction
from organisations.models import AuditLog
from organisations.selectors import AnyUser

LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)
# DejaVu (Debian fonts-dejavu-core: scripts/services.sh, scripts/test.sh and the Dockerfile install it) has the
# Vietnamese letters; the PDF refuses to be made without it rather than print empty boxes.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
HOST_KINDS = (ObservableKind.HOST, ObservableKind.IP)
SHA256 = re.compile(r"[0-9a-f]{64}")
SHORT_CELL = 16  # characters that fit the narrowest column at 7.5 pt


@dataclass
class Report:
    incident: Incident
    produced_at: datetime
    produced_by: str
    language: str
    hosts: list[str]
    timeline: list[Item]
    actions: list[Item]
    observables: list[Observable]
    techniques: list[str]
    evidence: list[Attachment]
    requests: list[RequestForAction]
    truncated: bool
    events_unavailable: bool


def report_build(*, user: AnyUser, incident: Incident, produced_at: datetime, produced_by: str,
                 language: str) -> Report:
    """Everything the report says, read once; ``incident`` was fetched in ``user``'s scope."""
    timeline = investigation_timeline(user=user, incident=incident, newest_first=False)
    observables = list(Observable.objects.filter(incident=incident).order_by("kind", "value"))
    return Report(
        incident=incident, produced_at=produced_at, produced_by=produced_by, language=language,
        hosts=_hosts(incident, observables, timeline.items), timeline=timeline.items,
        actions=[item for item in timeline.items if item.kind not in ("event", "alert")],
        observables=observables, techniques=_techniques(incident),
        evidence=list(Attachment.objects.filter(incident=incident).select_related("uploaded_by")),
        requests=list(RequestForAction.objects.filter(incident=incident)
                      .select_related("province", "created_by", "assignee").prefetch_related("evidence")
                      .order_by("position", "created_at", "id")),
        truncated=timeline.truncated, events_unavailable=timeline.events_unavailable,
    )


def _hosts(incident: Incident, observables: list[Observable], items: list[Item]) -> list[str]:
    """Affected hosts and assets: as reported, as observed, as the alerts and events name them."""
    named = [line.strip() for line in incident.affected_systems.splitlines() if line.strip()]
    named += [o.value for o in observables if o.kind in HOST_KINDS]
    for item in items:
        if item.kind == "alert" and item.values["entity_kind"] in ("host", "ip"):
            named.append(str(item.values["entity_value"]))
        elif item.kind == "event" and item.values.get("host"):
            named.append(str(item.values["host"]))
    return sorted(dict.fromkeys(named))


def _techniques(incident: Incident) -> list[str]:
    """ATT&CK techniques: the incident's own, its alerts' and their rules' tags."""
    found = set(incident.mitre_techniques)
    for alert_tags, rule_tags in incident.detection_alerts.values_list("techniques", "rule__techniques"):
        found.update(alert_tags or [], rule_tags or [])
    return sorted(found)


def report_html(report: Report) -> str:
    with translation.override(report.language):
        return render_to_string("incidents/report.html", {
            "report": report, "incident": report.incident, "report_facts": report_facts(report),
            "tasks": [(task, task_text(task)) for task in report.requests],
            "report_notes": report_notes(report)})


def report_filename(report: Report, extension: str) -> str:
    return f"{report.incident.key}-report-{report.language}-{report.produced_at:%Y%m%dT%H%M%S}.{extension}"


@cache
def pdf_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) once per process; names for reportlab styles."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("ReportSans", str(regular)))
            pdfmetrics.registerFont(TTFont("ReportSans-Bold", str(bold)))
            return "ReportSans", "ReportSans-Bold"
    raise RuntimeError("The incident report PDF needs the DejaVu Sans font (Debian package fonts-dejavu-core).")


def report_pdf(report: Report) -> bytes:
    with translation.override(report.language):
        buffer = io.BytesIO()
        incident = report.incident
        doc = SimpleDocTemplate(buffer, pagesize=A4, title=_text(f"{incident.key} — {incident.title}"),
                                author=_text(report.produced_by), leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=15 * mm, bottomMargin=15 * mm, invariant=True)
        footer = _footer(f"{incident.key} · {incident.get_tlp_display()} · {_('Page')} ")
        doc.build(_story(report, _styles()), onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue()


def _footer(text: str) -> Callable[[Canvas, Any], None]:
    """Every page says which incident it belongs to and its TLP marking, so a loose page is still handled right."""
    def draw(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(pdf_fonts()[0], 7)
        canvas.drawString(15 * mm, 8 * mm, _text(f"{text}{doc.page}"))
        canvas.restoreState()
    return draw


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = pdf_fonts()
    sheet = getSampleStyleSheet()
    styles = {name: ParagraphStyle(name, parent=sheet[base], fontName=font, fontSize=size, leading=size * 1.3)
              for name, base, font, size in (("title", "Title", bold, 16), ("h2", "Heading2", bold, 12),
                                             ("body", "Normal", regular, 9), ("cell", "Normal", regular, 7.5),
                                             ("head", "Normal", bold, 7.5))}
    styles["h2"].keepWithNext = True  # a section's title never ends a page alone
    return styles


def _text(value: Any) -> str:
    """NFC, so a letter with two marks is one glyph the font has (ự, not u + two combining marks)."""
    return unicodedata.normalize("NFC", str(value if value is not None else ""))


def _para(value: Any, style: ParagraphStyle) -> Paragraph:
    """Paragraph markup is XML: every value is escaped (log content is hostile, and '<' would break the PDF)."""
    return Paragraph(escape(_text(value)).replace("\n", "<br/>"), style)


def _table(header: list[str], rows: list[list[Any]], widths: list[float], styles: dict[str, ParagraphStyle]) -> Table:
    data = [[_para(cell, styles["head"]) for cell in header]]
    data += [[_cell(cell, styles["cell"]) for cell in row] for row in rows] or [["—"] + [""] * (len(header) - 1)]
    table = Table(data, repeatRows=1, colWidths=[w * mm for w in widths])
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("FONTNAME", (0, 1), (-1, -1), styles["cell"].fontName), ("FONTSIZE", (0, 1), (-1, -1), 7.5),
    ]))
    return table


def _cell(value: Any, style: ParagraphStyle) -> Paragraph | str:
    """Short one-line values as plain strings (no markup, so nothing to escape): a Paragraph per cell is most of
    the PDF's time at a thousand rows. Longer text wraps in a Paragraph."""
    text = _text(value)
    return text if all(len(line) <= SHORT_CELL for line in text.split("\n")) else _para(text, style)


def _when(moment: datetime) -> str:
    """Date over time: two short lines fit the time column as a plain cell."""
    return local_stamp(moment, seconds=True).replace(" ", "\n", 1)


def _story(report: Report, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    incident = report.incident
    story: list[Flowable] = [_para(_("Incident report") + f" {incident.key}", styles["title"]),
                             _para(incident.title, styles["h2"])]
    story += [_para(f"{label}: {value}", styles["body"]) for label, value in report_facts(report)]
    if incident.description:
        story += [Spacer(1, 3 * mm), _para(incident.description, styles["body"])]
    for title, body in _sections(report, styles):
        story += [Spacer(1, 4 * mm), _para(title, styles["h2"]), body]
    story += [_para(note, styles["body"]) for note in report_notes(report)]
    return story


def _sections(report: Report, styles: dict[str, ParagraphStyle]) -> list[tuple[str, Flowable]]:
    """The report's sections in order, each a title and a paragraph or table (the HTML template has the same)."""
    return [
        (_("Affected hosts and assets"), _para(", ".join(report.hosts) or "—", styles["body"])),
        (_("ATT&CK techniques"), _para(", ".join(report.techniques) or "—", styles["body"])),
        (_("Observables"), _table([_("Kind"), _("Value")],
                                  [[o.get_kind_display(), o.value] for o in report.observables], [40, 140], styles)),
        (_("Evidence"), _table(
            [_("File name"), _("Size (bytes)"), "SHA-256", _("Uploaded by")],
            [[f.name, f.size, f.sha256, f.uploaded_by.get_username() if f.uploaded_by else "—"]
             for f in report.evidence], [45, 20, 90, 25], styles)),
        (_("Requests for action and tasks"), _table(
            [_("Number"), _("Task"), _("Done by"), _("Assignee"), _("Status"), _("Due")],
            [[f"#{r.pk}", task_text(r), r.get_owner_display(), r.assignee.get_username() if r.assignee else "—",
              r.get_status_display(), _when(r.due_at)] for r in report.requests], [12, 78, 22, 24, 22, 22], styles)),
        (_("Actions taken"), _table(
            [_("Time"), _("By"), _("Action")],
            [[_when(i.at), i.actor, i.text()] for i in report.actions], [35, 25, 120], styles)),
        (_("Timeline"), _table(
            [_("Time"), _("Kind"), _("By"), _("What")],
            [[_when(i.at), i.kind_label, i.actor, i.text()] for i in report.timeline],
            [32, 25, 22, 101], styles)),
    ]


def task_text(task: RequestForAction) -> str:
    """A task as the report states it: what, the instructions when they say more, the last note, its evidence."""
    lines = [task.label]
    if task.instructions.strip() and task.instructions.strip() != task.label:
        lines.append(task.instructions.strip())
    if task.progress_note:
        lines.append(f"{_('Note')}: {task.progress_note}")
    evidence = [f"{f.name} ({f.sha256[:12]}…)" for f in task.evidence.all()]
    if evidence:
        lines.append(f"{_('Evidence:')} {', '.join(evidence)}")
    return "\n".join(lines)


def report_facts(report: Report) -> list[tuple[str, str]]:
    """The summary lines both forms print, in the active language."""
    incident = report.incident
    return [
        (_("Province"), incident.province.name), (_("Status"), incident.get_status_display()),
        (_("Severity"), incident.get_severity_display()), (_("Category"), incident.get_category_display()),
        ("TLP", incident.get_tlp_display()), (_("Owner"), incident.get_owner_display()),
        (_("Opened"), local_stamp(incident.created_at)),
        (_("Occurred"), local_stamp(incident.occurred_at) if incident.occurred_at else "—"),
        (_("Alerts"), str(incident.alert_count)),
        (_("Resolution"), incident.resolution_summary or "—"),
        (_("Report produced"), f"{local_stamp(report.produced_at, seconds=True)}, {report.produced_by}"),
    ]


def report_notes(report: Report) -> list[str]:
    notes = [_("The SHA-256 of this report is recorded in the platform's audit log, so a copy can be verified.")]
    if report.truncated:
        notes.append(_("The timeline holds the newest %(cap)s items of each source only.") % {"cap": SOURCE_CAP})
    if report.events_unavailable:
        notes.append(_("The events could not be read when this report was produced; they are not listed."))
    return notes


def incident_report_verify(*, incident: Incident, sha256: str) -> AuditLog | None:
    """The audit entry that recorded a report of ``incident`` whose bytes have this SHA-256, or None."""
    digest = sha256.strip().lower()
    if not SHA256.fullmatch(digest):
        raise ValidationError("A SHA-256 is 64 hexadecimal digits.")
    return AuditLog.objects.filter(action="incident.report_produced", object_type="incident",
                                   object_ref=incident.key, after__sha256=digest).order_by("created_at").first()
