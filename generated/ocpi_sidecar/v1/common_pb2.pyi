from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_CATEGORY_UNSPECIFIED: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_CHARGER: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_ENTRANCE: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_LOCATION: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_NETWORK: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_OPERATOR: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_OTHER: _ClassVar[ImageCategory]
    IMAGE_CATEGORY_OWNER: _ClassVar[ImageCategory]

class TokenType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOKEN_TYPE_UNSPECIFIED: _ClassVar[TokenType]
    TOKEN_TYPE_AD_HOC_USER: _ClassVar[TokenType]
    TOKEN_TYPE_APP_USER: _ClassVar[TokenType]
    TOKEN_TYPE_OTHER: _ClassVar[TokenType]
    TOKEN_TYPE_RFID: _ClassVar[TokenType]

class EnergySourceCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENERGY_SOURCE_CATEGORY_UNSPECIFIED: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_NUCLEAR: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_GENERAL_FOSSIL: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_COAL: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_GAS: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_GENERAL_GREEN: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_SOLAR: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_WIND: _ClassVar[EnergySourceCategory]
    ENERGY_SOURCE_CATEGORY_WATER: _ClassVar[EnergySourceCategory]

class EnvironmentalImpactCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENVIRONMENTAL_IMPACT_CATEGORY_UNSPECIFIED: _ClassVar[EnvironmentalImpactCategory]
    ENVIRONMENTAL_IMPACT_CATEGORY_NUCLEAR_WASTE: _ClassVar[EnvironmentalImpactCategory]
    ENVIRONMENTAL_IMPACT_CATEGORY_CARBON_DIOXIDE: _ClassVar[EnvironmentalImpactCategory]
IMAGE_CATEGORY_UNSPECIFIED: ImageCategory
IMAGE_CATEGORY_CHARGER: ImageCategory
IMAGE_CATEGORY_ENTRANCE: ImageCategory
IMAGE_CATEGORY_LOCATION: ImageCategory
IMAGE_CATEGORY_NETWORK: ImageCategory
IMAGE_CATEGORY_OPERATOR: ImageCategory
IMAGE_CATEGORY_OTHER: ImageCategory
IMAGE_CATEGORY_OWNER: ImageCategory
TOKEN_TYPE_UNSPECIFIED: TokenType
TOKEN_TYPE_AD_HOC_USER: TokenType
TOKEN_TYPE_APP_USER: TokenType
TOKEN_TYPE_OTHER: TokenType
TOKEN_TYPE_RFID: TokenType
ENERGY_SOURCE_CATEGORY_UNSPECIFIED: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_NUCLEAR: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_GENERAL_FOSSIL: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_COAL: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_GAS: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_GENERAL_GREEN: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_SOLAR: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_WIND: EnergySourceCategory
ENERGY_SOURCE_CATEGORY_WATER: EnergySourceCategory
ENVIRONMENTAL_IMPACT_CATEGORY_UNSPECIFIED: EnvironmentalImpactCategory
ENVIRONMENTAL_IMPACT_CATEGORY_NUCLEAR_WASTE: EnvironmentalImpactCategory
ENVIRONMENTAL_IMPACT_CATEGORY_CARBON_DIOXIDE: EnvironmentalImpactCategory

class PartyRef(_message.Message):
    __slots__ = ("country_code", "party_id")
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    country_code: str
    party_id: str
    def __init__(self, country_code: _Optional[str] = ..., party_id: _Optional[str] = ...) -> None: ...

class DisplayText(_message.Message):
    __slots__ = ("language", "text")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    language: str
    text: str
    def __init__(self, language: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("excl_vat", "incl_vat")
    EXCL_VAT_FIELD_NUMBER: _ClassVar[int]
    INCL_VAT_FIELD_NUMBER: _ClassVar[int]
    excl_vat: str
    incl_vat: str
    def __init__(self, excl_vat: _Optional[str] = ..., incl_vat: _Optional[str] = ...) -> None: ...

class GeoLocation(_message.Message):
    __slots__ = ("latitude", "longitude")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    latitude: str
    longitude: str
    def __init__(self, latitude: _Optional[str] = ..., longitude: _Optional[str] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("url", "thumbnail", "category", "type", "width", "height")
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    url: str
    thumbnail: str
    category: ImageCategory
    type: str
    width: int
    height: int
    def __init__(self, url: _Optional[str] = ..., thumbnail: _Optional[str] = ..., category: _Optional[_Union[ImageCategory, str]] = ..., type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class BusinessDetails(_message.Message):
    __slots__ = ("name", "website", "logo")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEBSITE_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    name: str
    website: str
    logo: Image
    def __init__(self, name: _Optional[str] = ..., website: _Optional[str] = ..., logo: _Optional[_Union[Image, _Mapping]] = ...) -> None: ...

class EnergySource(_message.Message):
    __slots__ = ("source", "percentage")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    source: EnergySourceCategory
    percentage: str
    def __init__(self, source: _Optional[_Union[EnergySourceCategory, str]] = ..., percentage: _Optional[str] = ...) -> None: ...

class EnvironmentalImpact(_message.Message):
    __slots__ = ("category", "amount")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    category: EnvironmentalImpactCategory
    amount: str
    def __init__(self, category: _Optional[_Union[EnvironmentalImpactCategory, str]] = ..., amount: _Optional[str] = ...) -> None: ...

class EnergyMix(_message.Message):
    __slots__ = ("is_green_energy", "energy_sources", "environ_impacts", "supplier_name", "energy_product_name")
    IS_GREEN_ENERGY_FIELD_NUMBER: _ClassVar[int]
    ENERGY_SOURCES_FIELD_NUMBER: _ClassVar[int]
    ENVIRON_IMPACTS_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_NAME_FIELD_NUMBER: _ClassVar[int]
    ENERGY_PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    is_green_energy: bool
    energy_sources: _containers.RepeatedCompositeFieldContainer[EnergySource]
    environ_impacts: _containers.RepeatedCompositeFieldContainer[EnvironmentalImpact]
    supplier_name: str
    energy_product_name: str
    def __init__(self, is_green_energy: _Optional[bool] = ..., energy_sources: _Optional[_Iterable[_Union[EnergySource, _Mapping]]] = ..., environ_impacts: _Optional[_Iterable[_Union[EnvironmentalImpact, _Mapping]]] = ..., supplier_name: _Optional[str] = ..., energy_product_name: _Optional[str] = ...) -> None: ...
