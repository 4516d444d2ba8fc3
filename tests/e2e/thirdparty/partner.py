"""The extrawest-ocpi library's eMSP role, with the in-memory CRUD and authenticator it asks for.

Runs only in .venv-thirdparty (pydantic 1, an old FastAPI); `run.py` sets the library's settings
in the environment before importing this module, since the library reads them at import time.

Besides the OCPI routes the library mounts, `/control/...` lets the test drive it: issue a token
A, register with a CPO (the library has no client side of the credentials handshake, so this one
does what its own server side does: GET versions, GET details, then the credentials call), pull
the CPO's Sender modules, and show what it stores and what it was sent.
"""

from __future__ import annotations

import contextvars
import json
import os
import secrets
from typing import Any

import httpx
from fastapi import APIRouter, Body, FastAPI
from fastapi.encoders import jsonable_encoder
from py_ocpi import get_application
from py_ocpi.core.adapter import BaseAdapter
from py_ocpi.core.authentication.authenticator import Authenticator
from py_ocpi.core.crud import Crud
from py_ocpi.core.enums import ModuleID, RoleEnum
from py_ocpi.core.schemas import OCPIResponse
from py_ocpi.core.utils import encode_string_base64
from py_ocpi.modules.cdrs.v_2_2_1.schemas import Cdr
from py_ocpi.modules.credentials.v_2_2_1.schemas import Credentials
from py_ocpi.modules.locations.v_2_2_1.schemas import Location
from py_ocpi.modules.sessions.v_2_2_1.schemas import Session
from py_ocpi.modules.tariffs.v_2_2_1.schemas import Tariff
from py_ocpi.modules.versions.enums import VersionNumber
from py_ocpi.modules.versions.schemas import Version
from py_ocpi.modules.versions.v_2_2_1.schemas import VersionDetail

HOST = os.environ["OCPI_HOST"]
COUNTRY_CODE = os.environ["COUNTRY_CODE"]
PARTY_ID = os.environ["PARTY_ID"]
VERSIONS_URL = f"http://{HOST}/ocpi/versions"
PULLED = {"locations": Location, "tariffs": Tariff, "sessions": Session, "cdrs": Cdr}


class State:
    """Everything this eMSP knows; one process serves one test."""

    tokens_a: set[str] = set()
    # The tokens the CPO calls us with (B while it checks our versions, then C).
    tokens_c: set[str] = set()
    # The CPO: the token we call it with, its versions URL, its endpoints by module.
    cpo: dict[str, Any] = {}
    # module -> lower-cased "cc/party/id" (cdrs: id) -> the object, case restored.
    objects: dict[str, dict[str, Any]] = {m: {} for m in PULLED}
    received: list[dict[str, Any]] = []


def our_credentials(token: str) -> dict[str, Any]:
    return {"token": token, "url": VERSIONS_URL, "roles": [{
        "role": "EMSP", "country_code": COUNTRY_CODE, "party_id": PARTY_ID,
        "business_details": {"name": "Extrawest eMSP"}}]}


# --- restoring what the library's CiString lower-cases ------------------------------------
#
# The library lower-cases every CiString (ids, party ids) when its models parse a request, so
# what it hands the CRUD has lost the case the CPO sent. A CPO cannot absorb that (its ids are
# its own), so the store puts the original spelling back, taken from the raw request.

RAW: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("raw")


def _strings(value: Any, into: dict[str, str]) -> dict[str, str]:
    if isinstance(value, str):
        into.setdefault(value.lower(), value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, list):
        for item in value:
            _strings(item, into)
    return into


def _restore(value: Any, originals: dict[str, str]) -> Any:
    if isinstance(value, str):
        return originals.get(value, value) if value == value.lower() else value
    if isinstance(value, dict):
        return {k: _restore(v, originals) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, originals) for v in value]
    return value


def _as_sent(data: dict[str, Any], before: Any = None) -> dict[str, Any]:
    raw = RAW.get({})
    originals = _strings(raw.get("body"), {})
    for segment in raw.get("path", "").split("/"):
        originals.setdefault(segment.lower(), segment)
    _strings(before, originals)
    return _restore(jsonable_encoder(data), originals)


