"""Versions module objects (version_information_endpoint.asciidoc)."""

from __future__ import annotations

from sidecar.ocpi.enums import InterfaceRole
from sidecar.ocpi.types import URL, Struct

# Version numbers and module ids are open sets on the wire (custom modules, newer versions),
# so they are plain strings here; ModuleID lists the standard ones.
VERSION = "2.2.1"


class Version(Struct, frozen=True):
    """One entry of the versions list."""

    version: str
    url: URL


class Endpoint(Struct, frozen=True):
    """One module endpoint of a version."""

    identifier: str
    role: InterfaceRole
    url: URL


class VersionDetails(Struct, frozen=True):
    """The endpoints of one version."""

    version: str
    endpoints: list[Endpoint]
