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
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import grpc
from hypercorn.asyncio import serve as hypercorn_serve

from gateway.addresses import AddressPolicy
from gateway.app import create_apps, server_config
from gateway.authorize import OCPIAuthorizer
from gateway.client import OCPIClient, outbound_http
from gateway.push import PushWorker
from gateway.readiness import Replica, is_ready
from sidecar.files import private_file
from sidecar.settings import Option, Secret, Settings, options
from sidecar.store import commands as command_store
from sidecar.store import migrations, schema, seed
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.parties import list_parties
from sidecar.store.signals import Listener

log = logging.getLogger("ocpi_sidecar")
ADMIN_KEY_FILE = Path("var/admin-key")
# What the `db` commands take of the settings; `serve` takes them all.
DB_OPTIONS = ("database", "log_level")
# After a stop, how long the parts may take to finish (gRPC and the push worker have 5 s
# of grace each) before the ones still running are cancelled.
STOP_LIMIT = 30.0


def parser() -> argparse.ArgumentParser:
    """The command line: each setting's flag, from its declaration in sidecar.settings."""
    top = argparse.ArgumentParser(prog="ocpi-sidecar", description=__doc__)
    top.add_argument("--version", action="version",
                     version=f"%(prog)s {metadata.version('ocpi-sidecar')}")
    commands = top.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the gRPC and OCPI servers",
        description="Run the gRPC and OCPI servers. Every option is also an environment "
                    "variable; a flag wins over it, it over the default.")
    for declared in options():
        _add_option(serve, declared)
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, meaning in (("upgrade", "apply schema migrations"),
                          ("seed", "add a demo party, location, tariff")):
        command = db_commands.add_parser(name, help=meaning)
        for declared in options():
            if declared.name in DB_OPTIONS:
                _add_option(command, declared)
    return top


def _add_option(command: argparse.ArgumentParser, declared: Option) -> None:
    # No argparse default: None means "not given", so that the environment comes next.
    meaning = declared.meaning.replace("`", "").replace("%", "%%")
    shown = declared.default_text.replace("`", "").replace("%", "%%")
    default = "" if shown == "—" else f"default: {shown}; "
    command.add_argument(declared.flag, dest=declared.name, metavar=declared.metavar,
                         type=_parser_of(declared),
                         help=f"{meaning} ({default}env {declared.env})")


def _parser_of(declared: Option) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return declared.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(
                "not valid" if declared.secret else str(error)) from None
    return parse


def resolve(top: argparse.ArgumentParser, arguments: argparse.Namespace,
            environ: Mapping[str, str]) -> dict[str, Any]:
    """The command's settings: flag, else its environment variable, else the default. A bad
    environment value is a usage error naming the variable."""
    values = {}
    for declared in options():
        if not hasattr(arguments, declared.name):
            continue
        value = getattr(arguments, declared.name)
        # An empty variable counts as unset, as `NAME=` in an env file usually means.
        text = environ.get(declared.env, "")
        if value is None and text:
            try:
                value = declared.parse(text)
            except ValueError as error:
                reason = "not valid" if declared.secret else str(error)
                top.error(f"{declared.env} ({declared.flag}): {reason}")
        values[declared.name] = declared.default if value is None else value
    return values


def _admin_key(given: Secret | None, key_file: str) -> Secret:
    """The given key, else the one in `key_file`, else the one kept in var/admin-key (made
    on first start, mode 0600). ValueError when the key file cannot be used."""
    if given is not None:
        return given
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


class PartFailed(Exception):
    """A part of `serve` failed or ended by itself; `serve` stopped the others."""


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    http_socket: socket.socket | None = None,
    admin_socket: socket.socket | None = None,
    on_ready: Callable[[int, int], None] | None = None,
) -> None:
    """Run gRPC, the OCPI and admin listeners and the push worker in this loop until `stop`
    is set; `on_ready(http_port, grpc_port)`. When one part fails or ends by itself, stop
    the others as `stop` would, then raise PartFailed."""
    from sidecar.servicers.health import Health
    from sidecar.servicers.server import ServerTls, create_server

    database = Database(settings.database)
    database.serving()
    await _prepare(database)
    sock = http_socket or bind(settings.http)
    admin_sock = admin_socket or bind(settings.admin)
    http_port = sock.getsockname()[1]
    admin_port = admin_sock.getsockname()[1]
    if settings.http.endswith(":0"):
        settings = replace(settings, http=f"{settings.http.rpartition(':')[0]}:{http_port}")
    if settings.admin.endswith(":0"):
        settings = replace(settings,
                           admin=f"{settings.admin.rpartition(':')[0]}:{admin_port}")
    config, admin_config = server_config(), server_config()
    # Hypercorn takes the descriptors over and closes them when it stops.
    config.bind = [f"fd://{sock.detach()}"]
    admin_config.bind = [f"fd://{admin_sock.detach()}"]
    wakeup = Wakeup()
    policy = AddressPolicy(settings.partner_networks)
    tls = ServerTls.from_files(settings.grpc_tls_cert, settings.grpc_tls_key,
                               settings.grpc_client_ca) if settings.grpc_tls_cert else None
    try:
        async with outbound_http(policy=policy) as http:
            client = OCPIClient(http, policy)
            heartbeat = command_store.heartbeat(database, wakeup.notify)
            listener = Listener(database)
            worker = PushWorker(database, client, heartbeat=heartbeat,
                                session_patch_interval=settings.session_patch_interval)
            apps = create_apps(settings, database, client, wakeup,
                               replica=Replica(heartbeat, listener, worker))
            wakeup.subscribe(worker.wake)
            health = Health()
            grpc_server, grpc_port = await create_server(
                settings.grpc, database, wakeup, authorizer=OCPIAuthorizer(client),
                authorize_timeout=settings.authorize_timeout, currency=settings.currency,
                tls=tls, health=health)
            await grpc_server.start()
            parts: dict[str, Coroutine[Any, Any, object]] = {
                "gRPC server": grpc_server.wait_for_termination(),
                "HTTP server": hypercorn_serve(
                    apps.ocpi, config, shutdown_trigger=stop.wait),  # type: ignore[arg-type]
                "admin server": hypercorn_serve(
                    apps.admin, admin_config,  # type: ignore[arg-type]
                    shutdown_trigger=stop.wait),
                "push worker": worker.run(stop),
                "heartbeat": heartbeat.run(stop),
                "gRPC health": health.follow(
                    lambda: is_ready(database, apps.services.replica), stop),
            }
            if not database.is_sqlite:
                parts["change listener"] = listener.run(stop)
            if database.is_sqlite:
                parts["WAL checkpoints"] = database.checkpoint_wal(stop)
            failed = await _supervise(parts, stop, grpc_server, ready=lambda: _ready(
                settings, database, http_port, grpc_port, on_ready))
    finally:
        # Only now: the push worker has recorded its last deliveries (or given them back).
        await database.dispose()
    if failed:
        raise PartFailed(", ".join(failed))


