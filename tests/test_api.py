"""The JSON API: 401 JSON without a session (never a redirect), who-am-I, health, Chinese JSON errors."""
from pathlib import Path

import pytest

from tests.conftest import login

OPENAPI = Path(__file__).resolve().parents[1] / "openapi.yaml"


def test_me_without_session_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.is_json
    assert response.json["error"]["code"] == "unauthenticated"
    assert "登录" in response.json["error"]["message"]
    assert "Location" not in response.headers


def test_me(client):
    login(client, "HN1003")
    body = client.get("/api/v1/me").json
    assert body["employee_no"] == "HN1003"
    assert body["station"]["name"] == "海南一号站"
    assert body["roles"] == ["worker"] and body["is_party_member"] is True
    assert "password_hash" not in body


def test_health(client):
    body = client.get("/api/v1/health").json
    assert body["status"] == "ok" and body["server_time"].endswith("Z")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/me/../../etc/passwd"])
def test_unknown_api_path_is_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json


def test_wrong_method_is_405_json(client):
    response = client.post("/api/v1/health")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_too_large_body_is_413(app, client):
    response = client.post("/login", data={"employee_no": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert response.status_code == 413
    assert "提交的内容太大" in response.get_data(as_text=True)


def test_openapi_documents_every_api_route(app):
    spec = OPENAPI.read_text(encoding="utf-8")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            assert f"  {rule.rule.removeprefix('/api/v1')}:" in spec, rule.rule


# --- the well directory the phone keeps (docs/evidence.md §4) -------------------------------------------------------

def test_the_directory_names_labels_by_their_hash_and_gives_no_place(client):
    """Enough to open the right page from a scan, offline too; nothing to fake a scan or a position with."""
    from models import Well, db
    from webapp.labels import label_hash

    login(client, "HN1003")
    response = client.get("/api/v1/wells")
    body = response.get_data(as_text=True)
    wells = response.json["wells"]
    with db.connection_context():
        tokens = {w.id: w.qr_token for w in Well.select()}
    assert wells and all(token not in body for token in tokens.values())
    for well in wells:
        assert not {"qr_token", "latitude", "longitude"} & set(well), well
        assert well["label_hash"] == label_hash(tokens[well["id"]])
        assert len(well["label_hash"]) == 32 and int(well["label_hash"], 16) >= 0


def test_label_hash_is_the_documented_formula():
    """The phone (sw.js, evidence.js) computes the same: sha256 over "jingzhan-label:" + the token, 32 hex digits."""
    import hashlib

    from webapp.labels import label_hash

    assert label_hash("abc-XYZ_123") == "906155cffc6468e85f61c8549bcf1221"  # also what evidence.js gives (Node)
    assert label_hash("井") == hashlib.sha256("jingzhan-label:井".encode()).hexdigest()[:32]
