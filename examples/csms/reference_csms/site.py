"""The site file: what the CSMS publishes, and which OCPP charge point serves which EVSE.

The file is TOML. `[[tariffs]]` and `[[locations]]` are the contract's `Tariff` and `Location`
messages in their protobuf JSON form (snake_case field names, enum value names), so every field
the contract has can be configured without code here. Each EVSE names the OCPP charge point
that serves it (`ocpp_charge_point_id`), its OCPP 2.0.1 `evse.id` (`ocpp_evse_id`, absent for
OCPP 1.6) and each connector its OCPP connectorId (`ocpp_connector_id`): that is the whole
mapping between the two worlds, kept in `Registry`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from ocpi_sidecar.v1 import locations_pb2, tariffs_pb2


@dataclass(frozen=True)
class Place:
    """Where an OCPP (charge point, evse, connector) is in OCPI terms."""

    location_id: str
    evse_uid: str
    connector_id: str


@dataclass(frozen=True)
class OcppTarget:
    """Where an OCPI (location, EVSE, connector) is in OCPP terms. `evse_id` is None for an
    OCPP 1.6 charge point, where each connectorId is presented as its own EVSE."""

    charge_point_id: str
    evse_id: int | None
    connector_id: int


@dataclass
class Registry:
    """Both directions of the mapping, built once from the site's locations."""

    _places: dict[tuple[str, int | None, int], Place] = field(default_factory=dict)
    _targets: dict[tuple[str, str, str], OcppTarget] = field(default_factory=dict)
    _evses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, locations: list[locations_pb2.Location]) -> Registry:
        registry = cls()
        for location in locations:
            for evse in location.evses:
                charge_point = evse.ocpp_charge_point_id
                if not charge_point:
                    raise ValueError(f"locations[{location.id}].evses[{evse.uid}]: "
                                     "ocpp_charge_point_id is required")
                evse_id = evse.ocpp_evse_id if evse.HasField("ocpp_evse_id") else None
                registry._evses.setdefault(charge_point, []).append((location.id, evse.uid))
                for connector in evse.connectors:
                    if not connector.HasField("ocpp_connector_id"):
                        raise ValueError(
                            f"locations[{location.id}].evses[{evse.uid}].connectors"
                            f"[{connector.id}]: ocpp_connector_id is required")
                    place = Place(location.id, evse.uid, connector.id)
                    target = OcppTarget(charge_point, evse_id, connector.ocpp_connector_id)
                    registry._places[(charge_point, evse_id, target.connector_id)] = place
                    registry._targets[(location.id.upper(), evse.uid.upper(),
                                       connector.id.upper())] = target
        return registry

    def place(self, charge_point_id: str, evse_id: int | None, connector_id: int) -> Place:
        """The OCPI place of an OCPP connector; KeyError when the site does not have it."""
        return self._places[(charge_point_id, evse_id, connector_id)]

    def evses_of(self, charge_point_id: str) -> list[tuple[str, str]]:
        """(location_id, evse_uid) of every EVSE the charge point serves."""
        return list(self._evses.get(charge_point_id, []))

    def target(self, location_id: str, evse_uid: str, connector_id: str = "") -> OcppTarget:
        """The OCPP address of an OCPI EVSE (its first connector when none is named);
        KeyError when the site has no such EVSE. OCPI ids compare case-insensitively."""
        wanted = (location_id.upper(), evse_uid.upper())
        for (location, evse, connector), target in self._targets.items():
            if (location, evse) == wanted and connector_id.upper() in ("", connector):
                return target
        raise KeyError((location_id, evse_uid, connector_id))

    def charge_points_of(self, location_id: str) -> list[str]:
        """The charge points serving a location, in site order."""
        seen: list[str] = []
        for charge_point, evses in self._evses.items():
            if any(location.upper() == location_id.upper() for location, _ in evses):
                seen.append(charge_point)
        return seen


@dataclass
class Site:
    sidecar: str
    consumer_id: str
    tariffs: list[tariffs_pb2.Tariff]
    locations: list[locations_pb2.Location]
    registry: Registry

    @classmethod
    def load(cls, path: Path, sidecar: str | None = None) -> Site:
        raw = tomllib.loads(path.read_text())
        return cls.parse(raw, sidecar)

    @classmethod
    def parse(cls, raw: dict[str, Any], sidecar: str | None = None) -> Site:
        settings = raw.get("sidecar", {})
        tariffs = [json_format.ParseDict(t, tariffs_pb2.Tariff()) for t in raw.get("tariffs", [])]
        locations = [json_format.ParseDict(loc, locations_pb2.Location())
                     for loc in raw.get("locations", [])]
        return cls(sidecar=sidecar or settings.get("address", "127.0.0.1:50051"),
                   consumer_id=settings.get("consumer_id", "reference-csms"),
                   tariffs=tariffs, locations=locations, registry=Registry.of(locations))
