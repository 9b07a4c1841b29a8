"""Fuzzing the phone's API in-process with schemathesis, against openapi.yaml.

Every operation of openapi.yaml is called with generated requests — valid ones and, in schemathesis' negative
mode, invalid ones — as a logged-in worker, with the Origin header the API requires for writes. No answer may be
a 5xx, and every answer must match the contract (status, content type, JSON schema), including the 401 JSON that
schemathesis itself asks for by repeating calls without the login cookie. Bounded: a few seconds in all.
"""
import uuid as uuid_module
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.conftest import login
from tests.test_sync import batch, post

MAX_EXAMPLES = 25  # per operation; ~7 operations

SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[1] / "openapi.yaml")
SCHEMA.config.update(base_url="http://localhost/api/v1")  # in-process: the WSGI app answers for this host
SCHEMA.config.generation.update(max_examples=MAX_EXAMPLES, with_security_parameters=False, database="none")
COOKIE = SCHEMA.raw_schema["components"]["securitySchemes"]["session"]["name"]
LOGGED_IN = {}
# What the schema cannot say, so these checks would flag the contract itself:
EXCLUDED = {
    # One bad record never sinks the batch: it is answered 200 with `rejected` and its reason in `results`.
    "/sync": [negative_data_rejection],
    # Any bytes are a schema-valid `file`; only a real JPEG/PNG/WebP is kept (422 not_an_image otherwise).
    "/photos": [positive_data_acceptance],
}


@SCHEMA.auth(refresh_interval=None)
class LoginCookie:
    """The login cookie of the test's own app, as the `session` security scheme of openapi.yaml."""

    def get(self, case, ctx):
        return LOGGED_IN.get("cookie")  # None while pytest collects the tests (no app yet)

    def set(self, case, data, ctx):
        if data:
            case.cookies = {**(case.cookies or {}), COOKIE: data}


@pytest.fixture
def login_cookie(app):
    client = app.test_client()
    login(client, "HN1003")
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, f"openapi.yaml names the session cookie {COOKIE!r}, the app sets another"
    LOGGED_IN["cookie"] = cookie.value
    yield cookie.value
    LOGGED_IN.clear()


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case, app, login_cookie):
    case.operation.schema.app = app  # schemathesis' own probes (the same call without the cookie) reach it too
    response = case.call_and_validate(app=app, headers={"Origin": "http://localhost"},
                                      excluded_checks=EXCLUDED.get(case.path, []))
    assert response.status_code < 500


# Found by the fuzzer: times whose UTC value or clock offset fell outside Python's dates answered 500.
@pytest.mark.parametrize("sent_at, created_at, status, code", [
    ("0360-01-01T00:00:00Z", "2026-11-26T08:00:00+08:00", 400, "invalid_batch"),
    ("0001-01-01T00:00:00+14:00", "2026-11-26T08:00:00+08:00", 400, "invalid_batch"),
    ("2026-11-26T08:00:00+08:00", "8333-03-01T00:00:00Z", 200, "invalid_time"),
    ("2026-11-26T08:00:00+08:00", "9999-12-31T23:59:59-14:00", 200, "invalid_time"),
])
def test_times_out_of_range_are_refused_not_500(app, sent_at, created_at, status, code):
    client = app.test_client()
    login(client, "HN1003")
    record = {"uuid": str(uuid_module.uuid4()), "type": "hazard", "created_at": created_at,
              "data": {"description": "x", "severity": "general"}}
    response = post(client, batch(record, sent_at=sent_at))
    assert response.status_code == status
    answer = response.json
    got = answer["error"]["code"] if status != 200 else answer["results"][0]["error"]["code"]
    assert got == code
