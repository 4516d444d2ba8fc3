"""Demo data for a first run (`ocpi-sidecar db seed`): a CPO party, a location, a tariff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sidecar.ocpi import codec
from sidecar.ocpi.locations import Location
from sidecar.ocpi.tariffs import Tariff
from sidecar.store import tables
from sidecar.store.documents import put_document
from sidecar.store.engine import Database
from sidecar.store.parties import list_parties, upsert_party
from sidecar.store.schema import upgrade

COUNTRY_CODE = "NL"
PARTY_ID = "SDC"
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _connector(tariff_id: str) -> dict[str, Any]:
    return {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "max_electric_power": 22000,
        "tariff_ids": [tariff_id],
        "last_updated": SEEDED_AT,
    }


def _evse(number: int, tariff_id: str) -> dict[str, Any]:
    return {
        "uid": f"SDC-LOC1-{number}",
        "evse_id": f"NL*SDC*E{number:05d}",
        "status": "AVAILABLE",
        "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
        "connectors": [_connector(tariff_id)],
        "physical_reference": str(number),
        "last_updated": SEEDED_AT,
    }


def demo_location() -> Location:
    """The seeded location: two AC EVSEs in Amsterdam."""
    return codec.convert(
        {
            "country_code": COUNTRY_CODE,
            "party_id": PARTY_ID,
            "id": "LOC1",
            "publish": True,
            "name": "Sidecar demo site",
            "address": "Stationsplein 1",
            "city": "Amsterdam",
            "postal_code": "1012AB",
            "country": "NLD",
            "coordinates": {"latitude": "52.378901", "longitude": "4.900241"},
            "evses": [_evse(1, "TARIFF1"), _evse(2, "TARIFF1")],
            "time_zone": "Europe/Amsterdam",
            "last_updated": SEEDED_AT,
        },
        Location,
    )


def demo_tariff() -> Tariff:
    """The seeded tariff: 0.25 EUR per kWh excl. VAT, 21% VAT."""
    return codec.convert(
        {
            "country_code": COUNTRY_CODE,
            "party_id": PARTY_ID,
            "id": "TARIFF1",
            "currency": "EUR",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 21.0,
                                       "step_size": 1}]}
            ],
            "last_updated": SEEDED_AT,
        },
        Tariff,
    )


async def seed(database: Database) -> list[str]:
    """Upgrade, then add what is missing of the demo data; returns what was added."""
    await upgrade(database)
    added = []
    async with database.write() as connection:
        if not any(
            p.country_code == COUNTRY_CODE and p.party_id == PARTY_ID
            for p in await list_parties(connection)
        ):
            await upsert_party(connection, COUNTRY_CODE, PARTY_ID, {"name": "Sidecar Demo CPO"})
            added.append(f"party {COUNTRY_CODE}/{PARTY_ID}")
        location = demo_location()
        if await put_document(
            connection, tables.locations, country_code=COUNTRY_CODE, party_id=PARTY_ID,
            object_id=location.id, document=codec.encode(location),
            last_updated=location.last_updated, only_new=True, publish=True,
        ):
            added.append(f"location {location.id}")
        tariff = demo_tariff()
        if await put_document(
            connection, tables.tariffs, country_code=COUNTRY_CODE, party_id=PARTY_ID,
            object_id=tariff.id, document=codec.encode(tariff),
            last_updated=tariff.last_updated, only_new=True,
        ):
            added.append(f"tariff {tariff.id}")
    return added
