"""Error pages in Chinese, and JSON errors for the API (never a redirect or an HTML page)."""
from flask import jsonify, make_response, render_template, request
from flask_babel import gettext, lazy_gettext as _l
from werkzeug import exceptions
from werkzeug.exceptions import HTTPException

from .i18n import current_language

MESSAGES = {
    400: _l("请求有误，请检查后重试。"),
    401: _l("请先登录。"),
    403: _l("您没有权限查看此页面。"),
    404: _l("找不到您要的页面或记录。"),
    405: _l("不支持此操作方式。"),
    413: _l("提交的内容太大。"),
    422: _l("提交的内容有误。"),
    429: _l("操作太频繁，请稍后再试。"),
    500: _l("服务器出错了，请稍后重试；已保存的记录不会丢失。"),
    503: _l("服务暂时不可用，请稍后重试。"),
}

# Werkzeug's own English descriptions (abort(404) without one of ours): never shown to users.
WERKZEUG_DESCRIPTIONS = tuple(
    cls.description for cls in vars(exceptions).values()
    if isinstance(cls, type) and issubclass(cls, HTTPException) and isinstance(cls.__dict__.get("description"), str)
)

ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, description: str | None = None):
    """The error as JSON under /api/, as a Chinese page elsewhere."""
    message = str(MESSAGES[status]) if status in MESSAGES else gettext("出错了。")
    # Werkzeug's own English descriptions are not shown to users; ours are, in the page's language (an ASCII one
    # on a Chinese page is not ours).
    detail = str(description) if description else None
    if detail and detail.isascii() and (current_language() != "en" or detail.startswith(WERKZEUG_DESCRIPTIONS)):
        detail = None
    if wants_json():
        body = {"error": {"code": ERROR_CODES.get(status, "error"), "message": detail or message}}
        return make_response(jsonify(body), status)
    return make_response(render_template("errors/error.html", status=status, message=message, detail=detail), status)


def init_app(app):
    from .labels import LabelFontMissing

    @app.errorhandler(LabelFontMissing)
    def font_missing(exc):
        # Labels and badges need a Chinese font on the server: say which package, not a stack trace.
        app.logger.error("中文字体缺失：%s", exc)  # i18n: data (the operator's log)
        return error_response(503, gettext("暂时无法生成标签或胸卡。%(reason)s", reason=exc))

    # Unhandled exceptions reach this as InternalServerError (Flask logs them first).
    @app.errorhandler(HTTPException)
    def handle_http(exc):
        if exc.code == 403:  # every refusal is logged, also those a view decides itself with abort(403)
            from .access import log_denial

            log_denial(403, "forbidden")
        response = error_response(exc.code or 500, exc.description)
        # Keep what the exception says besides its page: `Allow` on a 405 (RFC 9110), `Retry-After` on a 429 …
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
