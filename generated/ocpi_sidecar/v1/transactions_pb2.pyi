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

class AuthMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTH_METHOD_UNSPECIFIED: _ClassVar[AuthMethod]
    AUTH_METHOD_AUTH_REQUEST: _ClassVar[AuthMethod]
    AUTH_METHOD_COMMAND: _ClassVar[AuthMethod]
    AUTH_METHOD_WHITELIST: _ClassVar[AuthMethod]

class ChargingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGING_STATE_UNSPECIFIED: _ClassVar[ChargingState]
    CHARGING_STATE_CHARGING: _ClassVar[ChargingState]
    CHARGING_STATE_EV_CONNECTED: _ClassVar[ChargingState]
    CHARGING_STATE_SUSPENDED_EV: _ClassVar[ChargingState]
    CHARGING_STATE_SUSPENDED_EVSE: _ClassVar[ChargingState]
    CHARGING_STATE_IDLE: _ClassVar[ChargingState]

class StopReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_REASON_UNSPECIFIED: _ClassVar[StopReason]
    STOP_REASON_DE_AUTHORIZED: _ClassVar[StopReason]
    STOP_REASON_EMERGENCY_STOP: _ClassVar[StopReason]
    STOP_REASON_ENERGY_LIMIT_REACHED: _ClassVar[StopReason]
    STOP_REASON_EV_DISCONNECTED: _ClassVar[StopReason]
    STOP_REASON_GROUND_FAULT: _ClassVar[StopReason]
    STOP_REASON_HARD_RESET: _ClassVar[StopReason]
    STOP_REASON_IMMEDIATE_RESET: _ClassVar[StopReason]
    STOP_REASON_LOCAL: _ClassVar[StopReason]
    STOP_REASON_LOCAL_OUT_OF_CREDIT: _ClassVar[StopReason]
    STOP_REASON_MASTER_PASS: _ClassVar[StopReason]
    STOP_REASON_OTHER: _ClassVar[StopReason]
    STOP_REASON_OVERCURRENT_FAULT: _ClassVar[StopReason]
    STOP_REASON_POWER_LOSS: _ClassVar[StopReason]
    STOP_REASON_POWER_QUALITY: _ClassVar[StopReason]
    STOP_REASON_REBOOT: _ClassVar[StopReason]
    STOP_REASON_REMOTE: _ClassVar[StopReason]
    STOP_REASON_SOC_LIMIT_REACHED: _ClassVar[StopReason]
    STOP_REASON_SOFT_RESET: _ClassVar[StopReason]
    STOP_REASON_STOPPED_BY_EV: _ClassVar[StopReason]
    STOP_REASON_TIME_LIMIT_REACHED: _ClassVar[StopReason]
    STOP_REASON_TIMEOUT: _ClassVar[StopReason]
    STOP_REASON_UNLOCK_COMMAND: _ClassVar[StopReason]

class TriggerReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_REASON_UNSPECIFIED: _ClassVar[TriggerReason]
    TRIGGER_REASON_AUTHORIZED: _ClassVar[TriggerReason]
    TRIGGER_REASON_CABLE_PLUGGED_IN: _ClassVar[TriggerReason]
    TRIGGER_REASON_CHARGING_RATE_CHANGED: _ClassVar[TriggerReason]
    TRIGGER_REASON_CHARGING_STATE_CHANGED: _ClassVar[TriggerReason]
    TRIGGER_REASON_DEAUTHORIZED: _ClassVar[TriggerReason]
    TRIGGER_REASON_ENERGY_LIMIT_REACHED: _ClassVar[TriggerReason]
    TRIGGER_REASON_EV_COMMUNICATION_LOST: _ClassVar[TriggerReason]
    TRIGGER_REASON_EV_CONNECT_TIMEOUT: _ClassVar[TriggerReason]
    TRIGGER_REASON_METER_VALUE_CLOCK: _ClassVar[TriggerReason]
    TRIGGER_REASON_METER_VALUE_PERIODIC: _ClassVar[TriggerReason]
    TRIGGER_REASON_TIME_LIMIT_REACHED: _ClassVar[TriggerReason]
    TRIGGER_REASON_TRIGGER: _ClassVar[TriggerReason]
    TRIGGER_REASON_UNLOCK_COMMAND: _ClassVar[TriggerReason]
    TRIGGER_REASON_STOP_AUTHORIZED: _ClassVar[TriggerReason]
    TRIGGER_REASON_EV_DEPARTED: _ClassVar[TriggerReason]
    TRIGGER_REASON_EV_DETECTED: _ClassVar[TriggerReason]
    TRIGGER_REASON_REMOTE_STOP: _ClassVar[TriggerReason]
    TRIGGER_REASON_REMOTE_START: _ClassVar[TriggerReason]
    TRIGGER_REASON_ABNORMAL_CONDITION: _ClassVar[TriggerReason]
    TRIGGER_REASON_SIGNED_DATA_RECEIVED: _ClassVar[TriggerReason]
    TRIGGER_REASON_RESET_COMMAND: _ClassVar[TriggerReason]

