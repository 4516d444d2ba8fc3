"""Two listeners: partners reach OCPI only; the admin API, metrics and health live on the
operator's listener, which serves no OCPI."""

from __future__ import annotations

import httpx
import pytest

from gateway.app import admin_routes, ocpi_routes
from tests.fixtures.cpo import ADMIN_KEY, Cpo

pytestmark = pytest.mark.anyio

ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.mark.parametrize("path", ["/admin/partners", "/admin/partners/", "/metrics",
                                  "/healthz", "/readyz", "/admin/credentials-token-a"])
async def test_the_ocpi_listener_serves_no_operator_route(cpo: Cpo, path: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for method in ("GET", "POST"):
            reply = await http.request(method, f"{cpo.settings.base_url}{path}",
                                       headers=ADMIN_HEADERS)
            # The OCPI listener's own answer for an unknown path: an envelope, 404.
            assert reply.status_code == 404, (method, path, reply.text)
            assert reply.json()["status_code"] == 2000


async def test_the_admin_listener_serves_the_operator_and_no_ocpi(cpo: Cpo) -> None:
    listed = await cpo.admin.get("/partners")
    assert listed.status_code == 200 and listed.json() == []
    async with httpx.AsyncClient(base_url=cpo.settings.admin_url, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
        metrics = await http.get("/metrics", headers=ADMIN_HEADERS)
        assert metrics.status_code == 200 and "ocpi_sidecar_" in metrics.text
        versions = await http.get("/ocpi/versions")
    assert versions.status_code == 404 and "error" in versions.json()


def test_no_path_is_on_both_listeners() -> None:
    ocpi = {route.path for route in ocpi_routes()}  # type: ignore[attr-defined]
    admin = {route.path for route in admin_routes()}  # type: ignore[attr-defined]
    assert ocpi and admin and not ocpi & admin
    assert all(path.startswith("/ocpi/") for path in ocpi)
