import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ocpi_sidecar.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParkingType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARKING_TYPE_UNSPECIFIED: _ClassVar[ParkingType]
    PARKING_TYPE_ALONG_MOTORWAY: _ClassVar[ParkingType]
    PARKING_TYPE_PARKING_GARAGE: _ClassVar[ParkingType]
    PARKING_TYPE_PARKING_LOT: _ClassVar[ParkingType]
    PARKING_TYPE_ON_DRIVEWAY: _ClassVar[ParkingType]
    PARKING_TYPE_ON_STREET: _ClassVar[ParkingType]
    PARKING_TYPE_UNDERGROUND_GARAGE: _ClassVar[ParkingType]

class Facility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACILITY_UNSPECIFIED: _ClassVar[Facility]
    FACILITY_HOTEL: _ClassVar[Facility]
    FACILITY_RESTAURANT: _ClassVar[Facility]
    FACILITY_CAFE: _ClassVar[Facility]
    FACILITY_MALL: _ClassVar[Facility]
    FACILITY_SUPERMARKET: _ClassVar[Facility]
    FACILITY_SPORT: _ClassVar[Facility]
    FACILITY_RECREATION_AREA: _ClassVar[Facility]
    FACILITY_NATURE: _ClassVar[Facility]
    FACILITY_MUSEUM: _ClassVar[Facility]
    FACILITY_BIKE_SHARING: _ClassVar[Facility]
    FACILITY_BUS_STOP: _ClassVar[Facility]
    FACILITY_TAXI_STAND: _ClassVar[Facility]
    FACILITY_TRAM_STOP: _ClassVar[Facility]
    FACILITY_METRO_STATION: _ClassVar[Facility]
    FACILITY_TRAIN_STATION: _ClassVar[Facility]
    FACILITY_AIRPORT: _ClassVar[Facility]
    FACILITY_PARKING_LOT: _ClassVar[Facility]
    FACILITY_CARPOOL_PARKING: _ClassVar[Facility]
    FACILITY_FUEL_STATION: _ClassVar[Facility]
    FACILITY_WIFI: _ClassVar[Facility]

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_CHARGING_PROFILE_CAPABLE: _ClassVar[Capability]
    CAPABILITY_CHARGING_PREFERENCES_CAPABLE: _ClassVar[Capability]
    CAPABILITY_CHIP_CARD_SUPPORT: _ClassVar[Capability]
    CAPABILITY_CONTACTLESS_CARD_SUPPORT: _ClassVar[Capability]
    CAPABILITY_CREDIT_CARD_PAYABLE: _ClassVar[Capability]
    CAPABILITY_DEBIT_CARD_PAYABLE: _ClassVar[Capability]
    CAPABILITY_PED_TERMINAL: _ClassVar[Capability]
    CAPABILITY_REMOTE_START_STOP_CAPABLE: _ClassVar[Capability]
    CAPABILITY_RESERVABLE: _ClassVar[Capability]
    CAPABILITY_RFID_READER: _ClassVar[Capability]
    CAPABILITY_START_SESSION_CONNECTOR_REQUIRED: _ClassVar[Capability]
    CAPABILITY_TOKEN_GROUP_CAPABLE: _ClassVar[Capability]
    CAPABILITY_UNLOCK_CAPABLE: _ClassVar[Capability]

class ParkingRestriction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARKING_RESTRICTION_UNSPECIFIED: _ClassVar[ParkingRestriction]
    PARKING_RESTRICTION_EV_ONLY: _ClassVar[ParkingRestriction]
    PARKING_RESTRICTION_PLUGGED: _ClassVar[ParkingRestriction]
    PARKING_RESTRICTION_DISABLED: _ClassVar[ParkingRestriction]
    PARKING_RESTRICTION_CUSTOMERS: _ClassVar[ParkingRestriction]
    PARKING_RESTRICTION_MOTORCYCLES: _ClassVar[ParkingRestriction]

class ConnectorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTOR_TYPE_UNSPECIFIED: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_CHADEMO: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_CHAOJI: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_A: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_B: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_C: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_D: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_E: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_F: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_G: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_H: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_I: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_J: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_K: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_L: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_M: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_N: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_DOMESTIC_O: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_GBT_AC: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_GBT_DC: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_60309_2_SINGLE_16: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_60309_2_THREE_16: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_60309_2_THREE_32: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_60309_2_THREE_64: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_62196_T1: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_62196_T1_COMBO: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_62196_T2: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_62196_T2_COMBO: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_62196_T3A: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_IEC_62196_T3C: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_5_20: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_6_30: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_6_50: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_10_30: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_10_50: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_14_30: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_NEMA_14_50: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_PANTOGRAPH_BOTTOM_UP: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_PANTOGRAPH_TOP_DOWN: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_TESLA_R: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_TESLA_S: _ClassVar[ConnectorType]

class ConnectorFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTOR_FORMAT_UNSPECIFIED: _ClassVar[ConnectorFormat]
    CONNECTOR_FORMAT_SOCKET: _ClassVar[ConnectorFormat]
    CONNECTOR_FORMAT_CABLE: _ClassVar[ConnectorFormat]

class PowerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POWER_TYPE_UNSPECIFIED: _ClassVar[PowerType]
    POWER_TYPE_AC_1_PHASE: _ClassVar[PowerType]
    POWER_TYPE_AC_2_PHASE: _ClassVar[PowerType]
    POWER_TYPE_AC_2_PHASE_SPLIT: _ClassVar[PowerType]
    POWER_TYPE_AC_3_PHASE: _ClassVar[PowerType]
    POWER_TYPE_DC: _ClassVar[PowerType]

class EvseStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVSE_STATUS_UNSPECIFIED: _ClassVar[EvseStatus]
    EVSE_STATUS_AVAILABLE: _ClassVar[EvseStatus]
    EVSE_STATUS_BLOCKED: _ClassVar[EvseStatus]
    EVSE_STATUS_CHARGING: _ClassVar[EvseStatus]
    EVSE_STATUS_INOPERATIVE: _ClassVar[EvseStatus]
    EVSE_STATUS_OUTOFORDER: _ClassVar[EvseStatus]
    EVSE_STATUS_PLANNED: _ClassVar[EvseStatus]
    EVSE_STATUS_REMOVED: _ClassVar[EvseStatus]
    EVSE_STATUS_RESERVED: _ClassVar[EvseStatus]
    EVSE_STATUS_UNKNOWN: _ClassVar[EvseStatus]

class Ocpp16ChargePointStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OCPP16_CHARGE_POINT_STATUS_UNSPECIFIED: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_AVAILABLE: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_PREPARING: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_CHARGING: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_SUSPENDED_EV: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_SUSPENDED_EVSE: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_FINISHING: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_RESERVED: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_UNAVAILABLE: _ClassVar[Ocpp16ChargePointStatus]
    OCPP16_CHARGE_POINT_STATUS_FAULTED: _ClassVar[Ocpp16ChargePointStatus]

class Ocpp201ConnectorStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OCPP201_CONNECTOR_STATUS_UNSPECIFIED: _ClassVar[Ocpp201ConnectorStatus]
    OCPP201_CONNECTOR_STATUS_AVAILABLE: _ClassVar[Ocpp201ConnectorStatus]
    OCPP201_CONNECTOR_STATUS_OCCUPIED: _ClassVar[Ocpp201ConnectorStatus]
    OCPP201_CONNECTOR_STATUS_RESERVED: _ClassVar[Ocpp201ConnectorStatus]
    OCPP201_CONNECTOR_STATUS_UNAVAILABLE: _ClassVar[Ocpp201ConnectorStatus]
    OCPP201_CONNECTOR_STATUS_FAULTED: _ClassVar[Ocpp201ConnectorStatus]