class Measurand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEASURAND_UNSPECIFIED: _ClassVar[Measurand]
    MEASURAND_CURRENT_EXPORT: _ClassVar[Measurand]
    MEASURAND_CURRENT_IMPORT: _ClassVar[Measurand]
    MEASURAND_CURRENT_OFFERED: _ClassVar[Measurand]
    MEASURAND_ENERGY_ACTIVE_EXPORT_REGISTER: _ClassVar[Measurand]
    MEASURAND_ENERGY_ACTIVE_IMPORT_REGISTER: _ClassVar[Measurand]
    MEASURAND_ENERGY_REACTIVE_EXPORT_REGISTER: _ClassVar[Measurand]
    MEASURAND_ENERGY_REACTIVE_IMPORT_REGISTER: _ClassVar[Measurand]
    MEASURAND_ENERGY_ACTIVE_EXPORT_INTERVAL: _ClassVar[Measurand]
    MEASURAND_ENERGY_ACTIVE_IMPORT_INTERVAL: _ClassVar[Measurand]
    MEASURAND_ENERGY_REACTIVE_EXPORT_INTERVAL: _ClassVar[Measurand]
    MEASURAND_ENERGY_REACTIVE_IMPORT_INTERVAL: _ClassVar[Measurand]
    MEASURAND_FREQUENCY: _ClassVar[Measurand]
    MEASURAND_POWER_ACTIVE_EXPORT: _ClassVar[Measurand]
    MEASURAND_POWER_ACTIVE_IMPORT: _ClassVar[Measurand]
    MEASURAND_POWER_FACTOR: _ClassVar[Measurand]
    MEASURAND_POWER_OFFERED: _ClassVar[Measurand]
    MEASURAND_POWER_REACTIVE_EXPORT: _ClassVar[Measurand]
    MEASURAND_POWER_REACTIVE_IMPORT: _ClassVar[Measurand]
    MEASURAND_RPM: _ClassVar[Measurand]
    MEASURAND_SOC: _ClassVar[Measurand]
    MEASURAND_TEMPERATURE: _ClassVar[Measurand]
    MEASURAND_VOLTAGE: _ClassVar[Measurand]
    MEASURAND_ENERGY_ACTIVE_NET: _ClassVar[Measurand]
    MEASURAND_ENERGY_REACTIVE_NET: _ClassVar[Measurand]
    MEASURAND_ENERGY_APPARENT_NET: _ClassVar[Measurand]
    MEASURAND_ENERGY_APPARENT_IMPORT: _ClassVar[Measurand]
    MEASURAND_ENERGY_APPARENT_EXPORT: _ClassVar[Measurand]

class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_UNSPECIFIED: _ClassVar[Phase]
    PHASE_L1: _ClassVar[Phase]
    PHASE_L2: _ClassVar[Phase]
    PHASE_L3: _ClassVar[Phase]
    PHASE_N: _ClassVar[Phase]
    PHASE_L1_N: _ClassVar[Phase]
    PHASE_L2_N: _ClassVar[Phase]
    PHASE_L3_N: _ClassVar[Phase]
    PHASE_L1_L2: _ClassVar[Phase]
    PHASE_L2_L3: _ClassVar[Phase]
    PHASE_L3_L1: _ClassVar[Phase]

