"""openapi.yaml is kept true: real responses of every documented call validate against it."""
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import get_well, login
from tests.test_sync import batch, patrol_record

SPEC = yaml.safe_load((Path(__file__).resolve().parents[1] / "openapi.yaml").read_text(encoding="utf-8"))


def check(path, method, response):
    """Validate a test-client response against the spec's schema for that path, method and status."""
    operation = SPEC["paths"][path][method]
    documented = operation["responses"][str(response.status_code)]
    if "$ref" in documented:
        documented = SPEC["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    schema = dict(documented["content"]["application/json"]["schema"], components=SPEC["components"])
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(response.json)


def check_request(body):
    schema = {"$ref": "#/components/schemas/SyncBatch", "components": SPEC["components"]}
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


def test_spec_is_valid_openapi_shape():
    assert SPEC["openapi"].startswith("3.1")
    Draft202012Validator.check_schema({"components": SPEC["components"]})


def test_health_and_me(client):
    check("/health", "get", client.get("/api/v1/health"))
    check("/me", "get", client.get("/api/v1/me"))
    login(client, "HN1003")
    check("/me", "get", client.get("/api/v1/me"))


def test_sync_answers(client):
    check("/sync", "post", client.post("/api/v1/sync", json={}))
    login(client, "HN1003")
    good = patrol_record(get_well("海1-02"))
    bad = patrol_record(get_well("海2-02"))
    body = batch(good, bad)
    check_request(body)
    first = client.post("/api/v1/sync", data=json.dumps(body), content_type="application/json")
    check("/sync", "post", first)
    assert [r["status"] for r in first.json["results"]] == ["created", "rejected"]
    again = client.post("/api/v1/sync", data=json.dumps(body), content_type="application/json")
    check("/sync", "post", again)
    assert again.json["results"][0]["status"] == "duplicate"
    for payload, content_type in (("{", "application/json"), ("x", "text/plain")):
        check("/sync", "post", client.post("/api/v1/sync", data=payload, content_type=content_type))


def test_wells_directory(client):
    login(client, "HN1003")
    client.post("/api/v1/sync", data=json.dumps(batch(patrol_record(get_well("海1-02")))), content_type="application/json")
    response = client.get("/api/v1/wells")
    check("/wells", "get", response)
    assert any(w["last_patrol"] for w in response.json["wells"])


def test_check_templates(client):
    login(client, "HN1003")
    response = client.get("/api/v1/check-templates")
    check("/check-templates", "get", response)
    assert {t["kind"] for t in response.json["templates"]} >= {"pumping_unit", "heater"}


@pytest.mark.parametrize("path", ["/health", "/me", "/sync", "/wells", "/signing-key", "/photos", "/check-templates"])
def test_every_documented_path_exists(app, path):
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert f"/api/v1{path}" in rules