PARKING_TYPE_UNSPECIFIED: ParkingType
PARKING_TYPE_ALONG_MOTORWAY: ParkingType
PARKING_TYPE_PARKING_GARAGE: ParkingType
PARKING_TYPE_PARKING_LOT: ParkingType
PARKING_TYPE_ON_DRIVEWAY: ParkingType
PARKING_TYPE_ON_STREET: ParkingType
PARKING_TYPE_UNDERGROUND_GARAGE: ParkingType
FACILITY_UNSPECIFIED: Facility
FACILITY_HOTEL: Facility
FACILITY_RESTAURANT: Facility
FACILITY_CAFE: Facility
FACILITY_MALL: Facility
FACILITY_SUPERMARKET: Facility
FACILITY_SPORT: Facility
FACILITY_RECREATION_AREA: Facility
FACILITY_NATURE: Facility
FACILITY_MUSEUM: Facility
FACILITY_BIKE_SHARING: Facility
FACILITY_BUS_STOP: Facility
FACILITY_TAXI_STAND: Facility
FACILITY_TRAM_STOP: Facility
FACILITY_METRO_STATION: Facility
FACILITY_TRAIN_STATION: Facility
FACILITY_AIRPORT: Facility
FACILITY_PARKING_LOT: Facility
FACILITY_CARPOOL_PARKING: Facility
FACILITY_FUEL_STATION: Facility
FACILITY_WIFI: Facility
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_CHARGING_PROFILE_CAPABLE: Capability
CAPABILITY_CHARGING_PREFERENCES_CAPABLE: Capability
CAPABILITY_CHIP_CARD_SUPPORT: Capability
CAPABILITY_CONTACTLESS_CARD_SUPPORT: Capability
CAPABILITY_CREDIT_CARD_PAYABLE: Capability
CAPABILITY_DEBIT_CARD_PAYABLE: Capability
CAPABILITY_PED_TERMINAL: Capability
CAPABILITY_REMOTE_START_STOP_CAPABLE: Capability
CAPABILITY_RESERVABLE: Capability
CAPABILITY_RFID_READER: Capability
CAPABILITY_START_SESSION_CONNECTOR_REQUIRED: Capability
CAPABILITY_TOKEN_GROUP_CAPABLE: Capability
CAPABILITY_UNLOCK_CAPABLE: Capability
PARKING_RESTRICTION_UNSPECIFIED: ParkingRestriction
PARKING_RESTRICTION_EV_ONLY: ParkingRestriction
PARKING_RESTRICTION_PLUGGED: ParkingRestriction
PARKING_RESTRICTION_DISABLED: ParkingRestriction
PARKING_RESTRICTION_CUSTOMERS: ParkingRestriction
PARKING_RESTRICTION_MOTORCYCLES: ParkingRestriction
CONNECTOR_TYPE_UNSPECIFIED: ConnectorType
CONNECTOR_TYPE_CHADEMO: ConnectorType
CONNECTOR_TYPE_CHAOJI: ConnectorType
CONNECTOR_TYPE_DOMESTIC_A: ConnectorType
CONNECTOR_TYPE_DOMESTIC_B: ConnectorType
CONNECTOR_TYPE_DOMESTIC_C: ConnectorType
CONNECTOR_TYPE_DOMESTIC_D: ConnectorType
CONNECTOR_TYPE_DOMESTIC_E: ConnectorType
CONNECTOR_TYPE_DOMESTIC_F: ConnectorType
CONNECTOR_TYPE_DOMESTIC_G: ConnectorType
CONNECTOR_TYPE_DOMESTIC_H: ConnectorType
CONNECTOR_TYPE_DOMESTIC_I: ConnectorType
CONNECTOR_TYPE_DOMESTIC_J: ConnectorType
CONNECTOR_TYPE_DOMESTIC_K: ConnectorType
CONNECTOR_TYPE_DOMESTIC_L: ConnectorType
CONNECTOR_TYPE_DOMESTIC_M: ConnectorType
CONNECTOR_TYPE_DOMESTIC_N: ConnectorType
CONNECTOR_TYPE_DOMESTIC_O: ConnectorType
CONNECTOR_TYPE_GBT_AC: ConnectorType
CONNECTOR_TYPE_GBT_DC: ConnectorType
CONNECTOR_TYPE_IEC_60309_2_SINGLE_16: ConnectorType
CONNECTOR_TYPE_IEC_60309_2_THREE_16: ConnectorType
CONNECTOR_TYPE_IEC_60309_2_THREE_32: ConnectorType
CONNECTOR_TYPE_IEC_60309_2_THREE_64: ConnectorType
CONNECTOR_TYPE_IEC_62196_T1: ConnectorType
CONNECTOR_TYPE_IEC_62196_T1_COMBO: ConnectorType
CONNECTOR_TYPE_IEC_62196_T2: ConnectorType
CONNECTOR_TYPE_IEC_62196_T2_COMBO: ConnectorType
CONNECTOR_TYPE_IEC_62196_T3A: ConnectorType
CONNECTOR_TYPE_IEC_62196_T3C: ConnectorType
CONNECTOR_TYPE_NEMA_5_20: ConnectorType
CONNECTOR_TYPE_NEMA_6_30: ConnectorType
CONNECTOR_TYPE_NEMA_6_50: ConnectorType
CONNECTOR_TYPE_NEMA_10_30: ConnectorType
CONNECTOR_TYPE_NEMA_10_50: ConnectorType
CONNECTOR_TYPE_NEMA_14_30: ConnectorType
CONNECTOR_TYPE_NEMA_14_50: ConnectorType
CONNECTOR_TYPE_PANTOGRAPH_BOTTOM_UP: ConnectorType
CONNECTOR_TYPE_PANTOGRAPH_TOP_DOWN: ConnectorType
CONNECTOR_TYPE_TESLA_R: ConnectorType
CONNECTOR_TYPE_TESLA_S: ConnectorType
CONNECTOR_FORMAT_UNSPECIFIED: ConnectorFormat
CONNECTOR_FORMAT_SOCKET: ConnectorFormat
CONNECTOR_FORMAT_CABLE: ConnectorFormat
POWER_TYPE_UNSPECIFIED: PowerType
POWER_TYPE_AC_1_PHASE: PowerType
POWER_TYPE_AC_2_PHASE: PowerType
POWER_TYPE_AC_2_PHASE_SPLIT: PowerType
POWER_TYPE_AC_3_PHASE: PowerType
POWER_TYPE_DC: PowerType
EVSE_STATUS_UNSPECIFIED: EvseStatus
EVSE_STATUS_AVAILABLE: EvseStatus
EVSE_STATUS_BLOCKED: EvseStatus
EVSE_STATUS_CHARGING: EvseStatus
EVSE_STATUS_INOPERATIVE: EvseStatus
EVSE_STATUS_OUTOFORDER: EvseStatus
EVSE_STATUS_PLANNED: EvseStatus
EVSE_STATUS_REMOVED: EvseStatus
EVSE_STATUS_RESERVED: EvseStatus
EVSE_STATUS_UNKNOWN: EvseStatus
OCPP16_CHARGE_POINT_STATUS_UNSPECIFIED: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_AVAILABLE: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_PREPARING: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_CHARGING: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_SUSPENDED_EV: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_SUSPENDED_EVSE: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_FINISHING: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_RESERVED: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_UNAVAILABLE: Ocpp16ChargePointStatus
OCPP16_CHARGE_POINT_STATUS_FAULTED: Ocpp16ChargePointStatus
OCPP201_CONNECTOR_STATUS_UNSPECIFIED: Ocpp201ConnectorStatus
OCPP201_CONNECTOR_STATUS_AVAILABLE: Ocpp201ConnectorStatus
OCPP201_CONNECTOR_STATUS_OCCUPIED: Ocpp201ConnectorStatus
OCPP201_CONNECTOR_STATUS_RESERVED: Ocpp201ConnectorStatus
OCPP201_CONNECTOR_STATUS_UNAVAILABLE: Ocpp201ConnectorStatus
OCPP201_CONNECTOR_STATUS_FAULTED: Ocpp201ConnectorStatus

