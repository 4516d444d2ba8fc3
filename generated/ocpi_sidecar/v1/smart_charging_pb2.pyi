import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ocpi_sidecar.v1 import common_pb2 as _common_pb2
from ocpi_sidecar.v1 import locations_pb2 as _locations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChargingProfileRequestKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGING_PROFILE_REQUEST_KIND_UNSPECIFIED: _ClassVar[ChargingProfileRequestKind]
    CHARGING_PROFILE_REQUEST_KIND_SET: _ClassVar[ChargingProfileRequestKind]
    CHARGING_PROFILE_REQUEST_KIND_GET_ACTIVE: _ClassVar[ChargingProfileRequestKind]
    CHARGING_PROFILE_REQUEST_KIND_CLEAR: _ClassVar[ChargingProfileRequestKind]

class ChargingRateUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGING_RATE_UNIT_UNSPECIFIED: _ClassVar[ChargingRateUnit]
    CHARGING_RATE_UNIT_W: _ClassVar[ChargingRateUnit]
    CHARGING_RATE_UNIT_A: _ClassVar[ChargingRateUnit]

class ChargingProfileResultType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGING_PROFILE_RESULT_TYPE_UNSPECIFIED: _ClassVar[ChargingProfileResultType]
    CHARGING_PROFILE_RESULT_TYPE_ACCEPTED: _ClassVar[ChargingProfileResultType]
    CHARGING_PROFILE_RESULT_TYPE_REJECTED: _ClassVar[ChargingProfileResultType]
    CHARGING_PROFILE_RESULT_TYPE_UNKNOWN: _ClassVar[ChargingProfileResultType]
CHARGING_PROFILE_REQUEST_KIND_UNSPECIFIED: ChargingProfileRequestKind
CHARGING_PROFILE_REQUEST_KIND_SET: ChargingProfileRequestKind
CHARGING_PROFILE_REQUEST_KIND_GET_ACTIVE: ChargingProfileRequestKind
CHARGING_PROFILE_REQUEST_KIND_CLEAR: ChargingProfileRequestKind
CHARGING_RATE_UNIT_UNSPECIFIED: ChargingRateUnit
CHARGING_RATE_UNIT_W: ChargingRateUnit
CHARGING_RATE_UNIT_A: ChargingRateUnit
CHARGING_PROFILE_RESULT_TYPE_UNSPECIFIED: ChargingProfileResultType
CHARGING_PROFILE_RESULT_TYPE_ACCEPTED: ChargingProfileResultType
CHARGING_PROFILE_RESULT_TYPE_REJECTED: ChargingProfileResultType
CHARGING_PROFILE_RESULT_TYPE_UNKNOWN: ChargingProfileResultType

class ChargingProfilePeriod(_message.Message):
    __slots__ = ("start_period", "limit")
    START_PERIOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    start_period: int
    limit: str
    def __init__(self, start_period: _Optional[int] = ..., limit: _Optional[str] = ...) -> None: ...

class ChargingProfile(_message.Message):
    __slots__ = ("start_date_time", "duration", "charging_rate_unit", "min_charging_rate", "periods")
    START_DATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    CHARGING_RATE_UNIT_FIELD_NUMBER: _ClassVar[int]
    MIN_CHARGING_RATE_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    start_date_time: _timestamp_pb2.Timestamp
    duration: int
    charging_rate_unit: ChargingRateUnit
    min_charging_rate: str
    periods: _containers.RepeatedCompositeFieldContainer[ChargingProfilePeriod]
    def __init__(self, start_date_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[int] = ..., charging_rate_unit: _Optional[_Union[ChargingRateUnit, str]] = ..., min_charging_rate: _Optional[str] = ..., periods: _Optional[_Iterable[_Union[ChargingProfilePeriod, _Mapping]]] = ...) -> None: ...

class ActiveChargingProfile(_message.Message):
    __slots__ = ("start_date_time", "charging_profile")
    START_DATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CHARGING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    start_date_time: _timestamp_pb2.Timestamp
    charging_profile: ChargingProfile
    def __init__(self, start_date_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charging_profile: _Optional[_Union[ChargingProfile, _Mapping]] = ...) -> None: ...

class SetChargingProfile(_message.Message):
    __slots__ = ("charging_profile",)
    CHARGING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    charging_profile: ChargingProfile
    def __init__(self, charging_profile: _Optional[_Union[ChargingProfile, _Mapping]] = ...) -> None: ...

class GetActiveChargingProfile(_message.Message):
    __slots__ = ("duration",)
    DURATION_FIELD_NUMBER: _ClassVar[int]
    duration: int
    def __init__(self, duration: _Optional[int] = ...) -> None: ...

class ClearChargingProfile(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChargingProfileRequest(_message.Message):
    __slots__ = ("request_id", "kind", "session_id", "transaction_id", "requested_by", "created_at", "deadline", "delivery_count", "location_id", "evse_uid", "connector_id", "ocpp_address", "set", "get_active", "clear")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCPP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    GET_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    kind: ChargingProfileRequestKind
    session_id: str
    transaction_id: str
    requested_by: _common_pb2.PartyRef
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    delivery_count: int
    location_id: str
    evse_uid: str
    connector_id: str
    ocpp_address: _locations_pb2.OcppAddress
    set: SetChargingProfile
    get_active: GetActiveChargingProfile
    clear: ClearChargingProfile
    def __init__(self, request_id: _Optional[str] = ..., kind: _Optional[_Union[ChargingProfileRequestKind, str]] = ..., session_id: _Optional[str] = ..., transaction_id: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivery_count: _Optional[int] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector_id: _Optional[str] = ..., ocpp_address: _Optional[_Union[_locations_pb2.OcppAddress, _Mapping]] = ..., set: _Optional[_Union[SetChargingProfile, _Mapping]] = ..., get_active: _Optional[_Union[GetActiveChargingProfile, _Mapping]] = ..., clear: _Optional[_Union[ClearChargingProfile, _Mapping]] = ...) -> None: ...

class WatchChargingProfileRequestsRequest(_message.Message):
    __slots__ = ("consumer_id",)
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    consumer_id: str
    def __init__(self, consumer_id: _Optional[str] = ...) -> None: ...

class WatchChargingProfileRequestsResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ChargingProfileRequest
    def __init__(self, request: _Optional[_Union[ChargingProfileRequest, _Mapping]] = ...) -> None: ...

class ReportChargingProfileResultRequest(_message.Message):
    __slots__ = ("idempotency_key", "request_id", "result", "active_charging_profile")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CHARGING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    request_id: str
    result: ChargingProfileResultType
    active_charging_profile: ActiveChargingProfile
    def __init__(self, idempotency_key: _Optional[str] = ..., request_id: _Optional[str] = ..., result: _Optional[_Union[ChargingProfileResultType, str]] = ..., active_charging_profile: _Optional[_Union[ActiveChargingProfile, _Mapping]] = ...) -> None: ...

class ReportChargingProfileResultResponse(_message.Message):
    __slots__ = ("after_deadline",)
    AFTER_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    after_deadline: bool
    def __init__(self, after_deadline: _Optional[bool] = ...) -> None: ...

class ReportActiveChargingProfileRequest(_message.Message):
    __slots__ = ("idempotency_key", "session_id", "active_charging_profile")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CHARGING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    session_id: str
    active_charging_profile: ActiveChargingProfile
    def __init__(self, idempotency_key: _Optional[str] = ..., session_id: _Optional[str] = ..., active_charging_profile: _Optional[_Union[ActiveChargingProfile, _Mapping]] = ...) -> None: ...

class ReportActiveChargingProfileResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
