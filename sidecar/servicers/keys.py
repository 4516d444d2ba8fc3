"""The idempotency key of a location or tariff request, for sidecar/domain/keys.py."""

from __future__ import annotations

from typing import Any

from sidecar.domain.keys import Key
from sidecar.store import idempotency


def key_of(method: str, request: Any) -> Key:
    """The request's key, with the hash of its deterministic serialisation."""
    digest = idempotency.payload_hash(method, request.SerializeToString(deterministic=True))
    return Key(request.idempotency_key, method, digest)
