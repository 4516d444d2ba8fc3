"""POST /admin/cdrs/{id}/credit: the operator credits a CDR (and corrects it) (mod_cdrs)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from gateway.admin import AdminError, admin_json, check_key
from gateway.services import services_of
from sidecar.domain import cdr_credits
from sidecar.errors import InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi import codec


class CreditRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body (optional): `correction`, CDR fields whose values replace the original's in
    a corrected CDR; absent: the CDR is credited only."""

    correction: dict[str, Any] | None = None


async def credit_cdr(request: Request) -> Response:
    """Credit the CDR; answers 201 {credit_cdr_id, corrected_cdr_id (null: none)}; 404 for
    an unknown CDR, 409 for one credited before (or a credit CDR), 400 naming a bad field."""
    check_key(request)
    raw = await request.body()
    try:
        wanted = codec.decode(raw, CreditRequest) if raw.strip() else CreditRequest()
    except InvalidField as error:
        raise AdminError(400, error.reason, error.path) from None
    services = services_of(request)
    given = cdr_credits.CreditInput(request.path_params["cdr_id"], wanted.correction,
                                    "correction")
    try:
        answer = await cdr_credits.credit(services.database, services.wakeup, given,
                                          lambda made: codec.encode({
                                              "credit_cdr_id": made.credit_id,
                                              "corrected_cdr_id": made.corrected_id or None}))
    except InvalidField as error:
        raise AdminError(400, error.reason, error.path) from None
    except NotFound as error:
        raise AdminError(404, str(error), "cdr_id") from None
    except PreconditionFailed as error:
        raise AdminError(409, str(error), "cdr_id") from None
    return admin_json(msgspec.json.decode(answer), 201)
