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

class ReservationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATUS_UNSPECIFIED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_ACCEPTED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_CANCELLED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_EXPIRED: _ClassVar[ReservationStatus]

class AuthorizationResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHORIZATION_RESULT_UNSPECIFIED: _ClassVar[AuthorizationResult]
    AUTHORIZATION_RESULT_ALLOWED: _ClassVar[AuthorizationResult]
    AUTHORIZATION_RESULT_BLOCKED: _ClassVar[AuthorizationResult]
    AUTHORIZATION_RESULT_EXPIRED: _ClassVar[AuthorizationResult]
    AUTHORIZATION_RESULT_NO_CREDIT: _ClassVar[AuthorizationResult]
    AUTHORIZATION_RESULT_NOT_ALLOWED: _ClassVar[AuthorizationResult]
    AUTHORIZATION_RESULT_UNKNOWN: _ClassVar[AuthorizationResult]

class AuthorizationSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHORIZATION_SOURCE_UNSPECIFIED: _ClassVar[AuthorizationSource]
    AUTHORIZATION_SOURCE_CACHE: _ClassVar[AuthorizationSource]
    AUTHORIZATION_SOURCE_REAL_TIME: _ClassVar[AuthorizationSource]
    AUTHORIZATION_SOURCE_PARTNER_UNREACHABLE: _ClassVar[AuthorizationSource]

class WhitelistType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WHITELIST_TYPE_UNSPECIFIED: _ClassVar[WhitelistType]
    WHITELIST_TYPE_ALWAYS: _ClassVar[WhitelistType]
    WHITELIST_TYPE_ALLOWED: _ClassVar[WhitelistType]
    WHITELIST_TYPE_ALLOWED_OFFLINE: _ClassVar[WhitelistType]
    WHITELIST_TYPE_NEVER: _ClassVar[WhitelistType]

class ProfileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROFILE_TYPE_UNSPECIFIED: _ClassVar[ProfileType]
    PROFILE_TYPE_CHEAP: _ClassVar[ProfileType]
    PROFILE_TYPE_FAST: _ClassVar[ProfileType]
    PROFILE_TYPE_GREEN: _ClassVar[ProfileType]
    PROFILE_TYPE_REGULAR: _ClassVar[ProfileType]

class CommandType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_TYPE_UNSPECIFIED: _ClassVar[CommandType]
    COMMAND_TYPE_START_SESSION: _ClassVar[CommandType]
    COMMAND_TYPE_STOP_SESSION: _ClassVar[CommandType]
    COMMAND_TYPE_RESERVE_NOW: _ClassVar[CommandType]
    COMMAND_TYPE_CANCEL_RESERVATION: _ClassVar[CommandType]
    COMMAND_TYPE_UNLOCK_CONNECTOR: _ClassVar[CommandType]

class CommandResultType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_RESULT_TYPE_UNSPECIFIED: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_ACCEPTED: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_CANCELED_RESERVATION: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_EVSE_OCCUPIED: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_EVSE_INOPERATIVE: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_FAILED: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_NOT_SUPPORTED: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_REJECTED: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_TIMEOUT: _ClassVar[CommandResultType]
    COMMAND_RESULT_TYPE_UNKNOWN_RESERVATION: _ClassVar[CommandResultType]
RESERVATION_STATUS_UNSPECIFIED: ReservationStatus
RESERVATION_STATUS_ACCEPTED: ReservationStatus
RESERVATION_STATUS_CANCELLED: ReservationStatus
RESERVATION_STATUS_EXPIRED: ReservationStatus
AUTHORIZATION_RESULT_UNSPECIFIED: AuthorizationResult
AUTHORIZATION_RESULT_ALLOWED: AuthorizationResult
AUTHORIZATION_RESULT_BLOCKED: AuthorizationResult
AUTHORIZATION_RESULT_EXPIRED: AuthorizationResult
AUTHORIZATION_RESULT_NO_CREDIT: AuthorizationResult
AUTHORIZATION_RESULT_NOT_ALLOWED: AuthorizationResult
AUTHORIZATION_RESULT_UNKNOWN: AuthorizationResult
AUTHORIZATION_SOURCE_UNSPECIFIED: AuthorizationSource
AUTHORIZATION_SOURCE_CACHE: AuthorizationSource
AUTHORIZATION_SOURCE_REAL_TIME: AuthorizationSource
AUTHORIZATION_SOURCE_PARTNER_UNREACHABLE: AuthorizationSource
WHITELIST_TYPE_UNSPECIFIED: WhitelistType
WHITELIST_TYPE_ALWAYS: WhitelistType
WHITELIST_TYPE_ALLOWED: WhitelistType
WHITELIST_TYPE_ALLOWED_OFFLINE: WhitelistType
WHITELIST_TYPE_NEVER: WhitelistType
PROFILE_TYPE_UNSPECIFIED: ProfileType
PROFILE_TYPE_CHEAP: ProfileType
PROFILE_TYPE_FAST: ProfileType
PROFILE_TYPE_GREEN: ProfileType
PROFILE_TYPE_REGULAR: ProfileType
COMMAND_TYPE_UNSPECIFIED: CommandType
COMMAND_TYPE_START_SESSION: CommandType
COMMAND_TYPE_STOP_SESSION: CommandType
COMMAND_TYPE_RESERVE_NOW: CommandType
COMMAND_TYPE_CANCEL_RESERVATION: CommandType
COMMAND_TYPE_UNLOCK_CONNECTOR: CommandType
COMMAND_RESULT_TYPE_UNSPECIFIED: CommandResultType
COMMAND_RESULT_TYPE_ACCEPTED: CommandResultType
COMMAND_RESULT_TYPE_CANCELED_RESERVATION: CommandResultType
COMMAND_RESULT_TYPE_EVSE_OCCUPIED: CommandResultType
COMMAND_RESULT_TYPE_EVSE_INOPERATIVE: CommandResultType
COMMAND_RESULT_TYPE_FAILED: CommandResultType
COMMAND_RESULT_TYPE_NOT_SUPPORTED: CommandResultType
COMMAND_RESULT_TYPE_REJECTED: CommandResultType
COMMAND_RESULT_TYPE_TIMEOUT: CommandResultType
COMMAND_RESULT_TYPE_UNKNOWN_RESERVATION: CommandResultType