class ReadingContext(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READING_CONTEXT_UNSPECIFIED: _ClassVar[ReadingContext]
    READING_CONTEXT_INTERRUPTION_BEGIN: _ClassVar[ReadingContext]
    READING_CONTEXT_INTERRUPTION_END: _ClassVar[ReadingContext]
    READING_CONTEXT_OTHER: _ClassVar[ReadingContext]
    READING_CONTEXT_SAMPLE_CLOCK: _ClassVar[ReadingContext]
    READING_CONTEXT_SAMPLE_PERIODIC: _ClassVar[ReadingContext]
    READING_CONTEXT_TRANSACTION_BEGIN: _ClassVar[ReadingContext]
    READING_CONTEXT_TRANSACTION_END: _ClassVar[ReadingContext]
    READING_CONTEXT_TRIGGER: _ClassVar[ReadingContext]

class MeterLocation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METER_LOCATION_UNSPECIFIED: _ClassVar[MeterLocation]
    METER_LOCATION_BODY: _ClassVar[MeterLocation]
    METER_LOCATION_CABLE: _ClassVar[MeterLocation]
    METER_LOCATION_EV: _ClassVar[MeterLocation]
    METER_LOCATION_INLET: _ClassVar[MeterLocation]
    METER_LOCATION_OUTLET: _ClassVar[MeterLocation]

class UnitOfMeasure(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNIT_OF_MEASURE_UNSPECIFIED: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_WH: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_KWH: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_VARH: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_KVARH: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_W: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_KW: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_VA: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_KVA: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_VAR: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_KVAR: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_A: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_V: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_CELSIUS: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_FAHRENHEIT: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_K: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_PERCENT: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_VAH: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_KVAH: _ClassVar[UnitOfMeasure]
    UNIT_OF_MEASURE_HZ: _ClassVar[UnitOfMeasure]

class RejectionCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECTION_CODE_UNSPECIFIED: _ClassVar[RejectionCode]
    REJECTION_CODE_INVALID_ARGUMENT: _ClassVar[RejectionCode]
    REJECTION_CODE_NOT_FOUND: _ClassVar[RejectionCode]
    REJECTION_CODE_FAILED_PRECONDITION: _ClassVar[RejectionCode]
    REJECTION_CODE_ALREADY_EXISTS: _ClassVar[RejectionCode]
AUTH_METHOD_UNSPECIFIED: AuthMethod
AUTH_METHOD_AUTH_REQUEST: AuthMethod
AUTH_METHOD_COMMAND: AuthMethod
AUTH_METHOD_WHITELIST: AuthMethod
CHARGING_STATE_UNSPECIFIED: ChargingState
CHARGING_STATE_CHARGING: ChargingState
CHARGING_STATE_EV_CONNECTED: ChargingState
CHARGING_STATE_SUSPENDED_EV: ChargingState
CHARGING_STATE_SUSPENDED_EVSE: ChargingState
CHARGING_STATE_IDLE: ChargingState
STOP_REASON_UNSPECIFIED: StopReason
STOP_REASON_DE_AUTHORIZED: StopReason
STOP_REASON_EMERGENCY_STOP: StopReason
STOP_REASON_ENERGY_LIMIT_REACHED: StopReason
STOP_REASON_EV_DISCONNECTED: StopReason
STOP_REASON_GROUND_FAULT: StopReason
STOP_REASON_HARD_RESET: StopReason
STOP_REASON_IMMEDIATE_RESET: StopReason
STOP_REASON_LOCAL: StopReason
STOP_REASON_LOCAL_OUT_OF_CREDIT: StopReason
STOP_REASON_MASTER_PASS: StopReason
STOP_REASON_OTHER: StopReason
STOP_REASON_OVERCURRENT_FAULT: StopReason
STOP_REASON_POWER_LOSS: StopReason
STOP_REASON_POWER_QUALITY: StopReason
STOP_REASON_REBOOT: StopReason
STOP_REASON_REMOTE: StopReason
STOP_REASON_SOC_LIMIT_REACHED: StopReason
STOP_REASON_SOFT_RESET: StopReason
STOP_REASON_STOPPED_BY_EV: StopReason
STOP_REASON_TIME_LIMIT_REACHED: StopReason
STOP_REASON_TIMEOUT: StopReason
STOP_REASON_UNLOCK_COMMAND: StopReason
TRIGGER_REASON_UNSPECIFIED: TriggerReason
TRIGGER_REASON_AUTHORIZED: TriggerReason
TRIGGER_REASON_CABLE_PLUGGED_IN: TriggerReason
TRIGGER_REASON_CHARGING_RATE_CHANGED: TriggerReason
TRIGGER_REASON_CHARGING_STATE_CHANGED: TriggerReason
TRIGGER_REASON_DEAUTHORIZED: TriggerReason
TRIGGER_REASON_ENERGY_LIMIT_REACHED: TriggerReason
TRIGGER_REASON_EV_COMMUNICATION_LOST: TriggerReason
TRIGGER_REASON_EV_CONNECT_TIMEOUT: TriggerReason
TRIGGER_REASON_METER_VALUE_CLOCK: TriggerReason
TRIGGER_REASON_METER_VALUE_PERIODIC: TriggerReason
TRIGGER_REASON_TIME_LIMIT_REACHED: TriggerReason
TRIGGER_REASON_TRIGGER: TriggerReason
TRIGGER_REASON_UNLOCK_COMMAND: TriggerReason
TRIGGER_REASON_STOP_AUTHORIZED: TriggerReason
TRIGGER_REASON_EV_DEPARTED: TriggerReason
TRIGGER_REASON_EV_DETECTED: TriggerReason
TRIGGER_REASON_REMOTE_STOP: TriggerReason
TRIGGER_REASON_REMOTE_START: TriggerReason
TRIGGER_REASON_ABNORMAL_CONDITION: TriggerReason
TRIGGER_REASON_SIGNED_DATA_RECEIVED: TriggerReason
TRIGGER_REASON_RESET_COMMAND: TriggerReason
MEASURAND_UNSPECIFIED: Measurand
MEASURAND_CURRENT_EXPORT: Measurand
MEASURAND_CURRENT_IMPORT: Measurand
MEASURAND_CURRENT_OFFERED: Measurand
MEASURAND_ENERGY_ACTIVE_EXPORT_REGISTER: Measurand
MEASURAND_ENERGY_ACTIVE_IMPORT_REGISTER: Measurand
MEASURAND_ENERGY_REACTIVE_EXPORT_REGISTER: Measurand
MEASURAND_ENERGY_REACTIVE_IMPORT_REGISTER: Measurand
MEASURAND_ENERGY_ACTIVE_EXPORT_INTERVAL: Measurand
MEASURAND_ENERGY_ACTIVE_IMPORT_INTERVAL: Measurand
MEASURAND_ENERGY_REACTIVE_EXPORT_INTERVAL: Measurand
MEASURAND_ENERGY_REACTIVE_IMPORT_INTERVAL: Measurand
MEASURAND_FREQUENCY: Measurand
MEASURAND_POWER_ACTIVE_EXPORT: Measurand
MEASURAND_POWER_ACTIVE_IMPORT: Measurand
MEASURAND_POWER_FACTOR: Measurand
MEASURAND_POWER_OFFERED: Measurand
MEASURAND_POWER_REACTIVE_EXPORT: Measurand
MEASURAND_POWER_REACTIVE_IMPORT: Measurand
MEASURAND_RPM: Measurand
MEASURAND_SOC: Measurand
MEASURAND_TEMPERATURE: Measurand
MEASURAND_VOLTAGE: Measurand
MEASURAND_ENERGY_ACTIVE_NET: Measurand
MEASURAND_ENERGY_REACTIVE_NET: Measurand
MEASURAND_ENERGY_APPARENT_NET: Measurand
MEASURAND_ENERGY_APPARENT_IMPORT: Measurand
MEASURAND_ENERGY_APPARENT_EXPORT: Measurand
PHASE_UNSPECIFIED: Phase
PHASE_L1: Phase
PHASE_L2: Phase
PHASE_L3: Phase
PHASE_N: Phase
PHASE_L1_N: Phase
PHASE_L2_N: Phase
PHASE_L3_N: Phase
PHASE_L1_L2: Phase
PHASE_L2_L3: Phase
PHASE_L3_L1: Phase
READING_CONTEXT_UNSPECIFIED: ReadingContext
READING_CONTEXT_INTERRUPTION_BEGIN: ReadingContext
READING_CONTEXT_INTERRUPTION_END: ReadingContext
READING_CONTEXT_OTHER: ReadingContext
READING_CONTEXT_SAMPLE_CLOCK: ReadingContext
READING_CONTEXT_SAMPLE_PERIODIC: ReadingContext
READING_CONTEXT_TRANSACTION_BEGIN: ReadingContext
READING_CONTEXT_TRANSACTION_END: ReadingContext
READING_CONTEXT_TRIGGER: ReadingContext
METER_LOCATION_UNSPECIFIED: MeterLocation
METER_LOCATION_BODY: MeterLocation
METER_LOCATION_CABLE: MeterLocation
METER_LOCATION_EV: MeterLocation
METER_LOCATION_INLET: MeterLocation
METER_LOCATION_OUTLET: MeterLocation
UNIT_OF_MEASURE_UNSPECIFIED: UnitOfMeasure
UNIT_OF_MEASURE_WH: UnitOfMeasure
UNIT_OF_MEASURE_KWH: UnitOfMeasure
UNIT_OF_MEASURE_VARH: UnitOfMeasure
UNIT_OF_MEASURE_KVARH: UnitOfMeasure
UNIT_OF_MEASURE_W: UnitOfMeasure
UNIT_OF_MEASURE_KW: UnitOfMeasure
UNIT_OF_MEASURE_VA: UnitOfMeasure
UNIT_OF_MEASURE_KVA: UnitOfMeasure
UNIT_OF_MEASURE_VAR: UnitOfMeasure
UNIT_OF_MEASURE_KVAR: UnitOfMeasure
UNIT_OF_MEASURE_A: UnitOfMeasure
UNIT_OF_MEASURE_V: UnitOfMeasure
UNIT_OF_MEASURE_CELSIUS: UnitOfMeasure
UNIT_OF_MEASURE_FAHRENHEIT: UnitOfMeasure
UNIT_OF_MEASURE_K: UnitOfMeasure
UNIT_OF_MEASURE_PERCENT: UnitOfMeasure
UNIT_OF_MEASURE_VAH: UnitOfMeasure
UNIT_OF_MEASURE_KVAH: UnitOfMeasure
UNIT_OF_MEASURE_HZ: UnitOfMeasure
REJECTION_CODE_UNSPECIFIED: RejectionCode
REJECTION_CODE_INVALID_ARGUMENT: RejectionCode
REJECTION_CODE_NOT_FOUND: RejectionCode
REJECTION_CODE_FAILED_PRECONDITION: RejectionCode
REJECTION_CODE_ALREADY_EXISTS: RejectionCode

class TransactionToken(_message.Message):
    __slots__ = ("uid", "type", "contract_id", "party", "authorized_by_sidecar", "authorization_reference")
    UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_BY_SIDECAR_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    uid: str
    type: _common_pb2.TokenType
    contract_id: str
    party: _common_pb2.PartyRef
    authorized_by_sidecar: bool
    authorization_reference: str
    def __init__(self, uid: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.TokenType, str]] = ..., contract_id: _Optional[str] = ..., party: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ..., authorized_by_sidecar: _Optional[bool] = ..., authorization_reference: _Optional[str] = ...) -> None: ...