class PublishToken(_message.Message):
    __slots__ = ("uid", "type", "visual_number", "issuer", "group_id")
    UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VISUAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    uid: str
    type: _common_pb2.TokenType
    visual_number: str
    issuer: str
    group_id: str
    def __init__(self, uid: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.TokenType, str]] = ..., visual_number: _Optional[str] = ..., issuer: _Optional[str] = ..., group_id: _Optional[str] = ...) -> None: ...

class AdditionalGeoLocation(_message.Message):
    __slots__ = ("latitude", "longitude", "name")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    latitude: str
    longitude: str
    name: _common_pb2.DisplayText
    def __init__(self, latitude: _Optional[str] = ..., longitude: _Optional[str] = ..., name: _Optional[_Union[_common_pb2.DisplayText, _Mapping]] = ...) -> None: ...

class RegularHours(_message.Message):
    __slots__ = ("weekday", "period_begin", "period_end")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_BEGIN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    period_begin: str
    period_end: str
    def __init__(self, weekday: _Optional[int] = ..., period_begin: _Optional[str] = ..., period_end: _Optional[str] = ...) -> None: ...

class ExceptionalPeriod(_message.Message):
    __slots__ = ("period_begin", "period_end")
    PERIOD_BEGIN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    period_begin: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, period_begin: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Hours(_message.Message):
    __slots__ = ("twentyfourseven", "regular_hours", "exceptional_openings", "exceptional_closings")
    TWENTYFOURSEVEN_FIELD_NUMBER: _ClassVar[int]
    REGULAR_HOURS_FIELD_NUMBER: _ClassVar[int]
    EXCEPTIONAL_OPENINGS_FIELD_NUMBER: _ClassVar[int]
    EXCEPTIONAL_CLOSINGS_FIELD_NUMBER: _ClassVar[int]
    twentyfourseven: bool
    regular_hours: _containers.RepeatedCompositeFieldContainer[RegularHours]
    exceptional_openings: _containers.RepeatedCompositeFieldContainer[ExceptionalPeriod]
    exceptional_closings: _containers.RepeatedCompositeFieldContainer[ExceptionalPeriod]
    def __init__(self, twentyfourseven: _Optional[bool] = ..., regular_hours: _Optional[_Iterable[_Union[RegularHours, _Mapping]]] = ..., exceptional_openings: _Optional[_Iterable[_Union[ExceptionalPeriod, _Mapping]]] = ..., exceptional_closings: _Optional[_Iterable[_Union[ExceptionalPeriod, _Mapping]]] = ...) -> None: ...

