"""The `ocpi-sidecar` command: serve, db upgrade, db seed. The one module wiring both halves."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from hypercorn.asyncio import serve as hypercorn_serve

from gateway.addresses import AddressPolicy, networks
from gateway.app import create_app, server_config
from gateway.authorize import OCPIAuthorizer
from gateway.client import OCPIClient, outbound_http
from gateway.push import PushWorker
from sidecar.files import private_file
from sidecar.settings import Secret, Settings
from sidecar.store import migrations, schema, seed
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.parties import list_parties

log = logging.getLogger("ocpi_sidecar")
ENV = "OCPI_SIDECAR_"
ADMIN_KEY_FILE = Path("var/admin-key")


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV + name.upper(), default)


def parser() -> argparse.ArgumentParser:
    """The command line; every option also reads OCPI_SIDECAR_<NAME>."""
    defaults = Settings()
    top = argparse.ArgumentParser(prog="ocpi-sidecar", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    def database_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--database", default=_env("database", defaults.database),
                             help="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql://…")

    serve = commands.add_parser("serve", help="run the gRPC and OCPI servers")
    serve.add_argument("--http", default=_env("http", defaults.http), help="HOST:PORT")
    serve.add_argument("--grpc", default=_env("grpc", defaults.grpc), help="HOST:PORT")
    database_option(serve)
    serve.add_argument("--public-url", default=_env("public_url", ""),
                       help="base URL partners use to reach --http")
    serve.add_argument("--admin-key", default=_env("admin_key", ""),
                       help="admin API key (visible in the process list: prefer"
                            " --admin-key-file or the environment variable)")
    serve.add_argument("--admin-key-file", default=_env("admin_key_file", ""),
                       help=f"file holding the admin API key, read at start (default: "
                            f"{ADMIN_KEY_FILE}, made on first start)")
    serve.add_argument("--currency", default=_env("currency", defaults.currency),
                       help="ISO 4217 currency of sessions that name no tariff or currency")
    serve.add_argument("--session-patch-interval", type=float,
                       default=float(_env("session_patch_interval",
                                          str(defaults.session_patch_interval))),
                       help="seconds between two Session PATCHes to one partner")
    # Issue 5: token authorization and commands.
    serve.add_argument("--authorize-timeout", type=float,
                       default=float(_env("authorize_timeout", str(defaults.authorize_timeout))),
                       help="seconds to wait for an eMSP's real-time token authorization")
    serve.add_argument("--command-timeout", type=float,
                       default=float(_env("command_timeout", str(defaults.command_timeout))),
                       help="seconds the core has to answer an eMSP command or profile request")
    serve.add_argument("--partner-networks", default=_env("partner_networks", ""),
                       help="comma-separated CIDRs that every address of a partner we call "
                            "must be in (default: any but link-local)")
    serve.add_argument("--grpc-tls-cert", default=_env("grpc_tls_cert", ""),
                       help="PEM certificate chain of the gRPC listener (with --grpc-tls-key)")
    serve.add_argument("--grpc-tls-key", default=_env("grpc_tls_key", ""),
                       help="PEM private key of the gRPC listener")
    serve.add_argument("--grpc-client-ca", default=_env("grpc_client_ca", ""),
                       help="PEM CA certificates: gRPC callers must present a certificate "
                            "one of them issued (mutual TLS; needs --grpc-tls-cert)")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    database_option(db_commands.add_parser("upgrade", help="apply schema migrations"))
    database_option(db_commands.add_parser("seed", help="add a demo party, location, tariff"))
    return top


def _admin_key(given: str, key_file: str) -> Secret:
    """The given key, else the one in `key_file`, else the one kept in var/admin-key (made
    on first start, mode 0600). ValueError when the key file cannot be used."""
    if given:
        return Secret(given)
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read {key_file}: {error}") from None
        if not key:
            raise ValueError(f"{key_file} is empty")
        return Secret(key)
    if private_file(ADMIN_KEY_FILE):
        ADMIN_KEY_FILE.write_text(secrets.token_urlsafe(32) + "\n")
    return Secret(ADMIN_KEY_FILE.read_text().strip())


def bind(address: str) -> socket.socket:
    """A listening TCP socket for HOST:PORT (port 0 picks a free one)."""
    host, _, port = address.rpartition(":")
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    http_socket: socket.socket | None = None,
    on_ready: Callable[[int, int], None] | None = None,
) -> None:
    """Run gRPC and HTTP in this loop until `stop` is set; `on_ready(http_port, grpc_port)`."""
    from sidecar.servicers.server import ServerTls, create_server

    database = Database(settings.database)
    database.serving()
    await _prepare(database)
    sock = http_socket or bind(settings.http)
    http_port = sock.getsockname()[1]
    if settings.http.endswith(":0"):
        settings = replace(settings, http=f"{settings.http.rpartition(':')[0]}:{http_port}")
    config = server_config()
    # Hypercorn takes the descriptor over and closes it when it stops.
    config.bind = [f"fd://{sock.detach()}"]
    wakeup = Wakeup()
    policy = AddressPolicy(settings.partner_networks)
    tls = ServerTls.from_files(settings.grpc_tls_cert, settings.grpc_tls_key,
                               settings.grpc_client_ca) if settings.grpc_tls_cert else None
    try:
        async with outbound_http(policy=policy) as http:
            client = OCPIClient(http, policy)
            app = create_app(settings, database, client, wakeup)
            worker = PushWorker(database, client,
                                session_patch_interval=settings.session_patch_interval)
            wakeup.subscribe(worker.wake)
            grpc_server, grpc_port = await create_server(
                settings.grpc, database, wakeup, authorizer=OCPIAuthorizer(client),
                authorize_timeout=settings.authorize_timeout, currency=settings.currency,
                tls=tls)
            await grpc_server.start()
            http_task = asyncio.create_task(
                hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
            )
            push_task = asyncio.create_task(worker.run(stop))
            checkpoints = asyncio.create_task(database.checkpoint_wal(stop))
            await _announce(settings, database, grpc_port)
            if on_ready is not None:
                on_ready(http_port, grpc_port)
            await stop.wait()
            await grpc_server.stop(grace=5)
            await http_task
            await push_task
            await checkpoints
    finally:
        await database.dispose()


async def _prepare(database: Database) -> None:
    if database.is_sqlite:
        for name in await schema.upgrade(database):
            log.info("applied migration %s", name)
        return
    async with database.read() as connection:
        waiting = await connection.run_sync(migrations.pending)
    if waiting:
        raise SystemExit(f"the database needs {len(waiting)} migration(s): run "
                         "`ocpi-sidecar db upgrade --database …` first")


async def _announce(settings: Settings, database: Database, grpc_port: int) -> None:
    host = settings.grpc.rpartition(":")[0]
    security = ("mutual TLS" if settings.grpc_client_ca else "TLS"
                if settings.grpc_tls_cert else "plaintext")
    log.info("OCPI on %s (versions: %s), admin API on %s/admin/, gRPC on %s:%d (%s)",
             f"http://{settings.http}", settings.versions_url, settings.base_url, host, grpc_port,
             security)
    async with database.read() as connection:
        parties = await list_parties(connection)
    if not parties:
        log.warning("no CPO party yet: PUT %s/admin/parties/{country_code}/{party_id} with "
                    '{"business_details": {"name": …}}, or run `ocpi-sidecar db seed`',
                    settings.base_url)
    log.info("next: give an eMSP a token A (POST %s/admin/credentials-token-a) or register "
             "with one (POST %s/admin/partners {\"versions_url\", \"token\"}), with "
             "`Authorization: Bearer <admin key>`", settings.base_url, settings.base_url)


def _run_serve(arguments: argparse.Namespace, admin_key: Secret) -> None:
    settings = Settings(
        http=arguments.http, grpc=arguments.grpc, database=arguments.database,
        public_url=arguments.public_url, admin_key=admin_key,
        session_patch_interval=arguments.session_patch_interval,
        currency=arguments.currency.upper(),
        authorize_timeout=arguments.authorize_timeout, command_timeout=arguments.command_timeout,
        partner_networks=_networks(arguments.partner_networks),
        grpc_tls_cert=arguments.grpc_tls_cert, grpc_tls_key=arguments.grpc_tls_key,
        grpc_client_ca=arguments.grpc_client_ca,
    )
    if not (arguments.admin_key or arguments.admin_key_file):
        log.info("admin key: in %s", ADMIN_KEY_FILE.resolve())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)
        log.info("stopped")

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


def _networks(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _check_serve(top: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Refuse options that cannot work before anything starts, naming the option."""
    if not (len(arguments.currency) == 3 and arguments.currency.isalpha()):
        top.error(f"--currency: {arguments.currency!r} is not an ISO 4217 code like EUR")
    try:
        networks(_networks(arguments.partner_networks))
    except ValueError as error:
        top.error(f"--partner-networks: {error}")
    if bool(arguments.grpc_tls_cert) != bool(arguments.grpc_tls_key):
        top.error("--grpc-tls-cert and --grpc-tls-key go together")
    if arguments.grpc_client_ca and not arguments.grpc_tls_cert:
        top.error("--grpc-client-ca needs --grpc-tls-cert and --grpc-tls-key")
    for option in ("grpc_tls_cert", "grpc_tls_key", "grpc_client_ca"):
        path = getattr(arguments, option)
        if path and not os.access(path, os.R_OK):
            top.error(f"--{option.replace('_', '-')}: cannot read {path}")


def _run_db(arguments: argparse.Namespace) -> None:
    async def main() -> list[str]:
        database = Database(arguments.database)
        try:
            if arguments.db_command == "upgrade":
                return await schema.upgrade(database)
            return await seed.seed(database)
        finally:
            await database.dispose()

    done = asyncio.run(main())
    verb = "applied" if arguments.db_command == "upgrade" else "added"
    print("\n".join(f"{verb}: {item}" for item in done) or "nothing to do: up to date")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    logging.basicConfig(level=_env("log_level", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    top = parser()
    arguments = top.parse_args(argv)
    if arguments.command == "serve":
        _check_serve(top, arguments)
        if arguments.admin_key and arguments.admin_key_file:
            top.error("give --admin-key or --admin-key-file, not both")
        try:
            admin_key = _admin_key(arguments.admin_key, arguments.admin_key_file)
        except ValueError as error:
            top.error(f"--admin-key-file: {error}")
        _run_serve(arguments, admin_key)
    else:
        _run_db(arguments)