class SampledValue(_message.Message):
    __slots__ = ("value", "measurand", "phase", "context", "location", "unit", "multiplier")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MEASURAND_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    value: str
    measurand: Measurand
    phase: Phase
    context: ReadingContext
    location: MeterLocation
    unit: UnitOfMeasure
    multiplier: int
    def __init__(self, value: _Optional[str] = ..., measurand: _Optional[_Union[Measurand, str]] = ..., phase: _Optional[_Union[Phase, str]] = ..., context: _Optional[_Union[ReadingContext, str]] = ..., location: _Optional[_Union[MeterLocation, str]] = ..., unit: _Optional[_Union[UnitOfMeasure, str]] = ..., multiplier: _Optional[int] = ...) -> None: ...

class MeterValue(_message.Message):
    __slots__ = ("timestamp", "sampled_values")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_VALUES_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    sampled_values: _containers.RepeatedCompositeFieldContainer[SampledValue]
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sampled_values: _Optional[_Iterable[_Union[SampledValue, _Mapping]]] = ...) -> None: ...

class SignedValue(_message.Message):
    __slots__ = ("nature", "plain_data", "signed_data")
    NATURE_FIELD_NUMBER: _ClassVar[int]
    PLAIN_DATA_FIELD_NUMBER: _ClassVar[int]
    SIGNED_DATA_FIELD_NUMBER: _ClassVar[int]
    nature: str
    plain_data: str
    signed_data: str
    def __init__(self, nature: _Optional[str] = ..., plain_data: _Optional[str] = ..., signed_data: _Optional[str] = ...) -> None: ...

