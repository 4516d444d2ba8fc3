"""Pricing: the cost of a charging session under an OCPI 2.2.1 Tariff (pure, no I/O).

See docs/pricing.md for the rules and for the choices made where the spec is ambiguous.
"""

from sidecar.pricing._engine import price_session
from sidecar.pricing._inputs import MeteredInterval, PricingError, Reservation
from sidecar.pricing._result import CdrCosts, CostLine, DimensionCost, PricedSession

__all__ = [
    "CdrCosts",
    "CostLine",
    "DimensionCost",
    "MeteredInterval",
    "PricedSession",
    "PricingError",
    "Reservation",
    "price_session",
]