class StatusSchedule(_message.Message):
    __slots__ = ("period_begin", "period_end", "status")
    PERIOD_BEGIN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    period_begin: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    status: EvseStatus
    def __init__(self, period_begin: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[EvseStatus, str]] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("id", "party", "publish", "publish_allowed_to", "name", "address", "city", "postal_code", "state", "country", "coordinates", "related_locations", "parking_type", "evses", "directions", "operator", "suboperator", "owner", "facilities", "time_zone", "opening_times", "charging_when_closed", "images", "energy_mix", "last_updated")
    ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_ALLOWED_TO_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    COORDINATES_FIELD_NUMBER: _ClassVar[int]
    RELATED_LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    PARKING_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVSES_FIELD_NUMBER: _ClassVar[int]
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    SUBOPERATOR_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FACILITIES_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    OPENING_TIMES_FIELD_NUMBER: _ClassVar[int]
    CHARGING_WHEN_CLOSED_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_MIX_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    party: _common_pb2.PartyRef
    publish: bool
    publish_allowed_to: _containers.RepeatedCompositeFieldContainer[PublishToken]
    name: str
    address: str
    city: str
    postal_code: str
    state: str
    country: str
    coordinates: _common_pb2.GeoLocation
    related_locations: _containers.RepeatedCompositeFieldContainer[AdditionalGeoLocation]
    parking_type: ParkingType
    evses: _containers.RepeatedCompositeFieldContainer[Evse]
    directions: _containers.RepeatedCompositeFieldContainer[_common_pb2.DisplayText]
    operator: _common_pb2.BusinessDetails
    suboperator: _common_pb2.BusinessDetails
    owner: _common_pb2.BusinessDetails
    facilities: _containers.RepeatedScalarFieldContainer[Facility]
    time_zone: str
    opening_times: Hours
    charging_when_closed: bool
    images: _containers.RepeatedCompositeFieldContainer[_common_pb2.Image]
    energy_mix: _common_pb2.EnergyMix
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., party: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ..., publish: _Optional[bool] = ..., publish_allowed_to: _Optional[_Iterable[_Union[PublishToken, _Mapping]]] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., city: _Optional[str] = ..., postal_code: _Optional[str] = ..., state: _Optional[str] = ..., country: _Optional[str] = ..., coordinates: _Optional[_Union[_common_pb2.GeoLocation, _Mapping]] = ..., related_locations: _Optional[_Iterable[_Union[AdditionalGeoLocation, _Mapping]]] = ..., parking_type: _Optional[_Union[ParkingType, str]] = ..., evses: _Optional[_Iterable[_Union[Evse, _Mapping]]] = ..., directions: _Optional[_Iterable[_Union[_common_pb2.DisplayText, _Mapping]]] = ..., operator: _Optional[_Union[_common_pb2.BusinessDetails, _Mapping]] = ..., suboperator: _Optional[_Union[_common_pb2.BusinessDetails, _Mapping]] = ..., owner: _Optional[_Union[_common_pb2.BusinessDetails, _Mapping]] = ..., facilities: _Optional[_Iterable[_Union[Facility, str]]] = ..., time_zone: _Optional[str] = ..., opening_times: _Optional[_Union[Hours, _Mapping]] = ..., charging_when_closed: _Optional[bool] = ..., images: _Optional[_Iterable[_Union[_common_pb2.Image, _Mapping]]] = ..., energy_mix: _Optional[_Union[_common_pb2.EnergyMix, _Mapping]] = ..., last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Evse(_message.Message):
    __slots__ = ("uid", "evse_id", "status", "status_schedules", "capabilities", "connectors", "floor_level", "coordinates", "physical_reference", "directions", "parking_restrictions", "images", "ocpp_charge_point_id", "ocpp_evse_id", "last_updated")
    UID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    FLOOR_LEVEL_FIELD_NUMBER: _ClassVar[int]
    COORDINATES_FIELD_NUMBER: _ClassVar[int]
    PHYSICAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    PARKING_RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    OCPP_CHARGE_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    OCPP_EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    uid: str
    evse_id: str
    status: EvseStatus
    status_schedules: _containers.RepeatedCompositeFieldContainer[StatusSchedule]
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    connectors: _containers.RepeatedCompositeFieldContainer[Connector]
    floor_level: str
    coordinates: _common_pb2.GeoLocation
    physical_reference: str
    directions: _containers.RepeatedCompositeFieldContainer[_common_pb2.DisplayText]
    parking_restrictions: _containers.RepeatedScalarFieldContainer[ParkingRestriction]
    images: _containers.RepeatedCompositeFieldContainer[_common_pb2.Image]
    ocpp_charge_point_id: str
    ocpp_evse_id: int
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, uid: _Optional[str] = ..., evse_id: _Optional[str] = ..., status: _Optional[_Union[EvseStatus, str]] = ..., status_schedules: _Optional[_Iterable[_Union[StatusSchedule, _Mapping]]] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., connectors: _Optional[_Iterable[_Union[Connector, _Mapping]]] = ..., floor_level: _Optional[str] = ..., coordinates: _Optional[_Union[_common_pb2.GeoLocation, _Mapping]] = ..., physical_reference: _Optional[str] = ..., directions: _Optional[_Iterable[_Union[_common_pb2.DisplayText, _Mapping]]] = ..., parking_restrictions: _Optional[_Iterable[_Union[ParkingRestriction, str]]] = ..., images: _Optional[_Iterable[_Union[_common_pb2.Image, _Mapping]]] = ..., ocpp_charge_point_id: _Optional[str] = ..., ocpp_evse_id: _Optional[int] = ..., last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Connector(_message.Message):
    __slots__ = ("id", "standard", "format", "power_type", "max_voltage", "max_amperage", "max_electric_power", "tariff_ids", "terms_and_conditions", "ocpp_connector_id", "last_updated")
    ID_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    POWER_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_VOLTAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_AMPERAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_ELECTRIC_POWER_FIELD_NUMBER: _ClassVar[int]
    TARIFF_IDS_FIELD_NUMBER: _ClassVar[int]
    TERMS_AND_CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OCPP_CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int
    tariff_ids: _containers.RepeatedScalarFieldContainer[str]
    terms_and_conditions: str
    ocpp_connector_id: int
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., standard: _Optional[_Union[ConnectorType, str]] = ..., format: _Optional[_Union[ConnectorFormat, str]] = ..., power_type: _Optional[_Union[PowerType, str]] = ..., max_voltage: _Optional[int] = ..., max_amperage: _Optional[int] = ..., max_electric_power: _Optional[int] = ..., tariff_ids: _Optional[_Iterable[str]] = ..., terms_and_conditions: _Optional[str] = ..., ocpp_connector_id: _Optional[int] = ..., last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OcppAddress(_message.Message):
    __slots__ = ("charge_point_id", "evse_id", "connector_id")
    CHARGE_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    charge_point_id: str
    evse_id: int
    connector_id: int
    def __init__(self, charge_point_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ...) -> None: ...

