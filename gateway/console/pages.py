"""The operator console at /admin/ui: server-rendered pages and form actions.

Every action calls the function the admin API calls (gateway.admin), so the two front ends
cannot drift apart. Log-in takes the admin key once and checks it with the API's own check
(and failure limiter); the browser then holds a session cookie (sessions.py), HttpOnly,
SameSite=Strict, Path=/admin/ui. Each POST needs that session, its CSRF form token, and an
Origin (or Referer), when the browser sends one, of this very listener.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway import admin
from gateway.admin import AdminError, Party, PushRequest, RegisterRequest
from gateway.console import queries
from gateway.console.sessions import COOKIE, Session, Sessions
from gateway.limiter import source_of
from gateway.registration import module_use
from gateway.services import Services, services_of
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.types import utc
from sidecar.store import outbox

UI = "/admin/ui"
# Forms are small; a larger body is refused before it is parsed.
FORM_LIMIT = 64 * 1024
# Pages may show a token A once, and partners' data: never kept by a cache.
NO_STORE = {"Cache-Control": "no-store"}


def _when(value: datetime | None) -> str:
    return "" if value is None else utc(value).strftime("%Y-%m-%d %H:%M:%SZ")


def _environment() -> jinja2.Environment:
    # Autoescape on: whatever a partner sent (names, messages, URLs) renders as text.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, undefined=jinja2.ChainableUndefined)
    environment.filters["when"] = _when
    return environment


class Refused(Exception):
    """A console request refused before any action: rendered as an error page."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


Handler = Callable[[Request, Session], Awaitable[Response]]


