"""Start the third-party eMSP on 127.0.0.1 and a port the kernel picks.

Run with .venv-thirdparty's python from a scratch directory (the library reads a `.env` of the
working directory). Prints `listening on http://127.0.0.1:PORT` once it accepts connections,
and exits by itself when its standard input closes: at teardown, or when the test process dies.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading


async def serve(sock: socket.socket) -> None:
    import uvicorn

    # Imported only now: the library builds its URLs from the environment when imported.
    from partner import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    loop = asyncio.get_running_loop()

    def stop_when_stdin_closes() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(setattr, server, "should_exit", True)

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    # The socket already listens, so a client may connect from now on: uvicorn accepts the
    # queued connections once it runs.
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    os.environ.update(OCPI_HOST=f"127.0.0.1:{port}", PROTOCOL="http",
                      COUNTRY_CODE="DE", PARTY_ID="EMP", ENVIRONMENT="production")
    asyncio.run(serve(sock))


if __name__ == "__main__":
    main()
