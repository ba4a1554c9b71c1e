"""The yearly alumni report (校友年度报告), HTML and PDF with charts (docs/stewardship.md).

The figures are the statistics of services/registry/statistics.py, published under the
same k rule as the map (`statistics.suppress`): no group under k is shown, and what is
folded into 其他 is 0 or at least k. The charts are drawn by matplotlib with the Agg
backend (no display) in a CJK font found on the machine (`CJK_FONTS`: the image and CI
install Debian's fonts-wqy-microhei); without one the report is refused with a clear
error rather than printed as boxes. The HTML carries the charts as inline PNG; the PDF is
laid out by reportlab, its text in the CID font STSong-Light that every PDF reader has
(as the donations' receipts), the charts as the same PNG images.

Reports are stored (`yearly_reports`): the scheduled one (service.py
`publish_yearly_report`) and one asked for on demand are generated once and then served
as stored, so a published report does not change under its readers.
"""

from __future__ import annotations

import base64
import io
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from jinja2 import Environment
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import NotFound, ServiceUnavailable, ValidationFailed
from services.registry import statistics
from services.registry.models import Alumnus, YearlyReport

if TYPE_CHECKING:
    from services.common.offload import ChildProcess

log = logging.getLogger(__name__)

CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
)
CJK_FILE_HINTS = ("wqy", "notosanscjk", "notoserifcjk", "sourcehan", "simhei", "msyh")
PDF_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
YEARS_SHOWN = 10
TOP = 12
ALUMNI = Alumnus.__table__


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display). Imported on first use: it costs
    seconds, which a registry that draws no report should not pay at start-up."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def cjk_font() -> str:
    """The first CJK font matplotlib knows; ServiceUnavailable (503) without one.

    matplotlib caches its list of fonts when first imported: a font installed later is
    looked for among the system's font files and added."""
    from matplotlib import font_manager

    for attempt in range(2):
        available = {f.name for f in font_manager.fontManager.ttflist}
        for name in CJK_FONTS:
            if name in available:
                return name
        if attempt == 0:
            for path in font_manager.findSystemFonts():
                if any(hint in path.lower() for hint in CJK_FILE_HINTS):
                    font_manager.fontManager.addfont(path)
    raise ServiceUnavailable(
        "服务器缺少中文字体，无法生成报告图表；请安装 fonts-wqy-microhei。",
        reason="no_cjk_font",
    )


# ---- the figures --------------------------------------------------------------------------


def figures(session: Session, year: int, k: int) -> dict[str, Any]:
    """Everything the report shows, already k-suppressed."""

    def published(by: str, **filters: Any) -> list[tuple[str, int]]:
        found = statistics.counts(session, {"by": by, **filters})
        groups = [(item["label"], item["count"]) for item in found["items"] if item["key"]]
        unknown = sum(item["count"] for item in found["items"] if not item["key"])
        shown, rest = statistics.suppress(groups, k, unknown)
        return shown + ([(statistics.OTHER, rest)] if rest else [])

    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    added = session.scalar(
        select(func.count())
        .select_from(ALUMNI)
        .where(
            ALUMNI.c.merged_into.is_(None), ALUMNI.c.created_at >= start, ALUMNI.c.created_at < end
        )
    )
    total = statistics.counts(session, {"by": "degree"})["total"]
    graduates = statistics.counts(session, {"by": "degree", "class_year": year})["total"]
    by_year = {
        item["key"]: item["count"]
        for item in statistics.counts(session, {"by": "class_year"})["items"]
    }
    years = [
        (y, by_year.get(y, 0) if by_year.get(y, 0) >= k else None)
        for y in range(year - YEARS_SHOWN + 1, year + 1)
    ]
    place = statistics.alumni_map(session, k)
    return {
        "year": year,
        "k": k,
        "total": total if total >= k else None,
        "graduates": graduates if graduates >= k else None,
        "added": added if added >= k else None,
        "departments": published("department"),
        "graduates_by_department": published("department", class_year=year),
        "degrees": published("degree"),
        "industries": published("industry")[:TOP],
        "class_years": years,
        "provinces": [(p["province"], p["count"]) for p in place["provinces"]]
        + ([(statistics.OTHER_REGIONS, place["other"])] if place["other"] else []),
    }


# ---- the charts ---------------------------------------------------------------------------


