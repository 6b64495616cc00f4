"""The public summary as CSV and as a printable PDF with a bar chart (reportlab, no network).

Only what ``ranking_for_period`` returns goes out: rank, province, mean score,
level and the number of days. No measure, host, address or incident detail.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from functools import cache
from pathlib import Path

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from readiness.models import Level, PublishedPeriod
from readiness.selectors import RankingRow

CSV_HEADER = ["rank", "province_code", "province_name", "score", "level", "days"]
# Province names are Vietnamese: a Unicode TrueType font keeps their diacritics when one is installed.
FONT_CANDIDATES = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                   Path("/usr/share/fonts/dejavu/DejaVuSans.ttf")]
LEVEL_COLOURS = {"ready": colors.HexColor("#12805c"), "partial": colors.HexColor("#c27c0e"),
                 "not_ready": colors.HexColor("#b42318")}


def csv_cell(value: object) -> str:
    """Text that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_csv(rows: list[RankingRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([csv_cell(v) for v in (r.rank, r.code, r.name, f"{r.score:.1f}", r.level, r.days)])
    return out.getvalue()


@cache
def font() -> str:
    for path in FONT_CANDIDATES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont("ReadinessSans", str(path)))
            return "ReadinessSans"
    return "Helvetica"


def printable(text: str) -> str:
    """Without a Unicode font, fold to ASCII (Hà Nội -> Ha Noi) rather than print empty boxes."""
    if font() != "Helvetica":
        return text
    folded = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return folded.encode("ascii", "ignore").decode("ascii")


def summary_pdf(*, period: PublishedPeriod, rows: list[RankingRow]) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"Province readiness {period.start} - {period.end}",
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm)
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font()
    story = [
        Paragraph(printable("Province readiness and data sharing"), styles["Title"]),
        Paragraph(f"Period {period.start} to {period.end}; published {period.published_at:%Y-%m-%d}. "
                  "Score 0-100 is the mean of the daily scores; levels: ready, partially ready, not ready.",
                  styles["Normal"]),
        Spacer(1, 6 * mm), score_chart(rows), Spacer(1, 6 * mm), ranking_table(rows),
    ]
    doc.build(story)
    return buffer.getvalue()


def score_chart(rows: list[RankingRow]) -> Drawing:
    """One horizontal bar per province, best at the top, coloured by level."""
    height = max(60, 11 * len(rows) + 30)
    drawing = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 20, 170 * mm - 40, height - 30
    ordered = list(reversed(rows))
    chart.data = [[r.score for r in ordered]]
    chart.categoryAxis.categoryNames = [r.code for r in ordered]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font()
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 10
    chart.bars.strokeColor = None
    for n, r in enumerate(ordered):
        chart.bars[(0, n)].fillColor = LEVEL_COLOURS.get(r.level, colors.grey)
    drawing.add(chart)
    for n, (level, label) in enumerate(Level.choices):
        x = chart.x + 90 * n
        drawing.add(Line(x, 6, x + 8, 6, strokeColor=LEVEL_COLOURS[level], strokeWidth=6))
        drawing.add(String(x + 12, 3, str(label), fontName=font(), fontSize=7))
    return drawing


def ranking_table(rows: list[RankingRow]) -> Table:
    data = [["#", "Code", printable("Province"), "Score", "Level", "Days"]]
    data += [[str(r.rank), r.code, printable(r.name), f"{r.score:.1f}", r.level_label, str(r.days)] for r in rows]
    table = Table(data, repeatRows=1, colWidths=[12 * mm, 18 * mm, 70 * mm, 20 * mm, 35 * mm, 15 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font()), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#102a43")), ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f1f3f6")]),
        ("ALIGN", (3, 1), (3, -1), "RIGHT"),
    ]))
    return table
