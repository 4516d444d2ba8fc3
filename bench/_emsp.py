"""A minimal fake eMSP for benchmarks: keep-alive HTTP/1.1 on many ports, one OCPI 1000 reply.

It records, per request, the receive time and the request line, so a benchmark can tell when
a push arrived. Run in its own process so that it does not share the sidecar's CPU time.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any


def _response(status: bytes, reply: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(reply)).encode() + b"\r\n\r\n" + reply)


RESPONSE = _response(b"200 OK", b'{"status_code":1000,"timestamp":"2026-01-01T00:00:00Z"}')
# What an eMSP answers for an object it refuses: the client-error range of OCPI.
REFUSAL = _response(b"400 Bad Request", b'{"status_code":2001,"status_message":"refused",'
                    b'"timestamp":"2026-01-01T00:00:00Z"}')


class _Protocol(asyncio.Protocol):
    def __init__(self, log: list[tuple[float, bytes]], refuse: bytes | None) -> None:
        self.log = log
        self.refuse = refuse
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            request_line = head.split(b"\r\n", 1)[0]
            self.log.append((time.time(), request_line + b" " + body[:200]))
            assert self.transport is not None
            refused = self.refuse is not None and self.refuse in request_line
            self.transport.write(REFUSAL if refused else RESPONSE)


def run(ports: list[int], pipe: Connection, refuse: bytes | None = None) -> None:
    """Serve on `ports` until the pipe says "stop"; then send back the request log.

    Requests whose request line contains `refuse` are answered with HTTP 400 / OCPI 2001.
    """
    async def main() -> None:
        log: list[tuple[float, bytes]] = []
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(lambda: _Protocol(log, refuse), "127.0.0.1", port)
                   for port in ports]
        pipe.send("ready")
        await loop.run_in_executor(None, pipe.recv)
        for server in servers:
            server.close()
        pipe.send(log)

    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
