"""Jinja filters: times in the work area's zone."""
from datetime import timezone
from zoneinfo import ZoneInfo

from flask import current_app


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a naive-UTC datetime in the configured time zone."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.replace(tzinfo=timezone.utc).astimezone(zone).strftime(fmt)


def init_app(app):
    app.add_template_filter(local_time, "localtime")
