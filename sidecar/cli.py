"""The `ocpi-sidecar` command: serve, db upgrade, db seed. The one module wiring both halves."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sidecar import logs
from sidecar.settings import Option, Secret, Settings, named, options
from sidecar.startup import BadConfiguration, StartupError, Stopping, Unavailable

if TYPE_CHECKING:
    import grpc

    from sidecar.store.engine import Database

# The heavy modules (grpc, hypercorn, SQLAlchemy, the gateway) are imported inside the
# functions that use them, after `main` has taken over SIGINT and SIGTERM: a stop during
# their import is then a clean stop, not a KeyboardInterrupt traceback or a lost signal.

log = logging.getLogger("ocpi_sidecar")
ADMIN_KEY_FILE = Path("var/admin-key")
# What the `db` commands take of the settings; `serve` takes them all.
DB_OPTIONS = ("database", "log_level", "log_format")
# After a stop, how long the parts may take to finish (gRPC and the push worker have 5 s
# of grace each) before the ones still running are cancelled.
STOP_LIMIT = 30.0


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are one line (the usage itself is behind --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    """The command line: each setting's flag, from its declaration in sidecar.settings."""
    top = _Parser(prog="ocpi-sidecar", description=__doc__)
    top.add_argument("--version", action="version",
                     version=f"%(prog)s {metadata.version('ocpi-sidecar')}")
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser(
        "serve", help="run the gRPC and OCPI servers",
        description="Run the gRPC and OCPI servers. Every option is also an environment "
                    "variable; a flag wins over it, it over the default.")
    for declared in options():
        _add_option(serve, declared)
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
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


def _admin_key(given: Secret | None, key_file: str) -> tuple[Secret, bool]:
    """The given key, else the one in `key_file`, else the one kept in var/admin-key; and
    whether that file is still to be written (`_keep_admin_key`, once serving can begin:
    a start that fails leaves nothing behind). ValueError when the key file cannot be used;
    Unavailable when var/admin-key could not be made."""
    if given is not None:
        return given, False
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read {key_file}: {error}") from None
        if not key:
            raise ValueError(f"{key_file} is empty")
        return Secret(key), False
    try:
        if ADMIN_KEY_FILE.exists():
            return Secret(ADMIN_KEY_FILE.read_text().strip()), False
        _check_writable(ADMIN_KEY_FILE)
    except OSError as error:
        raise _unwritable(ADMIN_KEY_FILE, error, named("admin_key_file")) from None
    return Secret(secrets.token_urlsafe(32)), True


def _check_writable(path: Path) -> None:
    """OSError unless `path` could be created: its nearest existing parent is a writable
    directory."""
    parent = next(p for p in path.absolute().parents if p.exists())
    if not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(parent))


def _unwritable(path: Path, error: OSError, option: str) -> Unavailable:
    where = error.filename or path
    return Unavailable(f"cannot write {path} ({where}: {error.strerror}): make the working "
                       f"directory writable or give {option}")


def _keep_admin_key(key: Secret) -> None:
    """Write the key made at start to var/admin-key (0600), and say where it is."""
    from sidecar.files import private_file

    try:
        if private_file(ADMIN_KEY_FILE):
            ADMIN_KEY_FILE.write_text(key.reveal() + "\n")
        elif ADMIN_KEY_FILE.read_text().strip() != key.reveal():
            raise Unavailable(f"{ADMIN_KEY_FILE} was written by another process meanwhile: "
                              "start again to use it")
    except OSError as error:
        raise _unwritable(ADMIN_KEY_FILE, error, named("admin_key_file")) from None
    log.info("admin key: in %s", ADMIN_KEY_FILE.resolve())


