"""A minimal fake eMSP for benchmarks: keep-alive HTTP/1.1 on many ports, one OCPI 1000 reply.

It records, per request, the receive time and the request line, so a benchmark can tell when
a push arrived. Run in its own process so that it does not share the sidecar's CPU time.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any

REPLY = (b'{"status_code":1000,"timestamp":"2026-01-01T00:00:00Z"}')
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(REPLY)).encode() + b"\r\n\r\n" + REPLY)


class _Protocol(asyncio.Protocol):
    def __init__(self, log: list[tuple[float, bytes]]) -> None:
        self.log = log
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
            self.log.append((time.time(), head.split(b"\r\n", 1)[0] + b" " + body[:200]))
            assert self.transport is not None
            self.transport.write(RESPONSE)


def run(ports: list[int], pipe: Connection) -> None:
    """Serve on `ports` until the pipe says "stop"; then send back the request log."""
    async def main() -> None:
        log: list[tuple[float, bytes]] = []
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(lambda: _Protocol(log), "127.0.0.1", port)
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
