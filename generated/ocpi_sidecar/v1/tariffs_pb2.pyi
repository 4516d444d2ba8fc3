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

class TariffType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TARIFF_TYPE_UNSPECIFIED: _ClassVar[TariffType]
    TARIFF_TYPE_AD_HOC_PAYMENT: _ClassVar[TariffType]
    TARIFF_TYPE_PROFILE_CHEAP: _ClassVar[TariffType]
    TARIFF_TYPE_PROFILE_FAST: _ClassVar[TariffType]
    TARIFF_TYPE_PROFILE_GREEN: _ClassVar[TariffType]
    TARIFF_TYPE_REGULAR: _ClassVar[TariffType]

class TariffDimensionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TARIFF_DIMENSION_TYPE_UNSPECIFIED: _ClassVar[TariffDimensionType]
    TARIFF_DIMENSION_TYPE_ENERGY: _ClassVar[TariffDimensionType]
    TARIFF_DIMENSION_TYPE_FLAT: _ClassVar[TariffDimensionType]
    TARIFF_DIMENSION_TYPE_PARKING_TIME: _ClassVar[TariffDimensionType]
    TARIFF_DIMENSION_TYPE_TIME: _ClassVar[TariffDimensionType]

class DayOfWeek(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAY_OF_WEEK_UNSPECIFIED: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_MONDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_TUESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_WEDNESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_THURSDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_FRIDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SATURDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SUNDAY: _ClassVar[DayOfWeek]

class ReservationRestrictionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_RESTRICTION_TYPE_UNSPECIFIED: _ClassVar[ReservationRestrictionType]
    RESERVATION_RESTRICTION_TYPE_RESERVATION: _ClassVar[ReservationRestrictionType]
    RESERVATION_RESTRICTION_TYPE_RESERVATION_EXPIRES: _ClassVar[ReservationRestrictionType]
TARIFF_TYPE_UNSPECIFIED: TariffType
TARIFF_TYPE_AD_HOC_PAYMENT: TariffType
TARIFF_TYPE_PROFILE_CHEAP: TariffType
TARIFF_TYPE_PROFILE_FAST: TariffType
TARIFF_TYPE_PROFILE_GREEN: TariffType
TARIFF_TYPE_REGULAR: TariffType
TARIFF_DIMENSION_TYPE_UNSPECIFIED: TariffDimensionType
TARIFF_DIMENSION_TYPE_ENERGY: TariffDimensionType
TARIFF_DIMENSION_TYPE_FLAT: TariffDimensionType
TARIFF_DIMENSION_TYPE_PARKING_TIME: TariffDimensionType
TARIFF_DIMENSION_TYPE_TIME: TariffDimensionType
DAY_OF_WEEK_UNSPECIFIED: DayOfWeek
DAY_OF_WEEK_MONDAY: DayOfWeek
DAY_OF_WEEK_TUESDAY: DayOfWeek
DAY_OF_WEEK_WEDNESDAY: DayOfWeek
DAY_OF_WEEK_THURSDAY: DayOfWeek
DAY_OF_WEEK_FRIDAY: DayOfWeek
DAY_OF_WEEK_SATURDAY: DayOfWeek
DAY_OF_WEEK_SUNDAY: DayOfWeek
RESERVATION_RESTRICTION_TYPE_UNSPECIFIED: ReservationRestrictionType
RESERVATION_RESTRICTION_TYPE_RESERVATION: ReservationRestrictionType
RESERVATION_RESTRICTION_TYPE_RESERVATION_EXPIRES: ReservationRestrictionType

class PriceComponent(_message.Message):
    __slots__ = ("type", "price", "vat", "step_size")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    STEP_SIZE_FIELD_NUMBER: _ClassVar[int]
    type: TariffDimensionType
    price: str
    vat: str
    step_size: int
    def __init__(self, type: _Optional[_Union[TariffDimensionType, str]] = ..., price: _Optional[str] = ..., vat: _Optional[str] = ..., step_size: _Optional[int] = ...) -> None: ...

class TariffRestrictions(_message.Message):
    __slots__ = ("start_time", "end_time", "start_date", "end_date", "min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power", "min_duration", "max_duration", "days_of_week", "reservation")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    MIN_KWH_FIELD_NUMBER: _ClassVar[int]
    MAX_KWH_FIELD_NUMBER: _ClassVar[int]
    MIN_CURRENT_FIELD_NUMBER: _ClassVar[int]
    MAX_CURRENT_FIELD_NUMBER: _ClassVar[int]
    MIN_POWER_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_FIELD_NUMBER: _ClassVar[int]
    MIN_DURATION_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_FIELD_NUMBER: _ClassVar[int]
    DAYS_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    start_time: str
    end_time: str
    start_date: str
    end_date: str
    min_kwh: str
    max_kwh: str
    min_current: str
    max_current: str
    min_power: str
    max_power: str
    min_duration: int
    max_duration: int
    days_of_week: _containers.RepeatedScalarFieldContainer[DayOfWeek]
    reservation: ReservationRestrictionType
    def __init__(self, start_time: _Optional[str] = ..., end_time: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., min_kwh: _Optional[str] = ..., max_kwh: _Optional[str] = ..., min_current: _Optional[str] = ..., max_current: _Optional[str] = ..., min_power: _Optional[str] = ..., max_power: _Optional[str] = ..., min_duration: _Optional[int] = ..., max_duration: _Optional[int] = ..., days_of_week: _Optional[_Iterable[_Union[DayOfWeek, str]]] = ..., reservation: _Optional[_Union[ReservationRestrictionType, str]] = ...) -> None: ...

class TariffElement(_message.Message):
    __slots__ = ("price_components", "restrictions")
    PRICE_COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    price_components: _containers.RepeatedCompositeFieldContainer[PriceComponent]
    restrictions: TariffRestrictions
    def __init__(self, price_components: _Optional[_Iterable[_Union[PriceComponent, _Mapping]]] = ..., restrictions: _Optional[_Union[TariffRestrictions, _Mapping]] = ...) -> None: ...

class Tariff(_message.Message):
    __slots__ = ("id", "party", "currency", "type", "tariff_alt_texts", "tariff_alt_url", "min_price", "max_price", "elements", "start_date_time", "end_date_time", "energy_mix", "last_updated")
    ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TARIFF_ALT_TEXTS_FIELD_NUMBER: _ClassVar[int]
    TARIFF_ALT_URL_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_DATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENERGY_MIX_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    party: _common_pb2.PartyRef
    currency: str
    type: TariffType
    tariff_alt_texts: _containers.RepeatedCompositeFieldContainer[_common_pb2.DisplayText]
    tariff_alt_url: str
    min_price: _common_pb2.Price
    max_price: _common_pb2.Price
    elements: _containers.RepeatedCompositeFieldContainer[TariffElement]
    start_date_time: _timestamp_pb2.Timestamp
    end_date_time: _timestamp_pb2.Timestamp
    energy_mix: _common_pb2.EnergyMix
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., party: _Optional[_Union[_common_pb2.PartyRef, _Mapping]] = ..., currency: _Optional[str] = ..., type: _Optional[_Union[TariffType, str]] = ..., tariff_alt_texts: _Optional[_Iterable[_Union[_common_pb2.DisplayText, _Mapping]]] = ..., tariff_alt_url: _Optional[str] = ..., min_price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., max_price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., elements: _Optional[_Iterable[_Union[TariffElement, _Mapping]]] = ..., start_date_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_date_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., energy_mix: _Optional[_Union[_common_pb2.EnergyMix, _Mapping]] = ..., last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertTariffRequest(_message.Message):
    __slots__ = ("idempotency_key", "tariff")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TARIFF_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    tariff: Tariff
    def __init__(self, idempotency_key: _Optional[str] = ..., tariff: _Optional[_Union[Tariff, _Mapping]] = ...) -> None: ...

class UpsertTariffResponse(_message.Message):
    __slots__ = ("last_updated",)
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeleteTariffRequest(_message.Message):
    __slots__ = ("idempotency_key", "tariff_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TARIFF_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    tariff_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., tariff_id: _Optional[str] = ...) -> None: ...

class DeleteTariffResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