class EnergyContract(_message.Message):
    __slots__ = ("supplier_name", "contract_id")
    SUPPLIER_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    supplier_name: str
    contract_id: str
    def __init__(self, supplier_name: _Optional[str] = ..., contract_id: _Optional[str] = ...) -> None: ...

class Token(_message.Message):
    __slots__ = ("party", "uid", "type", "contract_id", "visual_number", "issuer", "group_id", "valid", "whitelist", "language", "default_profile_type", "energy_contract", "last_updated")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    VISUAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    WHITELIST_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PROFILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_CONTRACT_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    party: _common_pb2.PartyRef
    uid: str
    type: _common_pb2.TokenType
    contract_id: str
    visual_number: str
    issuer: str
    group_id: str
    valid: bool
    whitelist: WhitelistType
    language: str
    default_profile_type: ProfileType
    energy_contract: EnergyContract
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, party: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ..., uid: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.TokenType, str]] = ..., contract_id: _Optional[str] = ..., visual_number: _Optional[str] = ..., issuer: _Optional[str] = ..., group_id: _Optional[str] = ..., valid: _Optional[bool] = ..., whitelist: _Optional[_Union[WhitelistType, str]] = ..., language: _Optional[str] = ..., default_profile_type: _Optional[_Union[ProfileType, str]] = ..., energy_contract: _Optional[_Union[EnergyContract, _Mapping]] = ..., last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartSessionCommand(_message.Message):
    __slots__ = ("token", "location_id", "evse_uid", "connector_id", "authorization_reference")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    token: Token
    location_id: str
    evse_uid: str
    connector_id: str
    authorization_reference: str
    def __init__(self, token: _Optional[_Union[Token, _Mapping]] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector_id: _Optional[str] = ..., authorization_reference: _Optional[str] = ...) -> None: ...

