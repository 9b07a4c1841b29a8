"""Jinja filters: times in the work area's zone."""
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a naive-UTC datetime (or its ISO text, as kept in stored summaries) in the configured time zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.replace(tzinfo=timezone.utc).astimezone(zone).strftime(fmt)


def local_date(value):
    """The date in the configured time zone of a naive-UTC datetime."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.replace(tzinfo=timezone.utc).astimezone(zone).date()


def from_json(value):
    """Parse a JSON text column (e.g. a list of photo uuids) for a template."""
    return json.loads(value or "null")


def init_app(app):
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(from_json, "fromjson")
    app.add_template_filter(local_date, "localdate")