class RawRequests:
    """ASGI middleware: keeps each request's raw path and body for the CRUD, and logs every
    OCPI request with the HTTP and OCPI status it was answered with."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/control/"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        raw: dict[str, Any] = {"path": scope["path"]}
        RAW.set(raw)
        answer: dict[str, Any] = {"body": b""}

        async def receiving() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    joined = b"".join(chunks)
                    raw["body"] = json.loads(joined) if joined else None
            return message

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            try:
                ocpi_status = json.loads(answer["body"]).get("status_code")
            except (ValueError, AttributeError):
                ocpi_status = None
            State.received.append({
                "method": scope["method"], "path": scope["path"],
                "query": scope["query_string"].decode(), "body": raw.get("body"),
                "http_status": answer.get("status"), "ocpi_status": ocpi_status})


# --- what the library asks its user to write ----------------------------------------------


class MemoryAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return sorted(State.tokens_c)

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return sorted(State.tokens_a)


def _key(module: ModuleID, object_id: Any, kwargs: dict[str, Any]) -> str:
    if module == ModuleID.cdrs:
        return str(object_id).lower()
    return f"{kwargs['country_code']}/{kwargs['party_id']}/{object_id}".lower()


class MemoryCrud(Crud):
    @classmethod
    async def get(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any,
                  **kwargs: Any) -> Any:
        if module == ModuleID.credentials_and_registration:
            return our_credentials(kwargs["auth_token"]) if State.cpo else None
        return State.objects[module.value].get(_key(module, id, kwargs))

    @classmethod
    async def list(cls, module: ModuleID, role: RoleEnum, filters: dict, *args: Any,
                   **kwargs: Any) -> tuple[list, int, bool]:
        found = list(State.objects.get(module.value, {}).values())
        return found, len(found), True

    @classmethod
    async def create(cls, module: ModuleID, role: RoleEnum, data: dict, *args: Any,
                     **kwargs: Any) -> Any:
        if module == ModuleID.credentials_and_registration:
            return cls._registered(data, kwargs["auth_token"])
        stored = _as_sent(data)
        object_id = stored["id"]
        State.objects[module.value][_key(module, object_id, kwargs)] = stored
        return stored

    @classmethod
    async def update(cls, module: ModuleID, role: RoleEnum, data: dict, id: Any, *args: Any,
                     **kwargs: Any) -> Any:
        if module == ModuleID.credentials_and_registration:
            return cls._registered(data, kwargs["auth_token"])
        key = _key(module, id, kwargs)
        stored = _as_sent(data, State.objects[module.value].get(key))
        if module == ModuleID.locations and stored.get("evses"):
            # mod_locations: a Receiver given a PATCH of an EVSE or connector SHALL set its
            # last_updated on the parent Location too; the library leaves that to us.
            stored["last_updated"] = max(
                [stored.get("last_updated") or ""]
                + [e.get("last_updated") or "" for e in stored["evses"]])
        State.objects[module.value][key] = stored
        return stored

    @classmethod
    async def delete(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any,
                     **kwargs: Any) -> None:
        if module == ModuleID.credentials_and_registration:
            State.tokens_c.clear()
            State.cpo.clear()
            return
        State.objects[module.value].pop(_key(module, id, kwargs), None)

    @classmethod
    async def do(cls, module: ModuleID, role: RoleEnum | None, action: Any, *args: Any,
                 data: dict | None = None, **kwargs: Any) -> Any:
        return None

    @classmethod
    def _registered(cls, data: dict, presented: str) -> dict[str, Any]:
        """The CPO's credentials (POST with our token A, or PUT with its token C): keep its
        token and endpoints, spend what it presented, answer a new token C."""
        theirs = data["credentials"]
        endpoints = data["endpoints"]["endpoints"]
        State.cpo.update(token=theirs["token"], versions_url=theirs["url"],
                         endpoints={e["identifier"]: e["url"] for e in endpoints},
                         roles=theirs["roles"])
        State.tokens_a.discard(presented)
        State.tokens_c.discard(presented)
        token_c = secrets.token_hex(16)
        State.tokens_c.add(token_c)
        return our_credentials(token_c)


# --- control routes for the test ----------------------------------------------------------

control = APIRouter(prefix="/control")


def _header(token: str) -> dict[str, str]:
    # What the library sends when it calls another party on 2.2.1: the token Base64-encoded.
    return {"Authorization": f"Token {encode_string_base64(token)}"}


@control.post("/token-a")
async def issue_token_a() -> dict[str, str]:
    token = secrets.token_hex(16)
    State.tokens_a.add(token)
    return {"token": token, "versions_url": VERSIONS_URL}


@control.post("/register")
async def register(versions_url: str = Body(...), token: str = Body(...)) -> dict[str, Any]:
    """Register with a CPO that gave us `token` (its token A), parsing with the library's
    models every answer on the way."""
    async with httpx.AsyncClient(timeout=10) as http:
        versions = OCPIResponse(**(await http.get(versions_url, headers=_header(token))).json())
        offered = [Version(**v) for v in versions.data]
        details_url = next(v.url for v in offered if v.version == VersionNumber.v_2_2_1)
        details_answer = await http.get(details_url, headers=_header(token))
        details = VersionDetail(**OCPIResponse(**details_answer.json()).data)
        endpoints = {e.identifier.value: e.url for e in details.endpoints}
        token_b = secrets.token_hex(16)
        State.tokens_c.add(token_b)
        ours = Credentials(**our_credentials(token_b))
        reply = await http.post(endpoints["credentials"], headers=_header(token),
                                json=jsonable_encoder(ours.dict()))
    body = reply.json()
    if reply.status_code == 200 and body.get("status_code") == 1000:
        theirs = Credentials(**body["data"])
        State.cpo.update(token=theirs.token, versions_url=versions_url, endpoints=endpoints,
                         roles=jsonable_encoder(theirs.roles))
    else:
        State.tokens_c.discard(token_b)
    return {"http_status": reply.status_code, "body": body}


def _routing(to: tuple[str, str] | None) -> dict[str, str]:
    """OCPI 2.2.1 routing headers: from us, to the CPO party asked for."""
    if to is None:
        return {}
    return {"OCPI-from-country-code": COUNTRY_CODE, "OCPI-from-party-id": PARTY_ID,
            "OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]}


@control.post("/pull")
async def pull(limit: int = Body(...), date_from: str | None = Body(None),
               to: tuple[str, str] | None = Body(None)) -> dict[str, Any]:
    """GET every Sender module of the CPO, `limit` objects a page, following `Link` to the next
    page, and parse each object with the library's own models; with routing headers to the
    CPO party `to` when given."""
    result: dict[str, Any] = {}
    headers = {**_header(State.cpo["token"]), **_routing(to)}
    async with httpx.AsyncClient(timeout=10) as http:
        for module, model in PULLED.items():
            url: str | None = State.cpo["endpoints"][module]
            params: dict[str, Any] | None = {"limit": limit}
            if date_from is not None:
                params["date_from"] = date_from
            pages: list[dict[str, Any]] = []
            objects: list[Any] = []
            errors: list[str] = []
            while url is not None and len(pages) < 50:
                answer = await http.get(url, params=params, headers=headers)
                pages.append({"url": str(answer.url), "http_status": answer.status_code,
                              "ocpi_status": answer.json().get("status_code"),
                              "total": answer.headers.get("x-total-count"),
                              "limit": answer.headers.get("x-limit")})
                if answer.status_code != 200:
                    errors.append(f"{module}: HTTP {answer.status_code} {answer.text}")
                    break
                envelope = OCPIResponse(**answer.json())
                for item in envelope.data:
                    try:
                        objects.append(jsonable_encoder(model(**item)))
                    except ValueError as error:
                        errors.append(f"{module}: {error}")
                url = answer.links.get("next", {}).get("url")
                params = None
            result[module] = {"pages": pages, "objects": objects, "errors": errors}
    return result


@control.get("/state")
async def state() -> dict[str, Any]:
    return {"objects": State.objects, "received": State.received, "cpo": State.cpo,
            "tokens_a": len(State.tokens_a), "tokens_c": len(State.tokens_c)}


def create_app() -> FastAPI:
    app = get_application(
        version_numbers=[VersionNumber.v_2_2_1],
        roles=[RoleEnum.emsp],
        crud=MemoryCrud,
        modules=[ModuleID.credentials_and_registration, ModuleID.locations,
                 ModuleID.sessions, ModuleID.cdrs, ModuleID.tariffs],
        authenticator=MemoryAuthenticator,
        adapter=BaseAdapter,
    )
    app.include_router(control)
    app.add_middleware(RawRequests)
    return app