class StopSessionCommand(_message.Message):
    __slots__ = ("session_id", "transaction_id", "location_id", "evse_uid", "connector_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    transaction_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    def __init__(self, session_id: _Optional[str] = ..., transaction_id: _Optional[str] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector_id: _Optional[str] = ...) -> None: ...

class ReserveNowCommand(_message.Message):
    __slots__ = ("token", "expiry_date", "reservation_id", "ocpp_reservation_id", "location_id", "evse_uid", "authorization_reference")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_DATE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    OCPP_RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    token: Token
    expiry_date: _timestamp_pb2.Timestamp
    reservation_id: str
    ocpp_reservation_id: int
    location_id: str
    evse_uid: str
    authorization_reference: str
    def __init__(self, token: _Optional[_Union[Token, _Mapping]] = ..., expiry_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reservation_id: _Optional[str] = ..., ocpp_reservation_id: _Optional[int] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., authorization_reference: _Optional[str] = ...) -> None: ...

class CancelReservationCommand(_message.Message):
    __slots__ = ("reservation_id", "ocpp_reservation_id", "location_id", "evse_uid")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    OCPP_RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    ocpp_reservation_id: int
    location_id: str
    evse_uid: str
    def __init__(self, reservation_id: _Optional[str] = ..., ocpp_reservation_id: _Optional[int] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ...) -> None: ...

class UnlockConnectorCommand(_message.Message):
    __slots__ = ("location_id", "evse_uid", "connector_id")
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    evse_uid: str
    connector_id: str
    def __init__(self, location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector_id: _Optional[str] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("command_id", "type", "requested_by", "created_at", "deadline", "delivery_count", "ocpp_address", "start_session", "stop_session", "reserve_now", "cancel_reservation", "unlock_connector")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_COUNT_FIELD_NUMBER: _ClassVar[int]
    OCPP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    START_SESSION_FIELD_NUMBER: _ClassVar[int]
    STOP_SESSION_FIELD_NUMBER: _ClassVar[int]
    RESERVE_NOW_FIELD_NUMBER: _ClassVar[int]
    CANCEL_RESERVATION_FIELD_NUMBER: _ClassVar[int]
    UNLOCK_CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    type: CommandType
    requested_by: _common_pb2.PartyRef
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    delivery_count: int
    ocpp_address: _locations_pb2.OcppAddress
    start_session: StartSessionCommand
    stop_session: StopSessionCommand
    reserve_now: ReserveNowCommand
    cancel_reservation: CancelReservationCommand
    unlock_connector: UnlockConnectorCommand
    def __init__(self, command_id: _Optional[str] = ..., type: _Optional[_Union[CommandType, str]] = ..., requested_by: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivery_count: _Optional[int] = ..., ocpp_address: _Optional[_Union[_locations_pb2.OcppAddress, _Mapping]] = ..., start_session: _Optional[_Union[StartSessionCommand, _Mapping]] = ..., stop_session: _Optional[_Union[StopSessionCommand, _Mapping]] = ..., reserve_now: _Optional[_Union[ReserveNowCommand, _Mapping]] = ..., cancel_reservation: _Optional[_Union[CancelReservationCommand, _Mapping]] = ..., unlock_connector: _Optional[_Union[UnlockConnectorCommand, _Mapping]] = ...) -> None: ...

class AuthorizeTokenRequest(_message.Message):
    __slots__ = ("token_uid", "token_type", "location_id", "evse_uids", "connector_ids")
    TOKEN_UID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UIDS_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_IDS_FIELD_NUMBER: _ClassVar[int]
    token_uid: str
    token_type: _common_pb2.TokenType
    location_id: str
    evse_uids: _containers.RepeatedScalarFieldContainer[str]
    connector_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, token_uid: _Optional[str] = ..., token_type: _Optional[_Union[_common_pb2.TokenType, str]] = ..., location_id: _Optional[str] = ..., evse_uids: _Optional[_Iterable[str]] = ..., connector_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AuthorizeTokenResponse(_message.Message):
    __slots__ = ("result", "source", "authorization_reference", "token", "info", "allowed_evse_uids")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_EVSE_UIDS_FIELD_NUMBER: _ClassVar[int]
    result: AuthorizationResult
    source: AuthorizationSource
    authorization_reference: str
    token: Token
    info: _common_pb2.DisplayText
    allowed_evse_uids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, result: _Optional[_Union[AuthorizationResult, str]] = ..., source: _Optional[_Union[AuthorizationSource, str]] = ..., authorization_reference: _Optional[str] = ..., token: _Optional[_Union[Token, _Mapping]] = ..., info: _Optional[_Union[_common_pb2.DisplayText, _Mapping]] = ..., allowed_evse_uids: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchCommandsRequest(_message.Message):
    __slots__ = ("consumer_id",)
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    consumer_id: str
    def __init__(self, consumer_id: _Optional[str] = ...) -> None: ...

class WatchCommandsResponse(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: Command
    def __init__(self, command: _Optional[_Union[Command, _Mapping]] = ...) -> None: ...

class AcknowledgeCommandRequest(_message.Message):
    __slots__ = ("idempotency_key", "command_id", "consumer_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    command_id: str
    consumer_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., command_id: _Optional[str] = ..., consumer_id: _Optional[str] = ...) -> None: ...

class AcknowledgeCommandResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReportCommandResultRequest(_message.Message):
    __slots__ = ("idempotency_key", "command_id", "result", "messages", "transaction_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    command_id: str
    result: CommandResultType
    messages: _containers.RepeatedCompositeFieldContainer[_common_pb2.DisplayText]
    transaction_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., command_id: _Optional[str] = ..., result: _Optional[_Union[CommandResultType, str]] = ..., messages: _Optional[_Iterable[_Union[_common_pb2.DisplayText, _Mapping]]] = ..., transaction_id: _Optional[str] = ...) -> None: ...

class ReportCommandResultResponse(_message.Message):
    __slots__ = ("after_deadline",)
    AFTER_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    after_deadline: bool
    def __init__(self, after_deadline: _Optional[bool] = ...) -> None: ...

class ReportReservationStatusRequest(_message.Message):
    __slots__ = ("idempotency_key", "ocpp_reservation_id", "status", "timestamp")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    OCPP_RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    ocpp_reservation_id: int
    status: ReservationStatus
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, idempotency_key: _Optional[str] = ..., ocpp_reservation_id: _Optional[int] = ..., status: _Optional[_Union[ReservationStatus, str]] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportReservationStatusResponse(_message.Message):
    __slots__ = ("session_id", "cdr_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CDR_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    cdr_id: str
    def __init__(self, session_id: _Optional[str] = ..., cdr_id: _Optional[str] = ...) -> None: ...