def charts(data: dict[str, Any]) -> dict[str, bytes]:
    """The report's charts as PNG, by name."""
    font = cjk_font()
    plt = pyplot()
    with plt.rc_context({"font.family": font, "axes.unicode_minus": False}):
        return {
            "departments": _bars("各院系校友人数（按现院系）", data["departments"]),
            "class_years": _years(data["class_years"], data["k"]),
            "degrees": _pie("学历构成", data["degrees"]),
            "provinces": _bars("校友地区分布（省份）", data["provinces"]),
            "industries": _bars("校友行业分布", data["industries"]),
        }


def _png(figure: Any) -> bytes:
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=110)
    pyplot().close(figure)
    return out.getvalue()


def _empty(axes: Any, title: str) -> None:
    axes.set_title(title)
    axes.text(0.5, 0.5, "暂无可公开的数据", ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _bars(title: str, groups: list[tuple[str, int]]) -> bytes:
    figure, axes = pyplot().subplots(figsize=(7, max(2.5, 0.4 * len(groups) + 1.2)))
    if not groups:
        _empty(axes, title)
        return _png(figure)
    labels = [str(label) for label, _ in reversed(groups)]
    values = [count for _, count in reversed(groups)]
    bars = axes.barh(labels, values, color="#2f6f9f")
    axes.bar_label(bars, padding=3)
    axes.set_title(title)
    axes.set_xlabel("人数")
    return _png(figure)


def _years(years: list[tuple[int, int | None]], k: int) -> bytes:
    figure, axes = pyplot().subplots(figsize=(7, 3.2))
    title = "历届毕业生人数"
    if not any(count for _, count in years):
        _empty(axes, title)
        return _png(figure)
    labels = [str(y) for y, _ in years]
    values = [count or 0 for _, count in years]
    bars = axes.bar(labels, values, color="#c0504d")
    axes.bar_label(bars, labels=[str(c) if c else f"<{k}" for _, c in years], padding=2)
    axes.set_title(title)
    axes.set_ylabel("人数")
    axes.tick_params(axis="x", labelrotation=45)
    return _png(figure)


def _pie(title: str, groups: list[tuple[str, int]]) -> bytes:
    figure, axes = pyplot().subplots(figsize=(5, 3.6))
    if not groups:
        _empty(axes, title)
        return _png(figure)
    axes.pie(
        [count for _, count in groups],
        labels=[f"{label} {count}" for label, count in groups],
        autopct="%1.0f%%",
        startangle=90,
    )
    axes.set_title(title)
    axes.axis("equal")
    return _png(figure)


# ---- HTML and PDF -------------------------------------------------------------------------

CHART_TITLES = {
    "departments": "各院系校友人数",
    "class_years": "历届毕业生人数",
    "degrees": "学历构成",
    "provinces": "地区分布",
    "industries": "行业分布",
}
HTML = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ year }} 年度校友报告</title>
<style>body{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.25em .6em}
td.n{text-align:right}figure{margin:1.5em 0}img{max-width:100%}</style></head>
<body>
<h1>{{ year }} 年度校友报告</h1>
<p>生成时间：{{ generated_at }}（UTC）。为保护个人信息，人数少于 {{ k }} 人的组不单独列出，
计入“其他”；“其他”本身也不少于 {{ k }} 人。</p>
<h2>概况</h2>
<table>
{% for label, value in summary %}<tr><th>{{ label }}</th><td class="n">{{ value }}</td></tr>
{% endfor %}</table>
<h2>{{ year }} 届毕业生（按院系）</h2>
<table><tr><th>院系</th><th>人数</th></tr>
{% for label, count in graduates_by_department %}<tr><td>{{ label }}</td>
<td class="n">{{ count }}</td></tr>{% else %}<tr><td colspan="2">暂无可公开的数据</td></tr>
{% endfor %}</table>
{% for name, png in charts %}
<figure><img alt="{{ titles[name] }}" src="data:image/png;base64,{{ png }}">
<figcaption>{{ titles[name] }}</figcaption></figure>
{% endfor %}
</body></html>
"""
)


def _summary(data: dict[str, Any]) -> list[tuple[str, str]]:
    def shown(value: int | None) -> str:
        return str(value) if value is not None else f"少于 {data['k']} 人"

    return [
        ("在册校友总数", shown(data["total"])),
        (f"{data['year']} 届毕业生", shown(data["graduates"])),
        (f"{data['year']} 年新增校友记录", shown(data["added"])),
    ]


def render_html(data: dict[str, Any], images: dict[str, bytes], generated_at: str) -> str:
    return HTML.render(
        year=data["year"],
        k=data["k"],
        generated_at=generated_at,
        summary=_summary(data),
        graduates_by_department=data["graduates_by_department"],
        charts=[(name, base64.b64encode(png).decode("ascii")) for name, png in images.items()],
        titles=CHART_TITLES,
    )


def render_pdf(data: dict[str, Any], images: dict[str, bytes], generated_at: str) -> bytes:
    title = ParagraphStyle("title", fontName=PDF_FONT, fontSize=20, leading=26, spaceAfter=8)
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=14, leading=20, spaceAfter=4)
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=10, leading=15)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{data['year']} 年度校友报告",
        invariant=1,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    width = A4[0] - 36 * mm
    story: list[Any] = [
        Paragraph(f"{data['year']} 年度校友报告", title),
        Paragraph(
            f"生成时间：{generated_at}（UTC）。为保护个人信息，人数少于 {data['k']} 人的组"
            "不单独列出，计入“其他”；“其他”本身也不少于该人数。",
            body,
        ),
        Spacer(1, 6 * mm),
        Paragraph("概况", heading),
        _table(_summary(data)),
        Spacer(1, 6 * mm),
        Paragraph(f"{data['year']} 届毕业生（按院系）", heading),
        _table(data["graduates_by_department"] or [("暂无可公开的数据", "")]),
    ]
    for name, png in images.items():
        image = Image(io.BytesIO(png))
        scale = min(1.0, width / image.drawWidth)
        image.drawWidth *= scale
        image.drawHeight *= scale
        story += [Spacer(1, 6 * mm), Paragraph(CHART_TITLES[name], heading), image]
    document.build(story)
    return out.getvalue()


def _table(rows: list[tuple[Any, Any]]) -> Table:
    table = Table([[str(a), str(b)] for a, b in rows], hAlign="LEFT")
    table.setStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
            ("GRID", (0, 0), (-1, -1), 0.5, "#bbbbbb"),
            ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ]
    )
    return table


# ---- stored reports -----------------------------------------------------------------------

QUEUED, READY = "queued", "ready"
OFF = "off"


def status(report: YearlyReport | None, year: int) -> dict[str, Any]:
    return {
        "year": year,
        "status": report.status if report else "none",
        "requested_at": iso_utc(report.requested_at) if report else None,
        "generated_at": iso_utc(report.generated_at) if report and report.generated_at else None,
    }


def request(session: Session, year: int, requested_by: str, today: date) -> dict[str, Any]:
    """Ask for the report of a past year: queued for the registry's timer, or already there
    (a report is generated once). A year not yet over has none: its numbers still change."""
    if year >= today.year:
        raise ValidationFailed(
            f"{year} 年尚未结束，不能生成年度报告。",
            {"fields": {"year": ["只能生成已结束年度的报告。"]}},
            reason="year_not_over",
        )
    report = session.get(YearlyReport, year)
    if report is None:
        report = YearlyReport(year=year, status=QUEUED, requested_by=requested_by[:50])
        try:
            with session.begin_nested():
                session.add(report)
        except IntegrityError:  # asked twice at once: one row
            report = session.get(YearlyReport, year)
    return status(report, year)


def queued_years(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(YearlyReport.year)
            .where(YearlyReport.status == QUEUED)
            .order_by(YearlyReport.year)
        )
    )


def render(data: dict[str, Any], generated_at: datetime) -> tuple[str, bytes]:
    """The HTML and the PDF of the figures: pure, no database (run off the event loop)."""
    images = charts(data)
    stamp = generated_at.strftime("%Y-%m-%d %H:%M")
    return render_html(data, images, stamp), render_pdf(data, images, stamp)


def store(session: Session, year: int, html: str, pdf: bytes, generated_at: datetime) -> bool:
    """Keep the rendered report; False when another worker stored it first."""
    done = session.execute(
        update(YearlyReport)
        .where(YearlyReport.year == year, YearlyReport.status == QUEUED)
        .values(status=READY, html=html, pdf=pdf, generated_at=generated_at)
    )
    return done.rowcount == 1


def generate(session: Session, year: int, k: int, requested_by: str) -> YearlyReport:
    """Queue (unless there), render and store in one go: for tests and scripts."""
    report = session.get(YearlyReport, year)
    if report is None or report.status == QUEUED:
        if report is None:
            session.add(YearlyReport(year=year, status=QUEUED, requested_by=requested_by))
            session.flush()
        now = datetime.now(UTC)
        html, pdf = render(figures(session, year, k), now)
        store(session, year, html, pdf, now)
        session.expire_all()
    return session.get(YearlyReport, year)


def get(session: Session, year: int, fmt: str) -> dict[str, Any]:
    """The stored report as `fmt` (html or pdf); 404 while there is none, saying why."""
    report = session.get(YearlyReport, year)
    if report is None or report.status != READY:
        queued = report is not None
        ask = f'POST /api/v1/reports/alumni {{"year": {year}}}'
        raise NotFound(
            "年度报告正在生成，请稍后再下载。"
            if queued
            else f"{year} 年度报告尚未生成：请先提交生成请求（{ask}）。",
            {"year": year},
            reason="report_generating" if queued else "report_not_generated",
        )
    if fmt == "pdf":
        return {"content": base64.b64encode(report.pdf).decode("ascii"), "encoding": "base64"}
    return {"content": report.html, "encoding": "text"}


def due_year(today: date, publish_on: str) -> int | None:
    """The year whose report is due on `today`: last year's, from the publishing day
    (`MM-DD`) of this year on; None before it, or when publishing is `off`."""
    if publish_on.strip().lower() == OFF:
        return None
    month, day = (int(part) for part in publish_on.split("-"))
    return today.year - 1 if today >= date(today.year, month, day) else None


FONT_RECHECK_SECONDS = 300.0
_font_missing_since: float | None = None


def generate_due(
    transaction: Callable[[], AbstractContextManager[Session]],
    today: date,
    publish_on: str,
    k: int,
    spawn: Callable[..., ChildProcess],
) -> list[int]:
    """The registry's timer: queue last year's report when it is due, then generate every
    queued report, each figures read in a transaction of their own and drawn by `drawing`
    in a process of its own (`spawn`: `offload.ChildProcess`, which the service hands in,
    as to `imports.run_job`). Returns the years generated now.

    Nothing is read for a report the machine cannot draw: without a CJK font the figures of
    the whole registry were read at every scan (5 s) only to be refused, for as long as the
    font was missing: reads that grow with the registry, 2.3 % of its CPU during a 100,000-
    row import (docs/performance/import.md). Once a font was found missing, it is looked
    for again only after FONT_RECHECK_SECONDS, not at every scan: each look starts a
    process (about a second of CPU)."""
    with transaction() as session:
        queue_due(session, today, publish_on)
        years = queued_years(session)
    if not years or _font_missing_lately():
        return []
    done = []
    with spawn(drawing) as child:
        if not _font_found(child.get()):
            return []
        for year in years:
            with transaction() as session:
                data = figures(session, year, k)
            generated_at = datetime.now(UTC)
            child.put((data, generated_at))
            html, pdf = child.get()
            with transaction() as session:
                if store(session, year, html, pdf, generated_at):
                    log.info("yearly alumni report %s generated", year)
                    done.append(year)
    return done


def drawing(inbox: Iterator[tuple[dict[str, Any], datetime]]) -> Iterator[Any]:
    """*In a process of its own* (offload.ChildProcess, for the registry's timer): first
    why the charts cannot be drawn here (`cjk_font`; None when they can), then the HTML
    and the PDF (`render`) of each report's figures it is sent.

    Not in a thread of the registry's process: matplotlib logs as it imports and draws,
    logging's locks are green in a monkey-patched process, and a thread that waits on one
    the event loop holds switches greenlets across threads and kills the loop ("cannot
    switch to a different thread", eventlet#432): every later call to the registry timed
    out. A process of its own also draws beside the registry rather than under its GIL."""
    try:
        cjk_font()
    except ServiceUnavailable as missing:
        yield missing.message
        return
    yield None
    for data, generated_at in inbox:
        yield render(data, generated_at)


def _font_missing_lately() -> bool:
    return (
        _font_missing_since is not None
        and time.monotonic() - _font_missing_since < FONT_RECHECK_SECONDS
    )


def _font_found(missing: str | None) -> bool:
    """Whether the charts can be drawn, from `drawing`'s first answer; the log says once
    that they cannot, and the reports wait queued until the font is installed."""
    global _font_missing_since
    if missing is None:
        _font_missing_since = None
        return True
    if _font_missing_since is None:
        log.warning("yearly alumni reports wait: %s", missing)
    _font_missing_since = time.monotonic()
    return False


def queue_due(session: Session, today: date, publish_on: str) -> int | None:
    """The schedule: queue last year's report once it is due. Returns the year queued now."""
    year = due_year(today, publish_on)
    if year is None or session.get(YearlyReport, year) is not None:
        return None
    request(session, year, "system", today)
    return year
