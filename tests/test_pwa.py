"""The service worker: served at the root scope, versioned by the static files, and every URL it caches exists."""
import json
import re

from tests.conftest import login


def lists(body):
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    pages = json.loads(re.search(r"const OFFLINE_PAGES = (\[.*?\]);", body).group(1))
    return precache, pages


def test_served_at_the_root_without_caching(client):
    response = client.get("/sw.js")
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', response.get_data(as_text=True))
    assert version


def test_every_cached_url_answers_200(client):
    login(client, "HN1003")
    precache, pages = lists(client.get("/sw.js").get_data(as_text=True))
    assert "/static/vendor/jsQR-1.4.0-nokanji.min.js" in precache and "/offline" in precache
    for url in precache + pages:
        with client.get(url) as response:
            assert response.status_code == 200, url


def test_every_shell_script_is_precached(client):
    """A module the pages load but the service worker does not precache would break offline."""
    from pathlib import Path

    precache, _ = lists(client.get("/sw.js").get_data(as_text=True))
    scripts = Path(__file__).resolve().parents[1] / "webapp" / "static" / "js"
    from routes.pwa import ONLINE_ONLY

    for path in scripts.glob("*.js"):
        if f"js/{path.name}" not in ONLINE_ONLY:
            assert f"/static/js/{path.name}" in precache, path.name
    assert not any(f"/static/{name}" in precache for name in ONLINE_ONLY)


def test_version_changes_with_a_static_file(tmp_path, monkeypatch):
    import shutil

    from routes import pwa

    copy = tmp_path / "static"
    shutil.copytree(pwa.STATIC, copy)
    monkeypatch.setattr(pwa, "STATIC", copy)
    before = pwa.static_version()
    (copy / "css" / "app.css").write_text("/* a new deployment */", encoding="utf-8")
    assert pwa.static_version() != before


def test_well_pages_are_kept_by_id_and_labels_and_tags_open_them(client):
    """The warm-up keeps /wells/<id> (no token in it); /w/<token> and /n/<id>?e=…&c=… are pages the worker opens,
    answered offline from that copy (the label through the directory's hashes)."""
    body = client.get("/sw.js").get_data(as_text=True)
    pattern = re.search(r"const PAGE_PATTERN = /(.*)/;", body).group(1).replace("\\/", "/")
    for path in ("/wells/12", "/w/sU2iuyD1M7S_NMOQkMafTA", "/n/12"):
        assert re.fullmatch(pattern, path), path
    assert not re.fullmatch(pattern, "/n/12/x") and not re.fullmatch(pattern, "/n/" + "9" * 16)
    assert "wells.map((w) => `/wells/${w.id}`)" in body and "qr_token" not in body
    assert "jingzhan-label:" in body  # the hash of webapp/labels.py label_hash