class Console:
    """The console of one admin app: its templates and its log-in sessions."""

    def __init__(self, sessions: Sessions | None = None) -> None:
        self.sessions = sessions or Sessions()
        self.environment = _environment()

    def render(self, request: Request, name: str, status: int = 200,
               session: Session | None = None, **context: Any) -> HTMLResponse:
        notices, errors = [], []
        if session is not None:
            notices = [text for kind, text in session.notices if kind == "notice"]
            errors = [text for kind, text in session.notices if kind == "error"]
            session.notices.clear()
        html = self.environment.get_template(name).render(
            ui=UI, session=session, notices=notices, errors=errors, **context)
        return HTMLResponse(html, status, headers=NO_STORE)

    def routes(self) -> list[BaseRoute]:
        page, action = self._page, self._action
        return [
            Route(UI, self.home, methods=["GET"]),
            Route(f"{UI}/login", self.login_form, methods=["GET"]),
            Route(f"{UI}/login", self.login, methods=["POST"]),
            Route(f"{UI}/logout", action(self.logout), methods=["POST"]),
            Route(f"{UI}/partners", page(self.partners), methods=["GET"]),
            Route(f"{UI}/partners", action(self.register), methods=["POST"]),
            Route(f"{UI}/token-a", action(self.token_a), methods=["POST"]),
            Route(f"{UI}/partners/{{partner_id}}", page(self.partner), methods=["GET"]),
            Route(f"{UI}/partners/{{partner_id}}/rotate", action(self.rotate), methods=["POST"]),
            Route(f"{UI}/partners/{{partner_id}}/unregister", page(self.confirm_unregister),
                  methods=["GET"]),
            Route(f"{UI}/partners/{{partner_id}}/unregister", action(self.unregister),
                  methods=["POST"]),
            Route(f"{UI}/partners/{{partner_id}}/push", action(self.push_partner),
                  methods=["POST"]),
            Route(f"{UI}/locations", page(self.locations), methods=["GET"]),
            Route(f"{UI}/locations/publish", action(self.publish), methods=["POST"]),
            Route(f"{UI}/locations/unpublish", action(self.unpublish), methods=["POST"]),
            Route(f"{UI}/locations/push", action(self.push_location), methods=["POST"]),
            Route(f"{UI}/sessions", page(self.transactions), methods=["GET"]),
            Route(f"{UI}/commands", page(self.commands), methods=["GET"]),
        ]

    # --- authentication and CSRF ------------------------------------------------------

    def _session(self, request: Request) -> Session | None:
        return self.sessions.find(request.cookies.get(COOKIE))

    def _page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                return _to_login()
            try:
                return await handler(request, session)
            except (AdminError, Refused) as error:
                return self._error_page(request, session, error)
        return endpoint

    def _action(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                return _to_login()
            try:
                form = await _form(request)
                _same_origin(request)
                if not session.csrf_ok(form.get("csrf")):
                    raise Refused(403, "the form's CSRF token is missing or stale; reload the"
                                       " page and try again")
                request.state.form = form
                return await handler(request, session)
            except (AdminError, Refused) as error:
                return self._error_page(request, session, error)
        return endpoint

    def _error_page(self, request: Request, session: Session | None,
                    error: AdminError | Refused) -> Response:
        status = error.http_status if isinstance(error, AdminError) else error.status
        return self.render(request, "error.html", status, session, message=error.message)

    async def home(self, request: Request) -> Response:
        if self._session(request) is None:
            return _to_login()
        return RedirectResponse(f"{UI}/partners", 303)

    async def login_form(self, request: Request) -> Response:
        if self._session(request) is not None:
            return RedirectResponse(f"{UI}/partners", 303)
        return self.render(request, "login.html", error=None)

    async def login(self, request: Request) -> Response:
        try:
            form = await _form(request)
            _same_origin(request)
            admin.verify_key(services_of(request), source_of(request),
                             "Bearer " + form.get("key", ""))
        except AdminError as error:
            message = "wrong admin key" if error.http_status == 401 else error.message
            page = self.render(request, "login.html", error.http_status, error=message)
            page.headers.update(error.headers)
            return page
        except Refused as error:
            return self.render(request, "login.html", error.status, error=error.message)
        session_id, _ = self.sessions.open()
        response = RedirectResponse(f"{UI}/partners", 303)
        response.set_cookie(COOKIE, session_id, max_age=int(self.sessions.lifetime), path=UI,
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        self.sessions.close(request.cookies.get(COOKIE))
        response = _to_login()
        response.delete_cookie(COOKIE, path=UI, httponly=True, samesite="strict")
        return response

    # --- pages ----------------------------------------------------------------------------

    async def partners(self, request: Request, session: Session) -> Response:
        async with services_of(request).database.read() as connection:
            rows = await queries.partner_rows(connection)
        return self.render(request, "partners.html", session=session, rows=rows)

    async def partner(self, request: Request, session: Session) -> Response:
        services = services_of(request)
        partner = await admin.load_partner(services, admin.partner_id_of(request))
        async with services.database.read() as connection:
            push = await outbox.push_status(connection, partner.id)
            attempts = await queries.push_attempts(connection, partner.id)
        return self.render(request, "partner.html", session=session, partner=partner,
                           push=push, attempts=attempts,
                           modules=module_use(partner.endpoints))

    async def confirm_unregister(self, request: Request, session: Session) -> Response:
        partner = await admin.load_partner(services_of(request), admin.partner_id_of(request))
        return self.render(request, "unregister.html", session=session, partner=partner)

    async def locations(self, request: Request, session: Session) -> Response:
        async with services_of(request).database.read() as connection:
            rows = await queries.locations(connection)
        return self.render(request, "locations.html", session=session, rows=rows)

    async def transactions(self, request: Request, session: Session) -> Response:
        async with services_of(request).database.read() as connection:
            sessions, cdrs = await queries.sessions(connection), await queries.cdrs(connection)
        return self.render(request, "sessions.html", session=session, sessions=sessions,
                           cdrs=cdrs)

    async def commands(self, request: Request, session: Session) -> Response:
        async with services_of(request).database.read() as connection:
            rows = await queries.commands(connection)
        return self.render(request, "commands.html", session=session, rows=rows)

    # --- actions: each calls the admin API's own function ---------------------------------

    async def token_a(self, request: Request, session: Session) -> Response:
        form: dict[str, str] = request.state.form
        issued = await admin.issue_token_a(services_of(request), "plain" not in form)
        # Shown once, on this answer to the POST; nothing keeps it for a later page.
        return self.render(request, "token_a.html", 201, session, issued=issued)

    async def register(self, request: Request, session: Session) -> Response:
        form: dict[str, str] = request.state.form
        try:
            wanted = codec.convert({"versions_url": form.get("versions_url", "").strip(),
                                    "token": form.get("token", "").strip(),
                                    "token_base64": "plain" not in form}, RegisterRequest)
        except InvalidField as error:
            return _back(session, f"{UI}/partners", f"{error.path}: {error.reason}", "error")
        try:
            partner = await admin.register(services_of(request), wanted)
        except AdminError as error:
            return _back(session, f"{UI}/partners", f"registration failed: {error.message}",
                         "error")
        return _back(session, f"{UI}/partners/{partner.id}",
                     f"registered with partner {partner.id} ({partner.status})")

    async def rotate(self, request: Request, session: Session) -> Response:
        services = services_of(request)
        partner = await admin.load_partner(services, admin.partner_id_of(request))
        here = f"{UI}/partners/{partner.id}"
        try:
            await admin.rotate(services, partner)
        except AdminError as error:
            return _back(session, here, f"rotation failed: {error.message}", "error")
        return _back(session, here, "credentials rotated: new tokens both ways")

    async def unregister(self, request: Request, session: Session) -> Response:
        services = services_of(request)
        partner = await admin.load_partner(services, admin.partner_id_of(request))
        here = f"{UI}/partners/{partner.id}"
        try:
            problem = await admin.unregister(services, partner)
        except AdminError as error:
            return _back(session, here, f"unregistering failed: {error.message}", "error")
        if problem:
            return _back(session, here, "unregistered here; the partner could not be told: "
                         + problem, "error")
        return _back(session, here, f"partner {partner.id} unregistered")

    async def push_partner(self, request: Request, session: Session) -> Response:
        form: dict[str, str] = request.state.form
        partner_id = admin.partner_id_of(request)
        return await self._push(session, services_of(request), f"{UI}/partners/{partner_id}",
                                {"module": form.get("module", ""), "partner": partner_id},
                                None)

    async def push_location(self, request: Request, session: Session) -> Response:
        form: dict[str, str] = request.state.form
        return await self._push(session, services_of(request), f"{UI}/locations",
                                {"module": "locations", "id": form.get("id", "")},
                                _party(form))

    async def _push(self, session: Session, services: Services, here: str,
                    body: dict[str, Any], party: Party | None) -> Response:
        try:
            wanted = codec.convert(body, PushRequest)
            queued = await admin.queue_push(services, wanted, party)
        except InvalidField as error:
            return _back(session, here, f"{error.path}: {error.reason}", "error")
        except AdminError as error:
            return _back(session, here, f"push failed: {error.message}", "error")
        return _back(session, here, f"push queued: {queued} delivery(ies)")

    async def publish(self, request: Request, session: Session) -> Response:
        return await self._publish(request, session, True)

    async def unpublish(self, request: Request, session: Session) -> Response:
        return await self._publish(request, session, False)

    async def _publish(self, request: Request, session: Session, publish: bool) -> Response:
        form: dict[str, str] = request.state.form
        here = f"{UI}/locations"
        try:
            done = await admin.set_publish(services_of(request), form.get("id", ""), publish,
                                           _party(form))
        except AdminError as error:
            return _back(session, here, error.message, "error")
        verb = "published" if publish else "unpublished"
        state = "" if done["changed"] else " (it already was)"
        return _back(session, here, f"location {done['id']} {verb}{state}")


def _party(form: dict[str, str]) -> Party:
    return Party(form.get("country_code") or None, form.get("party_id") or None)


def _to_login() -> RedirectResponse:
    return RedirectResponse(f"{UI}/login", 303)


def _back(session: Session, url: str, text: str, kind: str = "notice") -> RedirectResponse:
    """After an action: a redirect (so a reload repeats nothing) and a notice for the page."""
    session.notices.append((kind, text))
    return RedirectResponse(url, 303)


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the last value of a repeated one)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "send the console's forms as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise Refused(413, f"a form body is at most {FORM_LIMIT} bytes")
    try:
        text = body.decode()
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the form is not valid UTF-8 urlencoded text") from None


def _origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request) -> None:
    """Refuse a POST whose Origin (or, without one, Referer) is another site's.

    SameSite=Strict already keeps the cookie off cross-site requests in today's browsers;
    this holds where it does not, and guards the log-in form (which has no cookie yet)."""
    ours = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    origin = request.headers.get("origin")
    referer = request.headers.get("referer")
    if origin is not None:
        if origin.lower() != ours:
            raise Refused(403, "cross-origin form submission refused")
    elif referer is not None and _origin_of(referer) != ours:
        raise Refused(403, "cross-origin form submission refused")
