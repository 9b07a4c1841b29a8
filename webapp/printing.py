"""What the pages that hand out printable QR codes (well labels, 三亮 badges) share: the URL a code points to
and how a generated file is sent."""
from io import BytesIO

from flask import current_app, request, send_file


def public_base_url() -> str:
    """Where printed codes point: BASE_URL (JINGZHAN_BASE_URL) when set, else the host this request came to."""
    return current_app.config.get("BASE_URL") or request.host_url.rstrip("/")


def send_download(data: bytes, mimetype: str, filename: str):
    """A generated file as an attachment that no cache keeps: it carries a token that may be reissued."""
    response = send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
