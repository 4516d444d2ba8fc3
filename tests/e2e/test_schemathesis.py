"""Schemathesis against our own OpenAPI document, on the real servers, with valid credentials.

The document is fetched from the admin listener; every operation of both listeners gets
EXAMPLES cases generated from its schemas (positive: what the document says is valid), sent
with the partner's OCPI token or the admin key. Whatever comes: no 5xx, answers that match
the document (status, content type, headers, body), and a rejected request (4xx, or an OCPI
status_code other than 1000) leaves every table's row count as it was.

Derandomized and bounded per operation, so a run is the same every time.
"""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import admin_routes, ocpi_routes
from gateway.console.sessions import COOKIE
from gateway.openapi import UI, document, operations
from sidecar.store.partners import REGISTERED
from sidecar.store.secrets import token_hash
from tests.fixtures.threaded import ADMIN_KEY, TOKEN, Served, add_partner, serving_in_thread

# Cases per operation and mode (about 40 operations, 30 with inputs to make invalid): this
# bounds the whole run.
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
BOUNDED = settings(deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
CHECKS = [status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
OCPI_AUTH = {"Authorization": f"Token {base64.b64encode(TOKEN.encode()).decode()}"}
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving_in_thread(tmp_path_factory.mktemp("schemathesis") / "sidecar.db") as state:
        yield state


def console_session(served: Served) -> tuple[str, str]:
    """Log in to the console: (the session cookie, the CSRF token its forms carry)."""
    with httpx.Client(base_url=served.admin_url, timeout=30) as http:
        login = http.post(f"{UI}/login", data={"key": ADMIN_KEY})
        assert login.status_code == 303, login.text
        page = http.get(f"{UI}/locations")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return login.cookies[COOKIE], found.group(1)


@pytest.fixture(scope="module")
def schema(served: Served) -> Any:
    # Loaded the way a user loads it: from the admin listener, without a key.
    return schemathesis.openapi.from_url(f"{served.admin_url}/openapi.json")


def every_case() -> list[Any]:
    """Each operation in both modes; negative only where the document names an input (a
    parameter or a body) to make invalid: else schemathesis has no case to give."""
    paths = document(ocpi_routes(), admin_routes(), "http://ocpi", "http://admin")["paths"]
    found = []
    for listener, method, path in every_operation():
        described = paths[path][method.lower()]
        has_input = bool(described["parameters"]) or "requestBody" in described
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode == GenerationMode.POSITIVE or has_input:
                found.append(pytest.param(listener, method, path, mode,
                                          id=f"{method} {path} {mode.value}"))
    return found


def every_operation() -> list[tuple[str, str, str]]:
    """(listener, method, path) of every route, from the apps themselves."""
    return [(listener, method, path) for listener, routes in (
        ("ocpi", ocpi_routes()), ("admin", admin_routes()))
        for method, path, _ in operations(routes)]


def registered(served: Served) -> bool:
    """Our partner's token still opens the OCPI modules."""
    with sqlite3.connect(served.db_file) as connection:
        found = connection.execute(
            "SELECT count(*) FROM partners WHERE inbound_token_hash = ? AND status = ?",
            (token_hash(TOKEN), REGISTERED)).fetchone()[0]
    return bool(found)


def register_again(served: Served) -> None:
    """Undo a valid unregistration (DELETE credentials, admin DELETE or rotate of our
    partner), so that the operations after it are tried with a token that works."""
    assert served.loop is not None and served.database is not None
    future = asyncio.run_coroutine_threadsafe(add_partner(served.database), served.loop)
    served.partner_id = future.result(30)


# Path parameters naming what exists: the seeded location, our partner's party.
KNOWN = {"location_id": "LOC1", "evse_uid": "SDC-LOC1-1", "connector_id": "1",
         "country_code": "NL", "party_id": "MSP"}


def aim(case: Any, served: Served) -> None:
    """Point a generated case at objects that exist, so that it gets past "unknown": the
    random routing headers left out, the body naming the object its URL names."""
    params = case.path_parameters or {}
    for name in params:
        if name in KNOWN:
            params[name] = KNOWN[name]
        elif name == "partner_id":
            params[name] = served.partner_id
    for name in [h for h in case.headers or {} if h.lower().startswith("ocpi-")]:
        del case.headers[name]
    if isinstance(case.body, dict):
        for name in ("country_code", "party_id", "uid"):
            if name in params and name in case.body:
                # Path parameters are kept as they go in the URL: percent-encoded.
                case.body[name] = unquote(str(params[name]))
        if "type" in case.body and "tokens" in case.path:
            case.query = {**(case.query or {}), "type": case.body["type"]}


def rejected(listener: str, response: Any) -> bool:
    if response.status_code >= 400:
        return True
    if listener != "ocpi":
        return False
    return bool(response.json()["status_code"] != 1000)


@pytest.mark.parametrize(("listener", "method", "path", "mode"), every_case())
def test_operation_conforms_and_rejects_cleanly(
    served: Served, schema: Any, listener: str, method: str, path: str, mode: GenerationMode
) -> None:
    base_url = served.base_url if listener == "ocpi" else served.admin_url
    auth = OCPI_AUTH if listener == "ocpi" else ADMIN_AUTH
    csrf = None
    if path.startswith(UI):
        session, csrf = console_session(served)
        auth = {"Cookie": f"{COOKIE}={session}"}
    operation = schema[path][method]
    # A 5xx named in the document is an answer, not a failure: /readyz 503 (not ready: no
    # push worker nor heartbeat here), 502 where we call the partner (it refuses).
    answers = {int(code) for code in operation.definition.raw["responses"]
               if code.isdigit() and code.startswith("5")}

    @settings(BOUNDED, max_examples=EXAMPLES[mode])
    @given(case=operation.as_strategy(mode), aimed=st.booleans())
    def check(case: Any, aimed: bool) -> None:
        if aimed:
            aim(case, served)
            if csrf is not None and isinstance(case.body, dict) and "csrf" in case.body:
                case.body["csrf"] = csrf
        before = served.counts()
        response = case.call(base_url=base_url, headers=auth, timeout=30)
        assert response.status_code < 500 or response.status_code in answers, (
            case.as_curl_command(), response.status_code, response.text)
        case.validate_response(response, checks=CHECKS)
        if rejected(listener, response):
            assert served.counts() == before, (case.as_curl_command(), response.text)
        if not registered(served):
            register_again(served)

    check()
