"""Server-drawn SVG line charts of a well's readings: no JavaScript, and only presentation attributes and CSS
classes (the CSP allows no inline styles). Scales with its container (viewBox, width 100%)."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext
from markupsafe import Markup, escape

from .history import Series, number

WIDTH, HEIGHT = 320, 170
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 22, 24  # margins of the plot area: values on the left, dates below
DOTS_UP_TO = 60  # fewer points than this are each marked; abnormal ones always are


def summary(s: Series, days: int) -> str:
    """What the chart shows, in a sentence (the SVG's description for screen readers)."""
    text = gettext("%(label)s 近%(days)s天 最低 %(low)s 最高 %(high)s 最新 %(latest)s %(unit)s，共 %(count)s 次读数",
                   label=s.label, days=days, low=number(s.low), high=number(s.high), latest=number(s.latest),
                   unit=s.unit, count=len(s.values))
    if s.daily:
        text += gettext("，按日平均绘制（阴影为当日最低至最高）")
    if s.median is not None:
        text += gettext("，近 7 天中位数 %(median)s", median=number(s.median))
    abnormal = sum(1 for p in s.points if p.abnormal)
    if abnormal:
        text += (gettext("，%(count)s 个日有异常巡检", count=abnormal) if s.daily
                 else gettext("，%(count)s 个点有异常巡检", count=abnormal))
    return text + gettext("。")


def _local(moment: datetime, zone: ZoneInfo, fmt: str) -> str:
    return moment.replace(tzinfo=timezone.utc).astimezone(zone).strftime(fmt)


def line_chart(s: Series, start: datetime, end: datetime, tz: str) -> Markup:
    """The SVG of one reading between start and end (naive UTC): line, min–max band of daily points, the 7-day
    median dashed, abnormal patrols marked, the lowest and highest value and the dates labelled."""
    zone = ZoneInfo(tz)
    days = round((end - start).total_seconds() / 86400)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    # Daily bands and the median lie within the readings' own range.
    pad = (s.high - s.low) * 0.08 or abs(s.high) * 0.1 or 1.0
    low, high = s.low - pad, s.high + pad
    span = (end - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return round(LEFT + share * plot_w, 1)

    def y(value: float) -> float:
        return round(TOP + (high - value) / (high - low) * plot_h, 1)

    def points(pairs) -> str:
        return " ".join(f"{px},{py}" for px, py in pairs)

    chart_id = f"chart-{escape(s.name)}"
    title = gettext("%(label)s（%(unit)s）近%(days)s天", label=s.label, unit=s.unit, days=days)
    parts = [
        (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
         f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">'),
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary(s, days))}</desc>',
        f'<text class="chart-text" x="4" y="14" font-size="12" fill="#4a4a4a">{escape(s.unit)}</text>',
    ]
    bottom = TOP + plot_h
    parts.append(f'<line class="chart-axis" x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot_w}" y2="{bottom}" stroke="#4a4a4a"/>')
    for value in sorted({s.low, s.high}):
        parts.append(f'<line class="chart-grid" x1="{LEFT}" y1="{y(value)}" x2="{LEFT + plot_w}" y2="{y(value)}" stroke="#c9c9c9"/>')
        parts.append(f'<text class="chart-text" x="{LEFT - 4}" y="{y(value) + 4}" font-size="12" text-anchor="end" '
                     f'fill="#4a4a4a">{escape(number(value))}</text>')
    middle = start + (end - start) / 2
    for moment, anchor in ((start, "start"), (middle, "middle"), (end, "end")):
        parts.append(f'<text class="chart-text" x="{x(moment)}" y="{HEIGHT - 6}" font-size="12" text-anchor="{anchor}" '
                     f'fill="#4a4a4a">{escape(_local(moment, zone, "%m-%d"))}</text>')
    if s.daily:
        outline = [(x(p.time), y(p.high)) for p in s.points] + [(x(p.time), y(p.low)) for p in reversed(s.points)]
        parts.append(f'<polygon class="chart-band" points="{points(outline)}" fill="#0047b3" fill-opacity="0.15"/>')
    if s.median is not None:
        parts.append(f'<line class="chart-median" x1="{LEFT}" y1="{y(s.median)}" x2="{LEFT + plot_w}" y2="{y(s.median)}" '
                     f'stroke="#8a4b00" stroke-width="1.5" stroke-dasharray="5 4"/>')
    parts.append(f'<polyline class="chart-line" points="{points((x(p.time), y(p.value)) for p in s.points)}" fill="none" '
                 f'stroke="#0047b3" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>')
    for p in s.points:
        if p.abnormal:
            label = gettext("%(time)s %(value)s %(unit)s（异常）", time=_local(p.time, zone, "%m-%d" if s.daily else "%m-%d %H:%M"),
                            value=number(p.value), unit=s.unit)
            parts.append(f'<circle class="chart-abnormal" cx="{x(p.time)}" cy="{y(p.value)}" r="4.5" fill="#a3141c" '
                         f'stroke="#fff" stroke-width="1.5"><title>{escape(label)}</title></circle>')
        elif len(s.points) <= DOTS_UP_TO:
            parts.append(f'<circle class="chart-dot" cx="{x(p.time)}" cy="{y(p.value)}" r="2.5" fill="#0047b3"/>')
    parts.append("</svg>")
    # Safe as markup: every text in the SVG is escape()d above; the rest are numbers and class names of our own.
    return Markup("".join(parts))  # nosec B704
