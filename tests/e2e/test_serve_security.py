"""The real `serve`: TLS and mutual TLS on its gRPC listener (certificates made here), and
the address policy of its outbound calls (`--partner-networks`)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.test_serve import _read_until_listening

PEM = serialization.Encoding.PEM


@dataclass
class Issued:
    certificate: bytes
    key: bytes


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Authority:
    """A throwaway CA that issues server and client certificates."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = self._builder(self.name, self.key.public_key()).add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True,
        ).sign(self.key, hashes.SHA256())

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(PEM)

    def _builder(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey
                 ) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1)))

    def issue(self, name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = self._builder(subject, key.public_key()).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        return Issued(certificate.public_bytes(PEM), _key_pem(key))


@dataclass
class Pki:
    ca: Authority
    other_ca: Authority
    server: Issued
    client: Issued
    stranger: Issued  # a client certificate from another CA
    folder: Path

    def file(self, name: str, content: bytes) -> str:
        path = self.folder / name
        path.write_bytes(content)
        return str(path)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca, other = Authority("test CA"), Authority("another CA")
    return Pki(ca, other, ca.issue("localhost", server=True), ca.issue("core", server=False),
               other.issue("core", server=False), tmp_path)


def _serve(tmp_path: Path, *options: str, **environment: str) -> Iterator[str]:
    """Yields the gRPC address (then the HTTP one, from `_serve_both`)."""
    for grpc_address, _, _ in _serve_both(tmp_path, *options, **environment):
        yield grpc_address


def _serve_both(tmp_path: Path, *options: str,
                **environment: str) -> Iterator[tuple[str, str, str]]:
    """Yields the gRPC, HTTP and admin addresses."""
    env = {**os.environ, "OCPI_SIDECAR_ADMIN_KEY": "e2e-admin-key", **environment}
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--http", "127.0.0.1:0",
         "--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0", *options],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        found = _read_until_listening(process, time.monotonic() + 30)
        yield found["grpc"], found["http"], found["admin"]
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture
def tls_served(pki: Pki) -> Iterator[str]:
    """serve with TLS on gRPC (no client certificates asked)."""
    yield from _serve(pki.folder, "--grpc-tls-cert", pki.file("server.pem", pki.server.certificate),
                      "--grpc-tls-key", pki.file("server.key", pki.server.key))


@pytest.fixture
def mtls_served(pki: Pki) -> Iterator[str]:
    """serve with mutual TLS on gRPC: callers need a certificate of `pki.ca`."""
    yield from _serve(pki.folder, "--grpc-tls-cert", pki.file("server.pem", pki.server.certificate),
                      "--grpc-tls-key", pki.file("server.key", pki.server.key),
                      "--grpc-client-ca", pki.file("ca.pem", pki.ca.pem))


def _health(channel: grpc.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service="ocpi_sidecar.v1.LocationService"),
                       timeout=10)
    return int(reply.status)


def _secure(address: str, pki: Pki, client: Issued | None = None) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.pem,
        private_key=client.key if client else None,
        certificate_chain=client.certificate if client else None)
    return grpc.secure_channel(address, credentials)


def _refused(channel: grpc.Channel) -> grpc.StatusCode:
    with channel, pytest.raises(grpc.RpcError) as failed:
        _health(channel)
    code: grpc.StatusCode = failed.value.code()  # type: ignore[attr-defined]
    return code


def test_tls_serves_clients_that_trust_the_ca_and_refuses_plaintext(
    tls_served: str, pki: Pki
) -> None:
    with _secure(tls_served, pki) as channel:
        assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
    assert _refused(grpc.insecure_channel(tls_served)) == grpc.StatusCode.UNAVAILABLE
    # A client that trusts another CA does not accept our server certificate.
    other = grpc.ssl_channel_credentials(root_certificates=pki.other_ca.pem)
    assert _refused(grpc.secure_channel(tls_served, other)) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_certificate_from_the_client_ca(
    mtls_served: str, pki: Pki
) -> None:
    with _secure(mtls_served, pki, pki.client) as channel:
        assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
    assert _refused(_secure(mtls_served, pki)) == grpc.StatusCode.UNAVAILABLE
    assert _refused(_secure(mtls_served, pki, pki.stranger)) == grpc.StatusCode.UNAVAILABLE
    assert _refused(grpc.insecure_channel(mtls_served)) == grpc.StatusCode.UNAVAILABLE


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path) -> None:
    for options in (["--grpc-tls-cert", "x.pem"], ["--grpc-client-ca", "ca.pem"],
                    ["--grpc-tls-cert", "missing.pem", "--grpc-tls-key", "missing.key"]):
        done = subprocess.run([sys.executable, "-m", "sidecar", "serve", *options],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "--grpc-" in done.stderr


def test_serve_calls_no_partner_outside_the_partner_networks(tmp_path: Path) -> None:
    admin = {"Authorization": "Bearer e2e-admin-key"}
    for _, http_address, admin_address in _serve_both(
            tmp_path, OCPI_SIDECAR_PARTNER_NETWORKS="10.0.0.0/8, 192.168.0.0/16"):
        with httpx.Client(base_url=f"http://{admin_address}/admin", headers=admin,
                          timeout=10) as client:
            assert client.put("/parties/NL/CPA", json={
                "business_details": {"name": "CPO A"}}).status_code in (200, 201)
            # Our own OCPI port: it would answer, but loopback is outside the allow-list.
            reply = client.post("/partners", json={
                "versions_url": f"http://{http_address}/ocpi/versions", "token": "tok"})
        assert reply.status_code == 502, reply.text
        assert "address policy refused 127.0.0.1" in reply.json()["error"]


def test_serve_refuses_a_bad_partner_network(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sidecar", "serve",
                           "--partner-networks", "10.0.0.1/8"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--partner-networks" in done.stderr, done.stderr