class SignedData(_message.Message):
    __slots__ = ("encoding_method", "encoding_method_version", "public_key", "signed_values", "url")
    ENCODING_METHOD_FIELD_NUMBER: _ClassVar[int]
    ENCODING_METHOD_VERSION_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNED_VALUES_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    encoding_method: str
    encoding_method_version: int
    public_key: str
    signed_values: _containers.RepeatedCompositeFieldContainer[SignedValue]
    url: str
    def __init__(self, encoding_method: _Optional[str] = ..., encoding_method_version: _Optional[int] = ..., public_key: _Optional[str] = ..., signed_values: _Optional[_Iterable[_Union[SignedValue, _Mapping]]] = ..., url: _Optional[str] = ...) -> None: ...

class OcppEventInfo(_message.Message):
    __slots__ = ("trigger_reason", "seq_no", "offline")
    TRIGGER_REASON_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_FIELD_NUMBER: _ClassVar[int]
    trigger_reason: TriggerReason
    seq_no: int
    offline: bool
    def __init__(self, trigger_reason: _Optional[_Union[TriggerReason, str]] = ..., seq_no: _Optional[int] = ..., offline: _Optional[bool] = ...) -> None: ...

class MeterValuesEvent(_message.Message):
    __slots__ = ("idempotency_key", "transaction_id", "meter_values")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    METER_VALUES_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    transaction_id: str
    meter_values: _containers.RepeatedCompositeFieldContainer[MeterValue]
    def __init__(self, idempotency_key: _Optional[str] = ..., transaction_id: _Optional[str] = ..., meter_values: _Optional[_Iterable[_Union[MeterValue, _Mapping]]] = ...) -> None: ...

