"""Tokens we issue: random, stored as SHA-256 and looked up by that hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh credentials token: 32 random bytes, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """The stored form of a token we issued."""
    return hashlib.sha256(token.encode()).digest()

