"""Credit CDRs end to end: the operator (admin API) or the core (gRPC) credits a sent CDR;
the eMSP gets the credit CDR and the corrected one; the original never changes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import transactions_pb2 as pb

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.transaction_e2e import Core, core, listed, register, sent_cdrs, site
from tests.servicers.transaction_builders import T0, end, start

pytestmark = pytest.mark.anyio

__all__ = ["core"]  # the fixture

# What was mis-read: the meter said 5 kWh, it was 4 kWh (0.25/kWh + 10 % VAT: 0.25 less).
CORRECTION = {"total_energy": 4, "total_energy_cost": {"excl_vat": 1.00, "incl_vat": 1.10},
              "total_cost": {"excl_vat": 1.90, "incl_vat": 2.09}}


async def sent_cdr(cpo: Cpo, core: Core, emsp: FakeEmsp) -> dict[str, Any]:
    """A 20-minute session of 5 kWh, its CDR received by the eMSP."""
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=20),
                                              meter_stop="15000"))
    await eventually(lambda: sent_cdrs(emsp))
    return dict(sent_cdrs(emsp)[0].body)


def money(value: dict[str, Any]) -> tuple[Decimal, Decimal]:
    return Decimal(str(value["excl_vat"])), Decimal(str(value["incl_vat"]))


async def test_a_credit_and_a_corrected_cdr_reach_the_owning_emsp(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    original = await sent_cdr(cpo, core, emsp)
    reply = await cpo.admin.post("/cdrs/TX1/credit", json={"correction": CORRECTION})
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert made["credit_cdr_id"] == "TX1-C"
    await eventually(lambda: len(sent_cdrs(emsp)) == 3)
    by_id = {r.body["id"]: r.body for r in sent_cdrs(emsp)}
    credit, corrected = by_id["TX1-C"], by_id[made["corrected_cdr_id"]]
    # mod_cdrs: all data of the original; only the total_cost values negative.
    assert credit["credit"] is True and credit["credit_reference_id"] == "TX1"
    assert money(credit["total_cost"]) == tuple(-v for v in money(original["total_cost"]))
    same = {k: v for k, v in credit.items()
            if k not in ("id", "credit", "credit_reference_id", "total_cost", "last_updated")}
    assert same == {k: v for k, v in original.items()
                    if k not in ("id", "total_cost", "last_updated")}
    # The corrected CDR: a new id, the corrected values, no credit fields.
    assert "credit" not in corrected and "credit_reference_id" not in corrected
    assert len(corrected["id"]) <= 36 and corrected["id"] not in ("TX1", "TX1-C")
    assert Decimal(str(corrected["total_energy"])) == 4
    assert money(corrected["total_cost"]) == (Decimal("1.90"), Decimal("2.09"))
    assert corrected["cdr_token"] == original["cdr_token"]
    assert corrected["charging_periods"] == original["charging_periods"]
    # The original is as it was; the eMSP lists all three.
    listed_cdrs = {c["id"]: c for c in await listed(emsp, cpo, "cdrs")}
    assert listed_cdrs["TX1"] == original and set(listed_cdrs) == set(by_id)

    again = await cpo.admin.post("/cdrs/TX1/credit", json={})
    assert again.status_code == 409 and again.json()["field"] == "cdr_id"
    assert "TX1" in again.json()["error"]
    of_credit = await cpo.admin.post("/cdrs/TX1-C/credit")
    assert of_credit.status_code == 409
    unknown = await cpo.admin.post("/cdrs/NOPE/credit")
    assert unknown.status_code == 404


@pytest.mark.parametrize(("correction", "field"), [
    ({"id": "X1"}, "correction.id"),
    ({"credit": True}, "correction.credit"),
    ({"total_energy": "lots"}, "correction.total_energy"),
    ({"colour": "red"}, "correction.colour"),
])
async def test_a_bad_correction_names_the_field_and_credits_nothing(
    cpo: Cpo, core: Core, emsp: FakeEmsp, correction: dict[str, Any], field: str
) -> None:
    await sent_cdr(cpo, core, emsp)
    reply = await cpo.admin.post("/cdrs/TX1/credit", json={"correction": correction})
    assert reply.status_code == 400 and reply.json()["field"] == field, reply.text
    # Nothing half-stored: crediting still works, once.
    fine = await cpo.admin.post("/cdrs/TX1/credit")
    assert fine.status_code == 201 and fine.json()["corrected_cdr_id"] is None
    await eventually(lambda: len(sent_cdrs(emsp)) == 2)


async def test_the_core_credits_once_per_key(cpo: Cpo, core: Core, emsp: FakeEmsp) -> None:
    await sent_cdr(cpo, core, emsp)
    request = pb.CreditCdrRequest(idempotency_key="TX1:credit", cdr_id="TX1",
                                  correction_json=json.dumps(CORRECTION))
    first = await core.transactions.CreditCdr(request)
    assert first.credit_cdr_id == "TX1-C" and first.corrected_cdr_id
    assert await core.transactions.CreditCdr(request) == first  # a replay
    await eventually(lambda: len(sent_cdrs(emsp)) == 3)
    for changed, code in (
        (pb.CreditCdrRequest(idempotency_key="TX1:credit", cdr_id="TX1"),
         grpc.StatusCode.ALREADY_EXISTS),
        (pb.CreditCdrRequest(idempotency_key="TX1:credit-2", cdr_id="TX1"),
         grpc.StatusCode.FAILED_PRECONDITION),
        (pb.CreditCdrRequest(idempotency_key="k", cdr_id="NOPE"), grpc.StatusCode.NOT_FOUND),
        (pb.CreditCdrRequest(idempotency_key="k", cdr_id="TX1", correction_json="[1]"),
         grpc.StatusCode.INVALID_ARGUMENT),
        (pb.CreditCdrRequest(cdr_id="TX1"), grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await core.transactions.CreditCdr(changed)
        assert error.value.code() == code
    assert len(sent_cdrs(emsp)) == 3
