"""One place that decides between a full page and the fragment htmx asked for."""
from flask import make_response, render_template
from flask_htmx import HTMX

htmx = HTMX()


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (not a history restore, which needs the page)."""
    return bool(htmx) and not htmx.history_restore_request


def render(page: str, partial: str, status: int = 200, **context):
    """Render the page, or only its partial for htmx; responses vary on HX-Request either way."""
    response = make_response(render_template(partial if is_htmx() else page, **context), status)
    response.vary.add("HX-Request")
    return response