class UpsertLocationRequest(_message.Message):
    __slots__ = ("idempotency_key", "location")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    location: Location
    def __init__(self, idempotency_key: _Optional[str] = ..., location: _Optional[_Union[Location, _Mapping]] = ...) -> None: ...

class UpsertLocationResponse(_message.Message):
    __slots__ = ("last_updated",)
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertEvseRequest(_message.Message):
    __slots__ = ("idempotency_key", "location_id", "evse")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    location_id: str
    evse: Evse
    def __init__(self, idempotency_key: _Optional[str] = ..., location_id: _Optional[str] = ..., evse: _Optional[_Union[Evse, _Mapping]] = ...) -> None: ...

class UpsertEvseResponse(_message.Message):
    __slots__ = ("last_updated",)
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertConnectorRequest(_message.Message):
    __slots__ = ("idempotency_key", "location_id", "evse_uid", "connector")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    location_id: str
    evse_uid: str
    connector: Connector
    def __init__(self, idempotency_key: _Optional[str] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector: _Optional[_Union[Connector, _Mapping]] = ...) -> None: ...

class UpsertConnectorResponse(_message.Message):
    __slots__ = ("last_updated",)
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RemoveEvseRequest(_message.Message):
    __slots__ = ("idempotency_key", "location_id", "evse_uid")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    location_id: str
    evse_uid: str
    def __init__(self, idempotency_key: _Optional[str] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ...) -> None: ...