class RejectedMeterValuesEvent(_message.Message):
    __slots__ = ("event_index", "idempotency_key", "code", "error")
    EVENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    event_index: int
    idempotency_key: str
    code: RejectionCode
    error: str
    def __init__(self, event_index: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., code: _Optional[_Union[RejectionCode, str]] = ..., error: _Optional[str] = ...) -> None: ...

class CreditCdrRequest(_message.Message):
    __slots__ = ("idempotency_key", "cdr_id", "correction_json")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CDR_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_JSON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    cdr_id: str
    correction_json: str
    def __init__(self, idempotency_key: _Optional[str] = ..., cdr_id: _Optional[str] = ..., correction_json: _Optional[str] = ...) -> None: ...

class CreditCdrResponse(_message.Message):
    __slots__ = ("credit_cdr_id", "corrected_cdr_id")
    CREDIT_CDR_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_CDR_ID_FIELD_NUMBER: _ClassVar[int]
    credit_cdr_id: str
    corrected_cdr_id: str
    def __init__(self, credit_cdr_id: _Optional[str] = ..., corrected_cdr_id: _Optional[str] = ...) -> None: ...

class StartTransactionRequest(_message.Message):
    __slots__ = ("idempotency_key", "transaction_id", "location_id", "evse_uid", "connector_id", "started_at", "token", "auth_method", "meter_start_wh", "meter_values", "charging_state", "reservation_id", "start_command_id", "tariff_id", "currency", "meter_id", "ocpp_event")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_UID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    AUTH_METHOD_FIELD_NUMBER: _ClassVar[int]
    METER_START_WH_FIELD_NUMBER: _ClassVar[int]
    METER_VALUES_FIELD_NUMBER: _ClassVar[int]
    CHARGING_STATE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    START_COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    TARIFF_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    OCPP_EVENT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    transaction_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    started_at: _timestamp_pb2.Timestamp
    token: TransactionToken
    auth_method: AuthMethod
    meter_start_wh: str
    meter_values: _containers.RepeatedCompositeFieldContainer[MeterValue]
    charging_state: ChargingState
    reservation_id: int
    start_command_id: str
    tariff_id: str
    currency: str
    meter_id: str
    ocpp_event: OcppEventInfo
    def __init__(self, idempotency_key: _Optional[str] = ..., transaction_id: _Optional[str] = ..., location_id: _Optional[str] = ..., evse_uid: _Optional[str] = ..., connector_id: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., token: _Optional[_Union[TransactionToken, _Mapping]] = ..., auth_method: _Optional[_Union[AuthMethod, str]] = ..., meter_start_wh: _Optional[str] = ..., meter_values: _Optional[_Iterable[_Union[MeterValue, _Mapping]]] = ..., charging_state: _Optional[_Union[ChargingState, str]] = ..., reservation_id: _Optional[int] = ..., start_command_id: _Optional[str] = ..., tariff_id: _Optional[str] = ..., currency: _Optional[str] = ..., meter_id: _Optional[str] = ..., ocpp_event: _Optional[_Union[OcppEventInfo, _Mapping]] = ...) -> None: ...

