"""The session, CDR and idempotency stores, and what the push worker calls, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from sidecar.errors import Conflict
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.sessions import Session
from sidecar.store import cdrs, idempotency
from sidecar.store import sessions as store
from sidecar.store.engine import Database
from sidecar.store.partners import REGISTERED, insert_partner
from tests.sidecar.ocpi.test_examples import EXAMPLES

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


def document(periods: int = 3, kwh: str = "12.3456789012345678901") -> bytes:
    """A session document with `periods` charging periods and a kWh no float could carry."""
    raw = json.loads((EXAMPLES / "session_example_2_short_finished.json").read_text())
    period = raw["charging_periods"][0]
    raw["charging_periods"] = [{**period, "start_date_time": f"2026-03-02T11:0{n}:00Z"}
                               for n in range(periods)]
    return json.dumps(raw).replace('"kwh": 41.12', f'"kwh": {kwh}').encode()


def test_a_patch_carries_only_undelivered_periods_and_exact_values() -> None:
    body = json.loads(store.session_patch_body(
        document(3), ("kwh", "charging_periods", "status", "kwh", "last_updated"), 2),
        parse_float=Decimal)
    assert list(body) == ["kwh", "charging_periods", "status", "last_updated"]
    assert body["kwh"] == Decimal("12.3456789012345678901")
    assert [p["start_date_time"] for p in body["charging_periods"]] == ["2026-03-02T11:02:00Z"]
    assert body["status"] == "COMPLETED"
    assert body["last_updated"] == "2015-06-29T23:50:17Z"


def test_a_patch_without_new_periods_leaves_them_out_and_nulls_what_is_gone() -> None:
    body = json.loads(store.session_patch_body(
        document(2), ("charging_periods", "total_cost", "end_date_time"), 2))
    assert body == {"total_cost": body["total_cost"], "end_date_time": "2015-06-29T23:50:16Z",
                    "last_updated": "2015-06-29T23:50:17Z"}
    raw = json.loads(document(0))
    raw.pop("total_cost")
    body = json.loads(store.session_patch_body(json.dumps(raw).encode(), ("total_cost",), 0))
    assert body == {"total_cost": None, "last_updated": "2015-06-29T23:50:17Z"}


def test_period_count() -> None:
    assert store.period_count(document(4)) == 4
    raw = json.loads(document(0))
    raw.pop("charging_periods")
    assert store.period_count(json.dumps(raw).encode()) == 0


def test_patch_bodies_are_valid_session_patches() -> None:
    from sidecar.ocpi.patch import apply_patch, decode_patch

    base = codec.decode(document(2), Session)
    patched = apply_patch(base, decode_patch(
        store.session_patch_body(document(3), ("charging_periods", "kwh"), 2), Session))
    assert patched == codec.decode(document(3), Session)


async def stored_session(database: Database, transaction_id: str = "TX1") -> int:
    async with database.write() as connection:
        return await store.insert_session(
            connection, country_code="nl", party_id="cpa", transaction_id=transaction_id,
            partner_id=None, status="ACTIVE", document=document(1), state=b"s0",
            last_updated=T0)


async def test_sessions_are_loaded_written_and_their_readings_kept_in_order(
    database: Database
) -> None:
    first = await stored_session(database, "TX1")
    second = await stored_session(database, "TX2")
    async with database.write() as connection:
        await store.add_meter_values(connection, [
            (first, T0 + timedelta(seconds=20), b"r2", b"p2"),
            (first, T0 + timedelta(seconds=10), b"r1", b"p1"),
            (second, T0, b"x", b"y")])
        await store.update_sessions(connection, [
            store.SessionWrite(first, None, "COMPLETED", document(2), b"s1",
                               T0 + timedelta(minutes=1)),
            store.SessionWrite(second, None, "ACTIVE", document(3), b"s2", T0)])
    async with database.read() as connection:
        rows = await store.load_sessions(connection, ["TX2", "TX1", "TX9"], lock=False)
        readings = await store.readings_of(connection, first)
        after = await store.readings_after(connection, {first: 0, second: 3})
    assert sorted(rows) == ["TX1", "TX2"]
    assert (rows["TX1"].country_code, rows["TX1"].status, rows["TX1"].state) == (
        "NL", "COMPLETED", b"s1")
    assert store.period_count(rows["TX2"].document) == 3
    assert [reading for _, reading in readings] == [b"r1", b"r2"]
    assert [reading for _, reading in after[first]] == [b"r2", b"r1"]  # in arrival order
    assert after[second] == []


async def test_delivered_periods_are_kept_per_partner(database: Database) -> None:
    await stored_session(database)
    async with database.write() as connection:
        await store.mark_delivered(connection, "NL", "CPA", "TX1", 1, 3)
        await store.mark_delivered(connection, "nl", "cpa", "TX1", 2, 1)
        await store.mark_delivered(connection, "NL", "CPA", "TX1", 1, 4)
        await store.mark_delivered(connection, "NL", "CPA", "NOPE", 1, 4)
    async with database.read() as connection:
        counts = [await store.delivered_periods(connection, "NL", "CPA", "TX1", partner)
                  for partner in (1, 2, 3)]
        unknown = await store.delivered_periods(connection, "NL", "CPA", "NOPE", 1)
    assert counts == [4, 1, 0] and unknown == 0


async def test_a_partner_finds_only_its_own_session(database: Database) -> None:
    async with database.write() as connection:
        owner = await insert_partner(connection, status=REGISTERED, versions_url="u",
                                     endpoints=[], roles=[])
        await store.insert_session(
            connection, country_code="NL", party_id="CPA", transaction_id="TX1",
            partner_id=owner, status="ACTIVE", document=document(), state=b"",
            last_updated=T0)
    async with database.read() as connection:
        assert (await store.partner_session(connection, "TX1", owner)) is not None
        assert await store.partner_session(connection, "TX1", owner + 1) is None
        assert await store.partner_session(connection, "TX1", owner, ("BE", "CPB")) is None


async def test_idempotency_keys_replay_or_conflict(database: Database) -> None:
    digest = idempotency.payload_hash("Start", b"payload")
    async with database.write() as connection:
        await idempotency.record_keys(connection, [("k1", "Start", digest, b"answer")], T0)
    async with database.read() as connection:
        found = await idempotency.find_keys(connection, ["k1", "k2"])
        stored = await idempotency.find_key(connection, "k1")
    assert list(found) == ["k1"]
    assert idempotency.replayed(stored, "Start", digest, "key") == b"answer"
    assert idempotency.replayed(None, "Start", digest, "key") is None
    for method, other in (("Start", idempotency.payload_hash("Start", b"x")), ("End", digest)):
        with pytest.raises(Conflict, match="^key: used before with a different payload"):
            idempotency.replayed(stored, method, other, "key")


async def test_a_cdr_is_written_once(database: Database) -> None:
    cdr = codec.decode((EXAMPLES / "cdr_example.json").read_bytes(), CDR)
    async with database.write() as connection:
        first = await cdrs.add_cdr(connection, cdr, transaction_id="TX1", partner_id=None)
        second = await cdrs.add_cdr(connection, msgspec.structs.replace(cdr, remark="changed"),
                                    transaction_id="TX1", partner_id=None)
    async with database.read() as connection:
        stored = await cdrs.cdr_of_transaction(connection, "TX1")
    assert (first, second) == (True, False)
    assert stored is not None and codec.decode(stored, CDR) == cdr