async def _supervise(
    parts: dict[str, Coroutine[Any, Any, object]],
    stop: asyncio.Event,
    grpc_server: grpc.aio.Server,
    ready: Callable[[], Awaitable[None]],
) -> list[str]:
    """Run the parts until `stop`, or until one fails or ends, which sets `stop`: the
    others then stop as on SIGTERM (the push worker finishes its grace period). The names
    of the parts that failed, or that STOP_LIMIT seconds after the stop were still running."""
    failed: list[str] = []
    loop = asyncio.get_running_loop()
    tasks = {}
    try:
        async with asyncio.timeout(None) as deadline, asyncio.TaskGroup() as group:
            for name, part in parts.items():
                tasks[name] = group.create_task(_watch(name, part, stop, failed))
            await ready()
            await stop.wait()
            deadline.reschedule(loop.time() + STOP_LIMIT)
            # grpc.aio stops on its own call, not on an event: its part then ends.
            await grpc_server.stop(grace=5)
    except TimeoutError:
        late = [name for name, task in tasks.items() if task.cancelled()]
        log.error("%s did not stop within %g s after the stop: cancelled", ", ".join(late),
                  STOP_LIMIT)
        failed += late
    return failed


async def _watch(name: str, part: Awaitable[object], stop: asyncio.Event,
                 failed: list[str]) -> None:
    """Await one part; when it raises, or returns before `stop`, say so and set `stop`."""
    try:
        await part
    except Exception as error:
        # One line for the operator; the traceback for whoever runs at DEBUG.
        log.debug("%s failed", name, exc_info=True)
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    else:
        if stop.is_set():
            return
        reason = "it ended by itself"
    log.error("%s stopped: %s; stopping the others", name, reason.rstrip(": "))
    failed.append(name)
    stop.set()


async def _ready(settings: Settings, database: Database, http_port: int, grpc_port: int,
                 on_ready: Callable[[int, int], None] | None) -> None:
    await _announce(settings, database, grpc_port)
    if on_ready is not None:
        on_ready(http_port, grpc_port)


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
             f"http://{settings.http}", settings.versions_url, settings.admin_url, host,
             grpc_port, security)
    async with database.read() as connection:
        parties = await list_parties(connection)
    if not parties:
        log.warning("no CPO party yet: PUT %s/admin/parties/{country_code}/{party_id} with "
                    '{"business_details": {"name": …}}, or run `ocpi-sidecar db seed`',
                    settings.admin_url)
    log.info("next: give an eMSP a token A (POST %s/admin/credentials-token-a) or register "
             "with one (POST %s/admin/partners {\"versions_url\", \"token\"}), with "
             "`Authorization: Bearer <admin key>`", settings.admin_url, settings.admin_url)


def _run_serve(settings: Settings) -> None:
    if not (settings.admin_key or settings.admin_key_file):
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
        run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    else:
        run = uvloop.run
    try:
        run(main())
    except PartFailed:
        # Already logged, with the reason, when it happened.
        raise SystemExit(1) from None


def _check_serve(top: argparse.ArgumentParser, settings: Settings) -> None:
    """Refuse combinations of options that cannot work before anything starts."""
    if bool(settings.grpc_tls_cert) != bool(settings.grpc_tls_key):
        top.error("--grpc-tls-cert and --grpc-tls-key go together")
    if settings.grpc_client_ca and not settings.grpc_tls_cert:
        top.error("--grpc-client-ca needs --grpc-tls-cert and --grpc-tls-key")
    if settings.admin_key and settings.admin_key_file:
        top.error("give --admin-key or --admin-key-file, not both")


def _run_db(command: str, database_url: str) -> None:
    async def main() -> list[str]:
        database = Database(database_url)
        try:
            if command == "upgrade":
                return await schema.upgrade(database)
            return await seed.seed(database)
        finally:
            await database.dispose()

    done = asyncio.run(main())
    verb = "applied" if command == "upgrade" else "added"
    print("\n".join(f"{verb}: {item}" for item in done) or "nothing to do: up to date")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    top = parser()
    arguments = top.parse_args(argv)
    values = resolve(top, arguments, os.environ)
    logging.basicConfig(level=values["log_level"], stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if arguments.command != "serve":
        _run_db(arguments.db_command, values["database"])
        return
    settings = Settings(**values)
    _check_serve(top, settings)
    try:
        admin_key = _admin_key(settings.admin_key, settings.admin_key_file)
    except ValueError as error:
        top.error(f"--admin-key-file: {error}")
    _run_serve(replace(settings, admin_key=admin_key))
