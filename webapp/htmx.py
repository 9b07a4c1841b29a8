"""One place that decides between a full page and the fragment htmx asked for."""
from flask import get_flashed_messages, make_response, render_template, request
from flask_htmx import HTMX

htmx = HTMX()


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (not a history restore, which needs the page)."""
    return bool(htmx) and not htmx.history_restore_request


def is_background_fetch() -> bool:
    """A page fetched by script, not opened by the user: the service worker keeping the offline copy."""
    return request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate" and not htmx


def page_flashes() -> list[tuple[str, str]]:
    """The messages waiting for the user's next page. A page the service worker fetches in the background leaves
    them waiting: it would swallow e.g. 您已退出登录 before the login page shows it, and keep it in the offline copy."""
    return [] if is_background_fetch() else get_flashed_messages(with_categories=True)


def render(page: str, partial: str, status: int = 200, **context):
    """Render the page, or only its partial for htmx; responses vary on HX-Request either way."""
    response = make_response(render_template(partial if is_htmx() else page, **context), status)
    response.vary.add("HX-Request")
    return response
