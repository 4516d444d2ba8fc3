"""The OpenAPI document: valid OpenAPI 3.1, every route described, served on the admin
listener only, without the admin key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.responses import Response
from starlette.routing import Route

from gateway import openapi
from gateway.app import admin_routes, ocpi_routes
from tests.fixtures.cpo import Cpo

OCPI_URL, ADMIN_URL = "http://127.0.0.1:8080", "http://127.0.0.1:8081"


def built() -> dict[str, Any]:
    return openapi.document(ocpi_routes(), admin_routes(), OCPI_URL, ADMIN_URL)


def test_the_document_is_valid_openapi_3_1() -> None:
    errors = [str(error) for error in OpenAPIV31SpecValidator(built()).iter_errors()]
    assert errors == []


def test_every_route_of_both_apps_is_in_the_document() -> None:
    document = built()
    for routes, url in ((ocpi_routes(), OCPI_URL), (admin_routes(), ADMIN_URL)):
        for method, path, route in openapi.operations(routes):
            item = document["paths"][path]
            operation = item[method.lower()]
            assert item["servers"] == [{"url": url}]
            assert operation["summary"], (method, path)
            named = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert named == set(route.param_convertors), (method, path)
    assert openapi.missing(ocpi_routes(), admin_routes()) == []


async def _new(_request: object) -> Response:
    return Response()


def test_a_route_without_a_description_fails_the_document() -> None:
    added = [*admin_routes(), Route("/admin/new-thing", _new, methods=["POST"])]
    with pytest.raises(LookupError, match="POST /admin/new-thing"):
        openapi.document(ocpi_routes(), added, OCPI_URL, ADMIN_URL)
    assert openapi.missing(ocpi_routes(), added) == ["POST /admin/new-thing"]


def test_a_description_without_a_route_fails_the_document() -> None:
    fewer = [r for r in admin_routes() if getattr(r, "path", "") != "/metrics"]
    assert openapi.missing(ocpi_routes(), fewer) == ["GET /metrics"]


def test_security_follows_the_listener() -> None:
    paths = built()["paths"]
    assert paths["/ocpi/cpo/2.2.1/locations"]["get"]["security"] == [{"ocpiToken": []}]
    assert paths["/admin/partners"]["get"]["security"] == [{"adminKey": []}]
    assert paths["/metrics"]["get"]["security"] == [{"adminKey": []}]
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/admin/ui/partners"]["get"]["security"] == [{"consoleSession": []}]
    assert paths["/admin/ui/login"]["post"]["security"] == []


def test_ocpi_answers_are_enveloped_and_decimals_are_numbers() -> None:
    document = built()
    ok = document["paths"]["/ocpi/cpo/2.2.1/tariffs"]["get"]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Envelope"}
    assert set(ok["headers"]) == {"X-Total-Count", "X-Limit", "Link"}
    price = document["components"]["schemas"]["Price"]["properties"]
    assert price["excl_vat"] == {"type": "number"}
    last_updated = document["components"]["schemas"]["Tariff"]["properties"]["last_updated"]
    assert last_updated["format"] == "date-time"


@pytest.mark.anyio
async def test_the_admin_listener_serves_it_without_a_key(cpo: Cpo) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.get(f"{cpo.settings.admin_url}/openapi.json")
        on_ocpi = await http.get(f"{cpo.settings.base_url}/openapi.json")
    assert reply.status_code == 200, reply.text
    assert reply.json() == openapi.document(ocpi_routes(), admin_routes(),
                                            cpo.settings.base_url, cpo.settings.admin_url)
    assert on_ocpi.status_code == 404