def bind(address: str, option: str = "http") -> socket.socket:
    """A listening TCP socket for HOST:PORT (port 0 picks a free one), never shared with
    another process (SO_REUSEADDR only, no SO_REUSEPORT). Unavailable naming the setting
    `option` when the address cannot be had."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        sock.listen(1024)
    except OSError as error:
        sock.close()
        raise Unavailable(f"{named(option)}: cannot listen on {address}: "
                          f"{_bind_problem(error)}") from None
    sock.set_inheritable(True)
    return sock


def _bind_problem(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is in use (another ocpi-sidecar?): stop that process or choose " \
               "another port"
    if error.errno == errno.EADDRNOTAVAIL:
        return "no interface of this machine has that address: give one it has, or 0.0.0.0"
    if error.errno == errno.EACCES:
        return "ports below 1024 need privileges: choose a higher port"
    if isinstance(error, socket.gaierror):
        return "the host name does not resolve: give an IP address"
    return error.strerror or str(error)


class PartFailed(Exception):
    """A part of `serve` failed or ended by itself; `serve` stopped the others."""


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    http_socket: socket.socket | None = None,
    admin_socket: socket.socket | None = None,
    on_ready: Callable[[int, int], None] | None = None,
    before_ready: Callable[[], None] | None = None,
) -> None:
    """Run gRPC, the OCPI and admin listeners and the push worker in this loop until `stop`
    is set; `before_ready()` once every listener is bound and the database reachable, then
    `on_ready(http_port, grpc_port)`. When one part fails or ends by itself, stop the others
    as `stop` would, then raise PartFailed; StartupError when it cannot start."""
    from hypercorn.asyncio import serve as hypercorn_serve

    from gateway.addresses import AddressPolicy
    from gateway.app import create_apps, server_config
    from gateway.authorize import OCPIAuthorizer
    from gateway.client import OCPIClient, outbound_http
    from gateway.push import PushWorker
    from gateway.readiness import Replica, is_ready
    from sidecar.servicers.health import Health
    from sidecar.servicers.server import ServerTls, create_server
    from sidecar.store import commands as command_store
    from sidecar.store.outbox import Wakeup
    from sidecar.store.signals import Listener

    # Listeners first, the database next: a start that cannot have its ports fails before
    # it has touched the database (or applied a migration).
    sock = http_socket or bind(settings.http, "http")
    admin_sock = admin_socket or bind(settings.admin, "admin")
    database = _database(settings.database)
    database.serving()
    http_port = sock.getsockname()[1]
    admin_port = admin_sock.getsockname()[1]
    if settings.http.endswith(":0"):
        settings = replace(settings, http=f"{settings.http.rpartition(':')[0]}:{http_port}")
    if settings.admin.endswith(":0"):
        settings = replace(settings,
                           admin=f"{settings.admin.rpartition(':')[0]}:{admin_port}")
    config, admin_config = server_config(), server_config()
    for each in (config, admin_config):
        # Hypercorn's errors through our handler and format (sidecar.logs), not its own.
        each.errorlog = logging.getLogger("hypercorn.error")
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
            grpc_server, grpc_port = await _grpc_server(create_server(
                settings.grpc, database, wakeup, authorizer=OCPIAuthorizer(client),
                authorize_timeout=settings.authorize_timeout, currency=settings.currency,
                tls=tls, health=health, max_in_flight=settings.grpc_max_in_flight),
                settings.grpc)
            try:
                if not await _until_stopped(stop, _prepare(database)):
                    await grpc_server.stop(None)
                    return
                if before_ready is not None:
                    before_ready()
            except BaseException:
                await grpc_server.stop(None)
                raise
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


def _database(url: str) -> Database:
    from sidecar.store.engine import Database

    try:
        return Database(url)
    except OSError as error:
        raise _unwritable(Path(error.filename or url), error, named("database")) from None


async def _until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` unless `stop` comes first (then cancel it): whether it was done."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()
    return True


async def _prepare(database: Database) -> None:
    """Reach the database and bring it to the schema (SQLite) or check it is (PostgreSQL:
    migrations there are the operator's `db upgrade`). Unavailable when it cannot."""
    from sidecar.store import migrations, schema

    try:
        if database.is_sqlite:
            for name in await schema.upgrade(database):
                log.info("applied migration %s", name)
            return
        async with database.read() as connection:
            waiting = await connection.run_sync(migrations.pending)
    except Exception as error:
        raise _database_problem(database.url, error) from None
    if waiting:
        raise Unavailable(f"{named('database')}: the database needs {len(waiting)} "
                          "migration(s): run `ocpi-sidecar db upgrade --database …` first")


def _database_problem(url: str, error: Exception) -> StartupError:
    """One line for a database that failed at start: what it said, and what to do."""
    from sqlalchemy.engine import make_url

    from sidecar.store.engine import DATABASE_ERRORS, unavailable

    if not isinstance(error, DATABASE_ERRORS):
        raise error
    shown = make_url(url).render_as_string(hide_password=True)
    cause: BaseException = error
    while (cause.__cause__ or getattr(cause, "orig", None)) is not None:
        cause = cause.__cause__ or getattr(cause, "orig", None) or cause
    said = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    advice = ("is it running, and are host and port right?" if unavailable(error)
              else "check the URL's user, password and database name")
    return Unavailable(f"{named('database')}: cannot use {shown}: {said}; {advice}")


async def _grpc_server(making: Awaitable[tuple[grpc.aio.Server, int]],
                       address: str) -> tuple[grpc.aio.Server, int]:
    """The gRPC server, bound; Unavailable naming --grpc when its port cannot be had."""
    try:
        server, port = await making
    except RuntimeError:
        port = 0
    if port == 0:
        # grpcio says only that it failed: a socket of ours finds out why.
        bind(address, "grpc").close()
        raise Unavailable(f"{named('grpc')}: cannot listen on {address}")
    return server, port


async def _announce(settings: Settings, database: Database, grpc_port: int) -> None:
    from sidecar.store.parties import list_parties

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


def _run_serve(settings: Settings, stopping: Stopping, new_key: bool) -> None:
    if settings.log_level != "DEBUG":
        # gRPC's C core writes to stderr past Python's logging, in a shape of its own (and
        # says again what we report in one line, like a port in use): silent unless the
        # operator asks for it with GRPC_VERBOSITY. Read when grpc is first imported.
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    key = settings.admin_key

    async def main() -> None:
        stop = stopping.in_loop()
        keep = partial(_keep_admin_key, key) if new_key and key is not None else None
        await serve(settings, stop, before_ready=keep)

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
    finally:
        stopping.after_loop()
    log.info("stopped")


def _check_serve(top: argparse.ArgumentParser, settings: Settings) -> None:
    """Refuse combinations of options that cannot work before anything starts."""
    if bool(settings.grpc_tls_cert) != bool(settings.grpc_tls_key):
        top.error("--grpc-tls-cert and --grpc-tls-key go together")
    if settings.grpc_client_ca and not settings.grpc_tls_cert:
        top.error("--grpc-client-ca needs --grpc-tls-cert and --grpc-tls-key")
    if settings.admin_key and settings.admin_key_file:
        top.error("give --admin-key or --admin-key-file, not both")


def _run_db(command: str, database_url: str, stopping: Stopping) -> None:
    from sidecar.store import schema, seed

    async def main() -> list[str] | None:
        stop = stopping.in_loop()
        database = _database(database_url)
        done: list[str] = []

        async def work() -> None:
            try:
                done.extend(await (schema.upgrade(database) if command == "upgrade"
                                   else seed.seed(database)))
            except Exception as error:
                raise _database_problem(database.url, error) from None

        try:
            finished = await _until_stopped(stop, work())
        finally:
            await database.dispose()
        return done if finished else None

    try:
        done = asyncio.run(main())
    finally:
        stopping.after_loop()
    if done is None:
        # Each command is one transaction: stopped before its commit, nothing changed.
        raise Unavailable(f"db {command}: stopped before it finished; nothing was changed")
    verb = "applied" if command == "upgrade" else "added"
    print("\n".join(f"{verb}: {item}" for item in done) or "nothing to do: up to date")


def main(argv: Sequence[str] | None = None, stopping: Stopping | None = None) -> None:
    """The command; `stopping` caught the stop signals before this module was imported
    (sidecar.startup.main), else they are caught from here on."""
    if stopping is None:
        stopping = Stopping()
        stopping.install()
    top = parser()
    arguments = top.parse_args(argv)
    values = resolve(top, arguments, os.environ)
    logs.setup(values["log_level"], values["log_format"])
    try:
        _start(top, arguments, values, stopping)
    except StartupError as error:
        log.error("%s", error.message)
        raise SystemExit(error.exit_code) from None


def _start(top: argparse.ArgumentParser, arguments: argparse.Namespace,
           values: dict[str, Any], stopping: Stopping) -> None:
    if arguments.command != "serve":
        _run_db(arguments.db_command, values["database"], stopping)
        return
    settings = Settings(**values)
    _check_serve(top, settings)
    try:
        admin_key, new_key = _admin_key(settings.admin_key, settings.admin_key_file)
    except ValueError as error:
        raise BadConfiguration(f"{named('admin_key_file')}: {error}") from None
    if stopping.requested is not None:
        log.info("stopped")
        return
    _run_serve(replace(settings, admin_key=admin_key), stopping, new_key)