class StartTransactionResponse(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class UpdateTransactionRequest(_message.Message):
    __slots__ = ("idempotency_key", "transaction_id", "timestamp", "token", "charging_state", "connector_id", "meter_values", "ocpp_event", "start_command_id", "reservation_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHARGING_STATE_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    METER_VALUES_FIELD_NUMBER: _ClassVar[int]
    OCPP_EVENT_FIELD_NUMBER: _ClassVar[int]
    START_COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    transaction_id: str
    timestamp: _timestamp_pb2.Timestamp
    token: TransactionToken
    charging_state: ChargingState
    connector_id: str
    meter_values: _containers.RepeatedCompositeFieldContainer[MeterValue]
    ocpp_event: OcppEventInfo
    start_command_id: str
    reservation_id: int
    def __init__(self, idempotency_key: _Optional[str] = ..., transaction_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., token: _Optional[_Union[TransactionToken, _Mapping]] = ..., charging_state: _Optional[_Union[ChargingState, str]] = ..., connector_id: _Optional[str] = ..., meter_values: _Optional[_Iterable[_Union[MeterValue, _Mapping]]] = ..., ocpp_event: _Optional[_Union[OcppEventInfo, _Mapping]] = ..., start_command_id: _Optional[str] = ..., reservation_id: _Optional[int] = ...) -> None: ...

class UpdateTransactionResponse(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class EndTransactionRequest(_message.Message):
    __slots__ = ("idempotency_key", "transaction_id", "ended_at", "meter_stop_wh", "stop_reason", "meter_values", "signed_data", "invalid", "ocpp_event")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    METER_STOP_WH_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    METER_VALUES_FIELD_NUMBER: _ClassVar[int]
    SIGNED_DATA_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    OCPP_EVENT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    transaction_id: str
    ended_at: _timestamp_pb2.Timestamp
    meter_stop_wh: str
    stop_reason: StopReason
    meter_values: _containers.RepeatedCompositeFieldContainer[MeterValue]
    signed_data: SignedData
    invalid: bool
    ocpp_event: OcppEventInfo
    def __init__(self, idempotency_key: _Optional[str] = ..., transaction_id: _Optional[str] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., meter_stop_wh: _Optional[str] = ..., stop_reason: _Optional[_Union[StopReason, str]] = ..., meter_values: _Optional[_Iterable[_Union[MeterValue, _Mapping]]] = ..., signed_data: _Optional[_Union[SignedData, _Mapping]] = ..., invalid: _Optional[bool] = ..., ocpp_event: _Optional[_Union[OcppEventInfo, _Mapping]] = ...) -> None: ...

class EndTransactionResponse(_message.Message):
    __slots__ = ("session_id", "cdr_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CDR_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    cdr_id: str
    def __init__(self, session_id: _Optional[str] = ..., cdr_id: _Optional[str] = ...) -> None: ...

class ReportMeterValuesRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[MeterValuesEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[MeterValuesEvent, _Mapping]]] = ...) -> None: ...

class ReportMeterValuesResponse(_message.Message):
    __slots__ = ("stored_event_count",)
    STORED_EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    stored_event_count: int
    def __init__(self, stored_event_count: _Optional[int] = ...) -> None: ...

class StreamMeterValuesRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[MeterValuesEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[MeterValuesEvent, _Mapping]]] = ...) -> None: ...

class StreamMeterValuesResponse(_message.Message):
    __slots__ = ("stored_event_count", "rejected_events")
    STORED_EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    stored_event_count: int
    rejected_events: _containers.RepeatedCompositeFieldContainer[RejectedMeterValuesEvent]
    def __init__(self, stored_event_count: _Optional[int] = ..., rejected_events: _Optional[_Iterable[_Union[RejectedMeterValuesEvent, _Mapping]]] = ...) -> None: ...
