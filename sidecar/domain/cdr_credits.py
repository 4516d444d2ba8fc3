"""Credit CDRs (mod_cdrs): a CDR sent is never changed; a credit CDR cancels it and a
corrected CDR, with a new id, may replace it. Both go to the eMSP of the original."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain.sessions import CDRS, retrying
from sidecar.errors import InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.types import Price, now
from sidecar.store import cdrs, idempotency, outbox
from sidecar.store.engine import Database
from sidecar.store.partners import holder_of

_METHOD = "CreditCdr"
# mod_cdrs: the credit CDR may be the original's id "with something appended like -C".
CREDIT_SUFFIX = "-C"
# Fields of a corrected CDR that are the sidecar's to set, never the correction's.
_OURS = ("id", "country_code", "party_id", "credit", "credit_reference_id", "last_updated")


@dataclass(frozen=True, slots=True)
class CreditInput:
    """What to credit; `correction`: CDR fields replacing the original's in the corrected
    CDR (None: credit only); `path`: where the correction came from, for error messages;
    `key`/`digest`: the core's idempotency key (None for the operator's request)."""

    cdr_id: str
    correction: dict[str, Any] | None
    path: str
    key: str | None = None
    digest: bytes = b""


@dataclass(frozen=True, slots=True)
class Credited:
    credit_id: str
    corrected_id: str


def _negated(price: Price) -> Price:
    return Price(excl_vat=-price.excl_vat,
                 incl_vat=-price.incl_vat if price.incl_vat is not None else None)


def credit_cdr(original: CDR, stamp: datetime) -> CDR:
    """All data of the original; only the total_cost amounts negated (mod_cdrs)."""
    return msgspec.structs.replace(
        original, id=original.id + CREDIT_SUFFIX, credit=True, credit_reference_id=original.id,
        total_cost=_negated(original.total_cost), last_updated=stamp)


def corrected_cdr(original: CDR, correction: dict[str, Any], path: str, new_id: str,
                  stamp: datetime) -> CDR:
    """The original with the correction's fields, as a new (not credit) CDR."""
    for name in correction:
        if name in _OURS:
            raise InvalidField(f"{path}.{name}", "set by the sidecar")
        if name not in CDR.__struct_fields__:
            raise InvalidField(f"{path}.{name}", "not a CDR field")
    data = {**codec.to_builtins(original), **correction, "id": new_id,
            "last_updated": codec.to_builtins(stamp)}
    data.pop("credit", None)
    data.pop("credit_reference_id", None)
    try:
        return codec.convert(data, CDR)
    except InvalidField as error:
        raise InvalidField(f"{path}.{error.path}" if error.path else path,
                           error.reason) from None


async def credit(database: Database, wakeup: outbox.Wakeup, given: CreditInput,
                 answer: Callable[[Credited], bytes]) -> bytes:
    """Credit a CDR once (and correct it when asked), POSTing what is made to the eMSP."""
    async def work(connection: AsyncConnection) -> tuple[bytes, bool]:
        if given.key is not None:
            stored = idempotency.replayed(await idempotency.find_key(connection, given.key),
                                          _METHOD, given.digest, "idempotency_key")
            if stored is not None:
                return stored, False
        made = await _credit(connection, given)
        response = answer(made)
        if given.key is not None:
            await idempotency.record_keys(
                connection, [(given.key, _METHOD, given.digest, response)], now())
        return response, True

    response, pushed = await retrying(database, work)
    if pushed:
        wakeup.notify()
    return response


async def _credit(connection: AsyncConnection, given: CreditInput) -> Credited:
    found = await cdrs.find_cdrs(connection, given.cdr_id)
    if not found:
        raise NotFound("cdr_id", f"no CDR {given.cdr_id!r}")
    stored = found[0]
    original = codec.decode(stored.document, CDR)
    if original.credit:
        raise PreconditionFailed(f"cdr_id: CDR {given.cdr_id!r} is a credit CDR")
    if await cdrs.credit_of(connection, stored.country_code, stored.party_id, original.id):
        raise PreconditionFailed(f"cdr_id: CDR {given.cdr_id!r} was credited before")
    stamp = now()
    made = [credit_cdr(original, stamp)]
    if given.correction is not None:
        made.append(corrected_cdr(original, given.correction, given.path, str(uuid.uuid4()),
                                  stamp))
    token = original.cdr_token
    partner_id = await holder_of(connection, token.country_code, token.party_id)
    partner_id = partner_id if partner_id is not None else stored.partner_id
    for index, cdr in enumerate(made):
        # No transaction of the core has this key: a credit or corrected CDR is none's.
        while not await cdrs.add_cdr(connection, cdr, transaction_id=str(uuid.uuid4()),
                                     partner_id=partner_id):
            # The id is some other CDR's (a transaction id ending in "-C"): a fresh one.
            cdr = msgspec.structs.replace(cdr, id=str(uuid.uuid4()) + (
                CREDIT_SUFFIX if cdr.credit else ""))
            made[index] = cdr
        if partner_id is not None:
            await outbox.enqueue(connection, [partner_id], CDRS, cdr.country_code,
                                 cdr.party_id, cdr.id, outbox.POST,
                                 recipient=(token.country_code, token.party_id))
    corrected_id = made[1].id if len(made) > 1 else None
    await cdrs.record_credit(connection, stored.country_code, stored.party_id, original.id,
                             made[0].id, corrected_id)
    return Credited(made[0].id, corrected_id or "")