class RemoveEvseResponse(_message.Message):
    __slots__ = ("last_updated",)
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetEvseStatusRequest(_message.Message):
    __slots__ = ("idempotency_key", "location_id", "evse_uid", "timestamp", "ocpp16_status", "ocpp201_status", "ocpi_status")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    OCPP16_STATUS_FIELD_NUMBER: _ClassVar[int]
    OCPP201_STATUS_FIELD_NUMBER: _ClassVar[int]
    OCPI_STATUS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    location_id: str
    evse_uid: str
    timestamp: _timestamp_pb2.Timestamp
    ocpp16_status: Ocpp16ChargePointStatus
    ocpp201_status: Ocpp201ConnectorStatus
    ocpi_status: EvseStatus
    def __init__(self, idempotency_key: _Optional[str] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ocpp16_status: _Optional[_Union[Ocpp16ChargePointStatus, str]] = ..., ocpp201_status: _Optional[_Union[Ocpp201ConnectorStatus, str]] = ..., ocpi_status: _Optional[_Union[EvseStatus, str]] = ...) -> None: ...

class SetEvseStatusResponse(_message.Message):
    __slots__ = ("evse_status",)
    EVSE_STATUS_FIELD_NUMBER: _ClassVar[int]
    evse_status: EvseStatus
    def __init__(self, evse_status: _Optional[_Union[EvseStatus, str]] = ...) -> None: ...

class SetConnectorStatusRequest(_message.Message):
    __slots__ = ("idempotency_key", "location_id", "evse_uid", "connector_id", "timestamp", "ocpp16_status", "ocpp201_status", "ocpi_status")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    OCPP16_STATUS_FIELD_NUMBER: _ClassVar[int]
    OCPP201_STATUS_FIELD_NUMBER: _ClassVar[int]
    OCPI_STATUS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    location_id: str
    evse_uid: str
    connector_id: str
    timestamp: _timestamp_pb2.Timestamp
    ocpp16_status: Ocpp16ChargePointStatus
    ocpp201_status: Ocpp201ConnectorStatus
    ocpi_status: EvseStatus
    def __init__(self, idempotency_key: _Optional[str] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ocpp16_status: _Optional[_Union[Ocpp16ChargePointStatus, str]] = ..., ocpp201_status: _Optional[_Union[Ocpp201ConnectorStatus, str]] = ..., ocpi_status: _Optional[_Union[EvseStatus, str]] = ...) -> None: ...

class SetConnectorStatusResponse(_message.Message):
    __slots__ = ("evse_status",)
    EVSE_STATUS_FIELD_NUMBER: _ClassVar[int]
    evse_status: EvseStatus
    def __init__(self, evse_status: _Optional[_Union[EvseStatus, str]] = ...) -> None: ...

class GetLocationRequest(_message.Message):
    __slots__ = ("location_id",)
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    def __init__(self, location_id: _Optional[str] = ...) -> None: ...

class GetLocationResponse(_message.Message):
    __slots__ = ("location",)
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    location: Location
    def __init__(self, location: _Optional[_Union[Location, _Mapping]] = ...) -> None: ...

class ListLocationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "party")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    party: _common_pb2.PartyRef
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., party: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ...) -> None: ...

class ListLocationsResponse(_message.Message):
    __slots__ = ("locations", "next_page_token")
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    locations: _containers.RepeatedCompositeFieldContainer[Location]
    next_page_token: str
    def __init__(self, locations: _Optional[_Iterable[_Union[Location, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
