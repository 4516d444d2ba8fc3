"""Three real `serve` replicas on one PostgreSQL database (a private cluster, so that a test
may stop it), behind a round-robin client: the core's gRPC calls and two eMSPs' OCPI calls
go to the replicas in turn, a call finding its replica dead is retried on the next one.

A bounded burst (EVSE statuses, transactions, eMSP commands carried out by a core that
keeps WatchCommands open) runs while one replica is SIGKILLed and restarted, or while
PostgreSQL is stopped and started again. Then: every acknowledged event is stored, every
eMSP holds from pushes what GET on our Sender interfaces answers, no command reaches the
core twice, every command result reaches its response_url. Also: a revoked token is refused
by every replica, and a command posted to a replica without the core's stream reaches it.

The killed replica (2) is one that holds no WatchCommands stream, so that no command may
legitimately reach the core twice; a redelivery after a stream ended (PostgreSQL outage)
is allowed only as the contract says (the earlier stream had ended before the core's
acknowledgement was answered OK). The outage is `pg_ctl stop -m fast`, probes of every
replica while it is down (a gRPC write must answer UNAVAILABLE, an OCPI GET HTTP 503 with
status_code 3000), then `pg_ctl start` of the same cluster: a restart whose gap lasts until
the probes have answered. Properties are collected and asserted together at the end of a
test, so that one failure does not hide the others.

Duplicates and reorderings of pushes, and revocation latencies, are counted and printed
(goals: 0, and < 100 ms), never asserted. Each test writes its report to
`<tmp_path>/replicas-report.txt` and prints one summary line even without `-s`; every
replica's log is in `<tmp_path>/replica-N/serve.log` and shown when a test fails.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from ocpi_sidecar.v1 import common_pb2 as common
from ocpi_sidecar.v1 import locations_pb2 as loc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.postgres_cluster import PostgresCluster, private_cluster
from tests.fixtures.replicas import (
    CALL_TIMEOUT,
    Core,
    GaveUp,
    Replica,
    RoundRobin,
    start_replicas,
    upgrade,
)
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.servicers.transaction_builders import end, start, tariff_request, token, ts

pytestmark = pytest.mark.anyio

REPLICAS = 3
# Pages of 10: GETs follow Link over the replicas in turn.
SERVE_ARGUMENTS = ("--session-patch-interval", "0.2", "--command-timeout", "60",
                   "--page-limit", "10")
STATUS_EVSES = ("E1", "E2", "E3", "E4")  # at LOC1, two connectors each
TX_EVSES = ("X1", "X2", "X3", "X4")  # at LOC2
STATUSES_PER_EVSE = 30
TRANSACTIONS_PER_EVSE = 6
COMMANDS_PER_EMSP = 15
CONVERGE_WITHIN = 45.0  # a killed worker's claims are taken over when their 10 s lease ends
STATUS_CYCLE = ("CHARGING", "AVAILABLE", "BLOCKED", "RESERVED", "INOPERATIVE", "OUTOFORDER")
PHASES = (0.4, 0.7)  # fractions of each worker's events before the fault, and while it lasts


# --- the stage: cluster, replicas, eMSPs, the site --------------------------------------


@dataclass
class Report:
    """Lines printed at the end (captured), written to a file, and one summary line."""

    path: Path
    lines: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)


@dataclass
class Stage:
    cluster: PostgresCluster
    database_url: str
    replicas: list[Replica]
    rr: RoundRobin
    core: Core
    emsps: list[FakeEmsp]
    partner_ids: list[int]
    http: httpx.AsyncClient
    report: Report
    # True while the test holds PostgreSQL stopped.
    db_down: bool = False
    # Base of the status events' timestamps: each EVSE's events are one second apart.
    base: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=2))


def site_location(location_id: str, uids: tuple[str, ...], connectors: int) -> Any:
    plugs = [loc.Connector(id=str(n + 1), standard=loc.CONNECTOR_TYPE_IEC_62196_T2,
                           format=loc.CONNECTOR_FORMAT_SOCKET,
                           power_type=loc.POWER_TYPE_AC_3_PHASE, max_voltage=230,
                           max_amperage=32, tariff_ids=["T1"]) for n in range(connectors)]
    evses = [loc.Evse(uid=uid, evse_id=f"NL*CPA*E{location_id}{uid}", connectors=plugs)
             for uid in uids]
    return loc.UpsertLocationRequest(idempotency_key=f"loc-{location_id}", location=loc.Location(
        id=location_id, party=common.PartyRef(country_code="NL", party_id="CPA"),
        publish=True, name=f"Site {location_id}", address="Oudegracht 1", city="Utrecht",
        postal_code="3511AA", country="NLD",
        coordinates=common.GeoLocation(latitude="52.09074", longitude="5.12142"),
        time_zone="Europe/Amsterdam", evses=evses))


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    with private_cluster() as started:
        yield started


@pytest.fixture
async def stage(cluster: PostgresCluster, emsp: FakeEmsp, second_emsp: FakeEmsp,
                tmp_path: Path, request: pytest.FixtureRequest,
                capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Stage]:
    """Three replicas on a fresh database of the private cluster, the CPO party, both eMSPs
    registered (through replica 0), a tariff and two locations pushed to both."""
    database_url = await cluster.create_database("sidecar")
    await upgrade(database_url, tmp_path)
    replicas = await start_replicas(REPLICAS, tmp_path, database_url, SERVE_ARGUMENTS)
    rr = RoundRobin(replicas)
    report = Report(tmp_path / "replicas-report.txt")
    core = Core(rr)
    async with httpx.AsyncClient() as http:
        try:
            first = replicas[0]
            party = await first.admin(http, "PUT", "/parties/NL/CPA",
                                      json={"business_details": {"name": "CPO A"}})
            assert party.status_code in (200, 201), party.text
            ids = []
            for fake in (emsp, second_emsp):
                registered = await first.admin(http, "POST", "/partners", json={
                    "versions_url": fake.versions_url, "token": fake.issue_token_a()})
                assert registered.status_code == 201, registered.text
                ids.append(int(registered.json()["id"]))
            await rr.grpc("UpsertTariff", lambda r: r.tariffs.UpsertTariff(
                tariff_request("T1"), timeout=CALL_TIMEOUT))
            for location_id, uids, plugs in (("LOC1", STATUS_EVSES, 2), ("LOC2", TX_EVSES, 1)):
                await rr.grpc("UpsertLocation", lambda r, i=location_id, u=uids, p=plugs:
                              r.locations.UpsertLocation(site_location(i, u, p),
                                                         timeout=CALL_TIMEOUT))
            wanted = {"locations/NL/CPA/LOC1", "locations/NL/CPA/LOC2"}
            await poll(lambda: all(wanted <= f.objects.keys() for f in (emsp, second_emsp)),
                       15, "both eMSPs got both locations pushed")
            yield Stage(cluster, database_url, replicas, rr, core, [emsp, second_emsp], ids,
                        http, report)
        finally:
            await core.close()
            await asyncio.gather(*(r.close() for r in replicas), return_exceptions=True)
            finish(report, replicas, request.node.name, capsys)


def finish(report: Report, replicas: list[Replica], test: str,
           capsys: pytest.CaptureFixture[str]) -> None:
    """Write the report and logs; print them (pytest shows them when the test failed) and
    one summary line (always)."""
    for replica in replicas:
        (replica.directory / "serve.log").write_text("".join(replica.lines))
        errors = replica.errors()
        report(f"{replica.name}: {len(replica.lines)} log lines, {len(errors)} at ERROR "
               f"(or tracebacks), exits {replica.exits}")
        for line in errors[:10]:
            report(f"    {line.rstrip()[:300]}")
    report.path.write_text("\n".join(report.lines) + "\n")
    print("\n".join(report.lines))
    for replica in replicas:
        # The outbound request lines (one per push) are only in the file.
        shown = [line for line in replica.lines if " INFO httpx: " not in line]
        print(f"----- {replica.name} log, but its outbound requests (last 80 lines; all in "
              f"{replica.directory / 'serve.log'}) -----")
        print("".join(shown[-80:]))
    with capsys.disabled():
        print(f"\n[replicas] {test}: {'; '.join(report.summary) or 'no summary'} "
              f"(report: {report.path})")


async def poll(condition: Callable[[], object], within: float, what: str) -> None:
    """Bounded polling: return once `condition()` (or what it awaits) is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.01)


# --- the burst --------------------------------------------------------------------------


@dataclass
class Attempt:
    """One POST of a command by an eMSP, with its own response_url."""

    emsp: int
    name: str
    response_url: str
    replica: int = -1
    http_status: int | None = None
    result: str | None = None  # CommandResponse.result, when the answer had one
    message: str = ""
    db_down: bool = False  # PostgreSQL was stopped when it was posted or answered
    stream_open: bool = True  # a core stream was open (settled) throughout the POST

    @property
    def path(self) -> str:
        return "/" + self.response_url.split("/", 3)[3]


@dataclass
class Burst:
    stage: Stage
    statuses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # uid -> acked
    starts: dict[str, int] = field(default_factory=dict)  # transaction id -> owner eMSP
    ends: set[str] = field(default_factory=set)
    attempts: list[Attempt] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    gates: list[asyncio.Event] = field(default_factory=lambda: [asyncio.Event()
                                                                for _ in PHASES])
    arrived: list[Counter[int]] = field(default_factory=lambda: [Counter() for _ in PHASES])
    reached: list[asyncio.Event] = field(default_factory=lambda: [asyncio.Event()
                                                                  for _ in PHASES])
    workers: int = 0
    aborted: bool = False

    def acknowledged(self) -> int:
        return (sum(len(v) for v in self.statuses.values()) + len(self.starts)
                + len(self.ends) + sum(a.result == "ACCEPTED" for a in self.attempts))

    async def gate(self, worker: int, done: int, total: int) -> None:
        """Before a worker's event `done` (of `total`): at each phase boundary say so and
        wait until the orchestrator opens the next phase."""
        for phase, fraction in enumerate(PHASES):
            if done == int(total * fraction):
                self.arrived[phase][worker] += 1
                if len(self.arrived[phase]) == self.workers:
                    self.reached[phase].set()
                await self.gates[phase].wait()

    async def run(self, fault: Callable[[Burst], Any]) -> None:
        """Every worker at once; `fault(burst)` orchestrates the phases."""
        workers: list[Any] = [self._statuses(uid) for uid in STATUS_EVSES]
        workers += [self._transactions(uid, n) for n, uid in enumerate(TX_EVSES)]
        workers += [self._commands(n) for n in range(len(self.stage.emsps))]
        self.workers = len(workers)

        async def orchestrate() -> None:
            try:
                await fault(self)
            finally:  # a failed fault must not leave the workers waiting
                for gate in self.gates:
                    gate.set()

        async with asyncio.timeout(150):
            await asyncio.gather(orchestrate(), *(self._worker(n, w)
                                                  for n, w in enumerate(workers)))

    async def _worker(self, n: int, work: Any) -> None:
        try:
            await work(n)
        except GaveUp as error:
            problem = f"the burst gave up on a call: {error}"
            if problem not in self.problems:
                self.problems.append(problem)
            self.aborted = True
        finally:
            # A worker that stopped early lets the phases go on without it.
            for phase in range(len(PHASES)):
                if n not in self.arrived[phase]:
                    self.arrived[phase][n] += 1
                    if len(self.arrived[phase]) == self.workers:
                        self.reached[phase].set()

    def _statuses(self, uid: str) -> Callable[[int], Any]:
        async def work(n: int) -> None:
            acked = self.statuses.setdefault(uid, [])
            for i in range(STATUSES_PER_EVSE):
                await self.gate(n, i, STATUSES_PER_EVSE)
                if self.aborted:
                    return
                status = STATUS_CYCLE[i % len(STATUS_CYCLE)]
                key = f"status-{uid}-{i}-{uuid.uuid4().hex[:8]}"
                request = loc.SetEvseStatusRequest(
                    idempotency_key=key, location_id="LOC1", evse_uid=uid,
                    timestamp=ts(self.stage.base + timedelta(seconds=i)),
                    ocpi_status=loc.EvseStatus.Value(f"EVSE_STATUS_{status}"))
                await self.stage.rr.grpc("SetEvseStatus", lambda r, q=request:
                                         r.locations.SetEvseStatus(q, timeout=CALL_TIMEOUT))
                acked.append((key, status))
        return work

    def _transactions(self, uid: str, evse_n: int) -> Callable[[int], Any]:
        async def work(n: int) -> None:
            for i in range(TRANSACTIONS_PER_EVSE):
                await self.gate(n, i, TRANSACTIONS_PER_EVSE)
                if self.aborted:
                    return
                owner = (i + evse_n) % 2
                party = ("DE", "EMP") if owner == 0 else ("FR", "MSP")
                tx = f"TX-{uid}-{i}-{uuid.uuid4().hex[:6]}"
                at = datetime(2026, 3, 2, 8, tzinfo=UTC) + timedelta(hours=i, minutes=evse_n)
                begin = start(tx, at=at, location_id="LOC2", evse_uid=uid, connector_id="1",
                              token=token(f"U{evse_n}{i:02d}", party=party,
                                          contract_id=f"{party[0]}-{party[1]}-C{evse_n}{i:02d}"))
                await self.stage.rr.grpc("StartTransaction",
                                         lambda r, q=begin: r.transactions.StartTransaction(
                                             q, timeout=CALL_TIMEOUT))
                self.starts[tx] = owner
                finish_ = end(tx, at=at + timedelta(minutes=20), meter_stop="14000")
                await self.stage.rr.grpc("EndTransaction",
                                         lambda r, q=finish_: r.transactions.EndTransaction(
                                             q, timeout=CALL_TIMEOUT))
                self.ends.add(tx)
        return work

    def _commands(self, emsp_n: int) -> Callable[[int], Any]:
        async def work(n: int) -> None:
            for i in range(COMMANDS_PER_EMSP):
                await self.gate(n, i, COMMANDS_PER_EMSP)
                if self.aborted:
                    return
                name = ("START_SESSION", "UNLOCK_CONNECTOR", "STOP_SESSION")[i % 3]
                own = [tx for tx, owner in self.starts.items() if owner == emsp_n]
                if name == "STOP_SESSION" and not own:
                    name = "START_SESSION"
                await post_command(self.stage, self, emsp_n, name,
                                   command_body(self.stage, emsp_n, name, own))
        return work


def command_body(stage: Stage, emsp_n: int, name: str, sessions: list[str]) -> dict[str, Any]:
    fake = stage.emsps[emsp_n]
    if name == "START_SESSION":
        return {"token": {**OFFICIAL, "country_code": fake.country_code,
                          "party_id": fake.party_id, "uid": f"CMD{emsp_n}",
                          "whitelist": "NEVER"},
                "location_id": "LOC1", "evse_uid": "E1", "connector_id": "1"}
    if name == "UNLOCK_CONNECTOR":
        return {"location_id": "LOC1", "evse_uid": "E2", "connector_id": "2"}
    return {"session_id": sessions[-1]}


async def post_command(stage: Stage, burst: Burst | None, emsp_n: int, name: str,
                       body: dict[str, Any], replica: Replica | None = None) -> Attempt:
    """An eMSP's command: POSTed to the next replica (or to `replica`); a dead replica or
    an HTTP 5xx makes it POST again (a new attempt, its own response_url) on the next one.
    Returns the attempt that got an OCPI answer."""
    fake = stage.emsps[emsp_n]
    rr = stage.rr
    failures = 0
    while True:
        attempt = Attempt(emsp_n, name, f"{fake.url}/ocpi/2.2.1/commands/{name}/"
                                        f"{uuid.uuid4().hex}")
        if burst is not None:
            burst.attempts.append(attempt)
        target = replica or rr.next()
        attempt.replica = target.index
        attempt.db_down = stage.db_down
        assert fake.http is not None and fake.token_for_cpo is not None
        posted_at = asyncio.get_running_loop().time()
        try:
            reply = await fake.call_cpo("POST", rr.url(fake, "commands", target, f"/{name}"),
                                        json={**body, "response_url": attempt.response_url},
                                        timeout=CALL_TIMEOUT)
        except httpx.TransportError as error:
            rr.tally[("POST commands", target.index, type(error).__name__)] += 1
            attempt.message = f"{type(error).__name__}: {error}"
        else:
            attempt.db_down = attempt.db_down or stage.db_down
            attempt.stream_open = stage.core.settled_stream(
                posted_at, asyncio.get_running_loop().time())
            rr.tally[("POST commands", target.index, str(reply.status_code))] += 1
            attempt.http_status = reply.status_code
            attempt.message = f"HTTP {reply.status_code}: {reply.text[:300]}"
            if reply.status_code < 500:
                data = reply.json().get("data") if reply.headers.get(
                    "content-type", "").startswith("application/json") else None
                if isinstance(data, dict):
                    attempt.result = data.get("result")
                    texts = [m.get("text", "") for m in data.get("message") or []]
                    attempt.message = f"{attempt.result}: {'; '.join(texts)}"
                return attempt
        failures += 1
        if replica is not None or failures > 60:
            return attempt
        rr.check_alive()
        await asyncio.sleep(min(0.5, 0.02 * 2 ** min(failures // REPLICAS, 5)))


# --- faults -----------------------------------------------------------------------------


def kill_and_restart(victim: int) -> Callable[[Burst], Any]:
    """Phase 0; SIGKILL the victim; phase 1 while it is down and restarting; phase 2 once
    it runs again (on the same ports) and every worker finished phase 1."""
    async def fault(burst: Burst) -> None:
        replica = burst.stage.replicas[victim]
        await burst.reached[0].wait()
        burst.stage.report(f"SIGKILL {replica.name} after {burst.acknowledged()} "
                           "acknowledged events")
        await replica.kill()
        burst.gates[0].set()
        await replica.start()
        burst.stage.report(f"{replica.name} restarted after {burst.acknowledged()} "
                           "acknowledged events")
        await burst.reached[1].wait()
        burst.gates[1].set()
    return fault


@dataclass
class Outage:
    """What the replicas answered while PostgreSQL was stopped (probes)."""

    grpc: dict[int, str] = field(default_factory=dict)
    ocpi: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def postgres_restart(outage: Outage) -> Callable[[Burst], Any]:
    """Phase 0, stop PostgreSQL (`pg_ctl stop -m fast`); while it is down the burst keeps
    trying and each replica is probed: a gRPC write must answer UNAVAILABLE, an OCPI GET
    HTTP 503 with status_code 3000; then start it again (the same cluster, port and data:
    a `pg_ctl restart -m fast` with the outage held open until the probes have answered)."""
    async def fault(burst: Burst) -> None:
        stage = burst.stage
        await burst.reached[0].wait()
        stage.report(f"stopping PostgreSQL after {burst.acknowledged()} acknowledged events")
        await asyncio.to_thread(stage.cluster.stop)
        stage.db_down = True
        burst.gates[0].set()
        try:
            await asyncio.gather(*(probe(stage, r, outage) for r in stage.replicas))
        finally:
            assert not stage.cluster.is_up(), "PostgreSQL came back during the probes"
            await asyncio.to_thread(stage.cluster.start)
            stage.db_down = False
        stage.report(f"PostgreSQL started again after {burst.acknowledged()} acknowledged "
                     "events")
        await burst.reached[1].wait()
        burst.gates[1].set()
    return fault


# gRPC details of a call that never reached a working server (the process is going away).
TRANSPORT_FAILURES = ("failed to connect", "Connection refused", "Socket closed",
                      "Connection reset")


async def stopping(replica: Replica) -> bool:
    """True when the replica exits within 6 s (a replica whose part failed stops the
    others, which takes up to a 5 s grace): its answers came from a process going away."""
    assert replica.process is not None
    try:
        async with asyncio.timeout(6):
            await asyncio.shield(replica.process.wait())
    except TimeoutError:
        return False
    return True


async def probe(stage: Stage, replica: Replica, outage: Outage) -> None:
    """While PostgreSQL is down: one gRPC write, and OCPI GETs until one is not answered
    from a cache (bounded). A replica that is not running (it exited) cannot be probed."""
    def exited() -> bool:
        if replica.alive:
            return False
        outage.grpc[replica.index] = outage.ocpi[replica.index] = f"exited {replica.exits}"
        outage.problems.append(f"{replica.name} could not be probed while PostgreSQL was "
                               f"down: it had exited ({replica.exits})")
        return True

    if exited():
        return
    request = loc.SetEvseStatusRequest(
        idempotency_key=f"probe-{replica.index}-{uuid.uuid4().hex}", location_id="LOC1",
        evse_uid="E1", timestamp=ts(stage.base - timedelta(days=1)),
        ocpi_status=loc.EVSE_STATUS_UNKNOWN)
    try:
        await replica.locations.SetEvseStatus(request, timeout=5)
    except grpc.aio.AioRpcError as error:
        answer = f"{error.code().name}: {error.details()}"
        going = error.code() == grpc.StatusCode.CANCELLED or any(
            words in str(error.details()) for words in TRANSPORT_FAILURES)
        problem = None if error.code() == grpc.StatusCode.UNAVAILABLE else (
            f"{replica.name}: a gRPC write while PostgreSQL was down answered "
            f"{error.code().name} ({error.details()}), not UNAVAILABLE")
    else:
        answer, going = "OK", False
        problem = (f"{replica.name}: a gRPC write answered OK while PostgreSQL was down "
                   "(acknowledged without being stored)")
    if going and await stopping(replica):
        exited()
        return
    outage.grpc[replica.index] = answer
    if problem:
        outage.problems.append(problem)
    fake = stage.emsps[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    answer = "no answer"
    going = False
    while loop.time() < deadline:
        try:
            reply = await fake.call_cpo("GET", stage.rr.url(fake, "locations", replica),
                                        params={"limit": "5", "offset": "0"}, timeout=5)
        except httpx.TransportError as error:
            answer, going = f"{type(error).__name__}: {error}", True
            break
        if reply.status_code == 200:
            await asyncio.sleep(0.05)
            answer = "HTTP 200 (from a cache) for 5 s"
            continue
        try:
            status_code = reply.json().get("status_code")
        except ValueError:
            status_code = None
        answer = f"HTTP {reply.status_code}, status_code {status_code}: {reply.text[:200]}"
        if reply.status_code == 503 and status_code == 3000:
            outage.ocpi[replica.index] = answer
            return
        break
    if going and await stopping(replica):
        exited()
        return
    outage.ocpi[replica.index] = answer
    outage.problems.append(f"{replica.name}: an OCPI GET while PostgreSQL was down answered "
                           f"{answer}; expected HTTP 503 with status_code 3000")


# --- what must hold after a burst -------------------------------------------------------


def parsed(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def location_view(location: dict[str, Any]) -> dict[str, Any]:
    """What must agree of a location: its fields but last_updated (an eMSP receiving an EVSE
    PATCH may or may not move it), and each EVSE with its status and last_updated."""
    view = {k: v for k, v in location.items() if k not in ("last_updated", "evses")}
    view["evses"] = {e["uid"]: {**{k: v for k, v in e.items() if k != "last_updated"},
                                "last_updated": parsed(e.get("last_updated"))}
                     for e in location.get("evses", [])}
    return view


def session_view(session: dict[str, Any]) -> dict[str, Any]:
    """A session but its charging_periods (a PATCH carries only the periods not held yet;
    the fake eMSP replaces the list), last_updated as a time."""
    view = {k: v for k, v in session.items() if k not in ("charging_periods", "last_updated")}
    view["last_updated"] = parsed(session.get("last_updated"))
    return view


async def gateway_view(stage: Stage, emsp_n: int) -> dict[str, dict[str, Any]]:
    fake = stage.emsps[emsp_n]
    kind = f"GET (eMSP {emsp_n})"
    return {
        "locations": {o["id"]: location_view(o)
                      for o in await stage.rr.pages(kind, fake, "locations")},
        "sessions": {o["id"]: session_view(o)
                     for o in await stage.rr.pages(kind, fake, "sessions")},
        "cdrs": {o["id"]: o for o in await stage.rr.pages(kind, fake, "cdrs")},
    }


def emsp_view(fake: FakeEmsp) -> dict[str, dict[str, Any]]:
    view: dict[str, dict[str, Any]] = {"locations": {}, "sessions": {}, "cdrs": {}}
    for key, value in list(fake.objects.items()):
        module = key.split("/")[0]
        if module == "locations":
            view[module][value["id"]] = location_view(value)
        elif module == "sessions":
            view[module][value["id"]] = session_view(value)
        elif module == "cdrs":
            view[module][value["id"]] = value
    return view


def differences(held: dict[str, dict[str, Any]], served: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for module in served:
        mine, theirs = held[module], served[module]
        if missing := sorted(theirs.keys() - mine.keys()):
            found.append(f"{module}: never pushed {len(missing)}: {missing[:5]}")
        if extra := sorted(mine.keys() - theirs.keys()):
            found.append(f"{module}: held but not served {len(extra)}: {extra[:5]}")
        for object_id in sorted(mine.keys() & theirs.keys()):
            if mine[object_id] != theirs[object_id]:
                a, b = mine[object_id], theirs[object_id]
                fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                detail = "; ".join(f"{k}: held {short(a.get(k))}, served {short(b.get(k))}"
                                   for k in fields[:4])
                found.append(f"{module}/{object_id} differs: {detail}")
    return found


def short(value: Any) -> str:
    text_ = repr(value)
    return text_ if len(text_) < 160 else text_[:160] + "…"


async def converged(stage: Stage, within: float = CONVERGE_WITHIN) -> list[str]:
    """Wait (bounded) until every eMSP holds what GET serves it; the differences left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        left = []
        for n, fake in enumerate(stage.emsps):
            left += [f"eMSP {n} ({fake.country_code}/{fake.party_id}): {d}"
                     for d in differences(emsp_view(fake), await gateway_view(stage, n))]
        if not left:
            return []
        if loop.time() > deadline:
            return left
        await asyncio.sleep(0.1)


def push_versions(fake: FakeEmsp) -> tuple[int, int, int, int, list[str]]:
    """(pushes, duplicates, reorderings, same-second versions, examples) of what the eMSP
    received. An object is the URL's object (a location, an EVSE, a session, a CDR); its
    version is the body's last_updated, which the sidecar stamps in whole seconds.

    A duplicate: a push whose body equals the last one pushed for that object (it changes
    nothing the eMSP holds; a CDR POSTed again). A reordering: a push whose last_updated is
    older than one that arrived before it for that object (an EVSE's versions also come
    inside its location's PUTs). Same-second versions: different bodies of one object with
    the same last_updated, which an eMSP cannot order."""
    last_body: dict[str, Any] = {}
    newest: dict[str, datetime] = {}
    pushes = duplicates = reorderings = same_second = 0
    examples: list[str] = []

    def arrive(key: str, stamp: datetime | None, what: str) -> int:
        if stamp is None:
            return 0
        last = newest.get(key)
        if last is not None and stamp < last:
            if len(examples) < 8:
                examples.append(f"reordered {what} {key}: {stamp.isoformat()} after "
                                f"{last.isoformat()}")
            return 1
        newest[key] = stamp
        return 0

    for received in fake.received:
        path = received.path.removeprefix("/ocpi/2.2.1/")
        module = path.split("/")[0]
        if received.method not in ("PUT", "PATCH", "POST") or module not in (
                "locations", "sessions", "cdrs", "tariffs") or not isinstance(
                received.body, dict):
            continue
        key = f"cdrs/{received.body.get('id')}" if module == "cdrs" else path
        stamp = parsed(received.body.get("last_updated"))
        pushes += 1
        before = last_body.get(key)
        if before == received.body:
            duplicates += 1
            if len(examples) < 8:
                examples.append(f"duplicate {received.method} {key} @ {stamp}")
        elif before is not None and parsed(before.get("last_updated")) == stamp:
            same_second += 1
        last_body[key] = received.body
        reorderings += arrive(key, stamp, received.method)
        if module == "locations" and received.method == "PUT":
            for evse in received.body.get("evses", []):
                reorderings += arrive(f"{key}/{evse['uid']}", parsed(evse.get("last_updated")),
                                      "EVSE in a location PUT")
    return pushes, duplicates, reorderings, same_second, examples


async def stored_rows(stage: Stage) -> tuple[set[str], dict[str, tuple[str, str]]]:
    """(idempotency keys, response_url -> (command id, status)) read from the database."""
    engine = create_async_engine(stage.database_url.replace("postgresql://",
                                                            "postgresql+asyncpg://"))
    try:
        async with engine.connect() as connection:
            keys = {row[0] for row in await connection.execute(
                text("SELECT key FROM idempotency_keys"))}
            commands = {row[0]: (row[1], row[2]) for row in await connection.execute(
                text("SELECT response_url, object_id, status FROM commands"))}
    finally:
        await engine.dispose()
    return keys, commands


async def diagnose(stage: Stage, object_ids: list[str]) -> None:
    """Into the report: what is left in the outbox, every push attempt of the objects that
    differ, and each partner's push status."""
    engine = create_async_engine(stage.database_url.replace("postgresql://",
                                                            "postgresql+asyncpg://"))
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM outbox ORDER BY id"))).all()
            stage.report(f"outbox: {len(rows)} rows left")
            for row in rows[:30]:
                stage.report(f"    {dict(row._mapping)}")
            for object_id in object_ids[:5]:
                attempts = (await connection.execute(text(
                    "SELECT * FROM push_attempts WHERE object_id = :id ORDER BY id"),
                    {"id": object_id})).all()
                stage.report(f"push attempts of {object_id}: {len(attempts)}")
                for row in attempts:
                    stage.report(f"    {dict(row._mapping)}")
    finally:
        await engine.dispose()
    for replica in (r for r in stage.replicas if r.alive):
        for partner in stage.partner_ids:
            reply = await replica.admin(stage.http, "GET", f"/partners/{partner}/push-status")
            stage.report(f"push-status of partner {partner} at {replica.name}: "
                         f"{reply.status_code} {reply.text[:1500]}")
        break


def results_at(fake: FakeEmsp, attempt: Attempt) -> list[Any]:
    return [r for r in fake.received if r.method == "POST" and r.path == attempt.path]


async def check_everything(burst: Burst, failures: list[str]) -> None:
    """Every property of the suite, each failure as a sentence in `failures`."""
    try:
        await _check_everything(burst, failures)
    except GaveUp as error:
        failures.append(f"the rest could not be checked: {error}")


async def _check_everything(burst: Burst, failures: list[str]) -> None:
    stage, core, report = burst.stage, burst.stage.core, burst.stage.report
    failures += burst.problems + core.problems

    # Commands: the answers the eMSPs got.
    answered = [a for a in burst.attempts if a.result is not None]
    accepted = [a for a in answered if a.result == "ACCEPTED"]
    # Refused while PostgreSQL was down: printed, not asserted (503 would let the eMSP retry).
    # Refused while no core stream was settled open (it had ended, the core reconnecting):
    # printed, not asserted either.
    refused_down = [a for a in answered if a.result != "ACCEPTED"
                    and (a.db_down or not a.stream_open)]
    refused = [a for a in answered if a.result != "ACCEPTED"
               and not a.db_down and a.stream_open]
    if refused_down:
        report(f"{len(refused_down)} commands answered while PostgreSQL was down or no core "
               f"stream was open were not ACCEPTED (not asserted): "
               f"{Counter(a.message for a in refused_down)}")
    if refused:
        streams = sorted({f"{s.consumer}@replica {s.replica}" for s in core.streams})
        by = Counter((a.replica, a.result) for a in refused)
        failures.append(
            f"{len(refused)} of {len(answered)} commands were not ACCEPTED though the core's "
            f"stream was open ({', '.join(streams)}): "
            + ", ".join(f"replica {r} {res} ×{n}" for (r, res), n in sorted(by.items()))
            + f"; e.g. {refused[0].message}")
    unanswered = [a for a in burst.attempts if a.result is None]
    report(f"command POSTs: {len(burst.attempts)} attempts, {len(accepted)} ACCEPTED, "
           f"{len(refused)} refused, {len(unanswered)} without an OCPI answer (dead replica or "
           f"5xx: {Counter(a.http_status or 'transport' for a in unanswered)})")

    # Results of what the core was given.
    try:
        await core.settle()
    except TimeoutError:
        failures.append("the core's acknowledgements and reports did not finish within 30 s")
    keys, commands = await stored_rows(stage)
    delivered = core.received_ids()
    lost = [a for a in accepted if a.response_url not in commands]
    if lost:
        failures.append(f"{len(lost)} ACCEPTED commands are not stored: e.g. {lost[0]}")
    try:
        await poll(lambda: not [a for a in accepted if a.response_url in commands
                                and commands[a.response_url][0] not in core.received_ids()],
                   20, "every ACCEPTED command reached the core")
        await core.settle()
        await poll(lambda: all(results_at(stage.emsps[a.emsp], a) for a in accepted), 20,
                   "every ACCEPTED command's result reached its response_url")
    except (AssertionError, TimeoutError):
        pass
    delivered = core.received_ids()
    undelivered = [a for a in accepted if a.response_url in commands
                   and commands[a.response_url][0] not in delivered]
    if undelivered:
        failures.append(f"{len(undelivered)} ACCEPTED commands never reached the core "
                        f"(posted to replicas {sorted(Counter(a.replica for a in undelivered))})")
    without_result = [a for a in accepted if not results_at(stage.emsps[a.emsp], a)]
    if without_result:
        failures.append(f"{len(without_result)} ACCEPTED commands' results never reached "
                        f"their response_url, e.g. {without_result[0].response_url}")
    wrong = [(a, results_at(stage.emsps[a.emsp], a)[0].body) for a in accepted
             if results_at(stage.emsps[a.emsp], a)
             and results_at(stage.emsps[a.emsp], a)[0].body != {"result": "ACCEPTED"}]
    if wrong:
        failures.append(f"{len(wrong)} command results are not what the core reported "
                        f"(ACCEPTED), e.g. {wrong[0][1]}")
    result_duplicates = sum(max(0, len(results_at(stage.emsps[a.emsp], a)) - 1)
                            for a in accepted)
    stray = sum(len(results_at(stage.emsps[a.emsp], a)) for a in unanswered)
    allowed, violations = core.redeliveries()
    if violations:
        failures.append(f"{len(violations)} commands reached the core twice: "
                        + "; ".join(violations[:5]))
    ended = [s for s in core.streams if s.ended is not None and s.end != "closed by the core"]
    report(f"core: {len(delivered)} commands over {len(core.streams)} stream calls "
           f"({Counter(f'{s.consumer}@{s.replica}' for s in core.streams)}), "
           f"per stream {[(s.consumer, s.replica, s.received) for s in core.streams]}; "
           f"{len(allowed)} redeliveries the contract allows; streams ended: "
           f"{[s.end for s in ended]}")
    keys, commands = await stored_rows(stage)
    status_of = {command_id: status for command_id, status in commands.values()}
    not_done = [cid for cid in core.reported if status_of.get(cid) != "DONE"]
    if not_done:
        failures.append(f"{len(not_done)} command results the core reported (answered OK) are "
                        "not stored as DONE: " + "; ".join(
                            f"{cid} is {status_of.get(cid, 'not stored')} (reported through "
                            f"replica {core.reported_by[cid][0]}, after_deadline "
                            f"{core.reported_by[cid][1]}, reported at #{core.reported[cid]}, "
                            f"acknowledged at #{core.acknowledged.get(cid)})"
                            for cid in not_done[:3]))
    report(f"command results: {sum(len(results_at(stage.emsps[a.emsp], a)) for a in accepted)}"
           f" POSTs for {len(accepted)} ACCEPTED commands, {result_duplicates} duplicates; "
           f"{stray} results for attempts that got no answer")

    # Every acknowledged core event is stored.
    status_keys = [key for acked in burst.statuses.values() for key, _ in acked]
    tx_keys = [f"{tx}:start" for tx in burst.starts] + [f"{tx}:end" for tx in burst.ends]
    missing = [key for key in status_keys + tx_keys if key not in keys]
    if missing:
        failures.append(f"{len(missing)} acknowledged core events have no stored idempotency "
                        f"key, e.g. {missing[:3]}")
    served = [await gateway_view(stage, n) for n in range(len(stage.emsps))]
    for uid, acked in burst.statuses.items():
        if acked:
            status = served[0]["locations"]["LOC1"]["evses"][uid]["status"]
            if status != acked[-1][1]:
                failures.append(f"EVSE {uid} is {status}, but its last acknowledged status "
                                f"event said {acked[-1][1]}")
    for tx, owner in burst.starts.items():
        session = served[owner]["sessions"].get(tx)
        if session is None:
            failures.append(f"acknowledged StartTransaction {tx}: no session for eMSP {owner}")
        elif tx in burst.ends and session["status"] != "COMPLETED":
            failures.append(f"acknowledged EndTransaction {tx}: session is {session['status']}")
    cdr_sessions = {c["session_id"] for view in served for c in view["cdrs"].values()}
    if no_cdr := sorted(burst.ends - cdr_sessions):
        failures.append(f"{len(no_cdr)} acknowledged EndTransactions have no CDR: {no_cdr[:3]}")
    report(f"acknowledged core events: {len(status_keys)} statuses, {len(burst.starts)} starts,"
           f" {len(burst.ends)} ends, {len(core.acknowledged)} acknowledgements, "
           f"{len(core.reported)} results; {burst.acknowledged()} acknowledged events in all")

    # Convergence of pushes with GET.
    left = await converged(stage)
    if left:
        failures.append(f"the eMSPs did not converge within {CONVERGE_WITHIN} s: "
                        + "; ".join(left[:8]))
        await diagnose(stage, sorted({found[1] for line in left
                                      if (found := re.search(r"\w+/(\S+) differs", line))}))
    for n, fake in enumerate(stage.emsps):
        pushes, duplicates, reorderings, same_second, examples = push_versions(fake)
        report(f"eMSP {n} ({fake.country_code}/{fake.party_id}): {pushes} pushes, "
               f"{duplicates} duplicates, {reorderings} reorderings (goal 0, not asserted); "
               f"{same_second} versions sharing the previous one's last_updated second")
        report.lines += [f"    {e}" for e in examples]
        report.summary.append(f"eMSP {n}: {duplicates} dup / {reorderings} reord of {pushes}")
    report.summary.insert(0, f"{burst.acknowledged()} acked events, {result_duplicates} "
                             f"duplicate results")

    # Calls per replica and outcome; replicas that died unasked.
    outcomes: Counter[tuple[int, str]] = Counter()
    for (_, replica, outcome), count in stage.rr.tally.items():
        outcomes[(replica, outcome)] += count
    report("attempts per replica and outcome: " + ", ".join(
        f"r{r} {o} ×{c}" for (r, o), c in sorted(outcomes.items())))
    unexpected = Counter((k, c) for k, _, c, _ in stage.rr.unexpected)
    if unexpected:
        first = stage.rr.unexpected[0]
        failures.append("gRPC answers other than OK and UNAVAILABLE: "
                        + ", ".join(f"{k} {c} ×{n}" for (k, c), n in unexpected.items())
                        + f" (e.g. replica {first[1]}: {first[3][:200]})")


def check_replicas_ran(stage: Stage, killed: set[int], failures: list[str]) -> None:
    for replica in stage.replicas:
        expected = [-9] if replica.index in killed else []
        if replica.exits != expected or not replica.alive:
            failures.append(f"{replica.name} exited {replica.exits} (expected {expected}) "
                            f"and is {'running' if replica.alive else 'not running'}")


def conclude(stage: Stage, failures: list[str]) -> None:
    for failure in failures:
        stage.report(f"FAILED: {failure}")
    assert not failures, f"{len(failures)} properties do not hold:\n- " + "\n- ".join(failures)


async def stream_ready(stage: Stage, replica: Replica, emsp_n: int = 0) -> None:
    """Bounded: a command posted to the stream's replica is ACCEPTED (the replica knows the
    stream is open) and the core receives it (it is acknowledged and reported)."""
    async def accepted() -> bool:
        attempt = await post_command(stage, None, emsp_n, "UNLOCK_CONNECTOR",
                                     command_body(stage, emsp_n, "UNLOCK_CONNECTOR", []),
                                     replica=replica)
        return attempt.result == "ACCEPTED"
    before = len(stage.core.deliveries)
    await poll(accepted, 15, f"a command posted to {replica.name}, where the core's stream "
                             "is, is ACCEPTED")
    await poll(lambda: len(stage.core.deliveries) > before, 15,
               "the core received the warm-up command")
    await stage.core.settle()
    for stream in stage.core.streams:
        if stream.replica == replica.index and stream.ended is None:
            stream.confirmed = True


# --- the tests --------------------------------------------------------------------------


async def test_a_burst_with_one_stream_survives_a_killed_replica(stage: Stage) -> None:
    stage.core.watch(stage.replicas[0], "core-1")
    await stream_ready(stage, stage.replicas[0])
    burst = Burst(stage)
    # Replica 2 holds no stream: no command is lost with it, so none may come twice.
    await burst.run(kill_and_restart(victim=2))
    failures: list[str] = []
    await check_everything(burst, failures)
    check_replicas_ran(stage, {2}, failures)
    conclude(stage, failures)


async def test_a_burst_with_two_streams_survives_a_killed_replica(stage: Stage) -> None:
    stage.core.watch(stage.replicas[0], "core-a")
    stage.core.watch(stage.replicas[1], "core-b")
    await stream_ready(stage, stage.replicas[0])
    await stream_ready(stage, stage.replicas[1])
    burst = Burst(stage)
    await burst.run(kill_and_restart(victim=2))
    failures: list[str] = []
    await check_everything(burst, failures)
    check_replicas_ran(stage, {2}, failures)
    conclude(stage, failures)


async def test_a_burst_survives_postgresql_restarting(stage: Stage) -> None:
    stage.core.watch(stage.replicas[0], "core-1")
    await stream_ready(stage, stage.replicas[0])
    burst = Burst(stage)
    outage = Outage()
    await burst.run(postgres_restart(outage))
    stage.report(f"while PostgreSQL was down: gRPC write {outage.grpc}; OCPI GET {outage.ocpi}")
    stage.report.summary.append("outage answers: gRPC " + ", ".join(
        f"r{r} {a.split(':')[0]}" for r, a in sorted(outage.grpc.items())) + "; OCPI " + ", ".join(
        f"r{r} {a.split(',')[0]}" for r, a in sorted(outage.ocpi.items())))
    failures = list(outage.problems)
    during: Counter[str] = Counter()
    for (_, _, outcome), count in stage.rr.tally.items():
        if outcome not in ("OK", "200"):
            during[outcome] += count
    stage.report(f"failed attempts of the burst (all phases): {dict(during)}")
    await check_everything(burst, failures)
    check_replicas_ran(stage, set(), failures)
    conclude(stage, failures)


async def test_a_revoked_token_is_refused_by_every_replica(stage: Stage) -> None:
    """eMSP 1 is unregistered by the CPO (admin DELETE through replica 0); eMSP 0 deletes
    its own credentials (DELETE /credentials through replica 1). Every replica must then
    refuse the revoked token with 401; the latency of each is printed (goal < 100 ms)."""
    latencies: dict[str, dict[int, float | None]] = {}
    failures: list[str] = []
    for n, how in ((1, "admin"), (0, "credentials")):
        fake = stage.emsps[n]
        revoked = fake.token_for_cpo
        assert revoked is not None

        async def get(replica: Replica, fake: FakeEmsp = fake,
                      revoked: str = revoked) -> httpx.Response:
            return await fake.call_cpo("GET", stage.rr.url(fake, "locations", replica),
                                       token=revoked, params={"limit": "1"},
                                       timeout=CALL_TIMEOUT)

        for replica in stage.replicas:  # every replica knows (and caches) the token
            for _ in range(2):
                reply = await get(replica)
                assert reply.status_code == 200, (replica.name, reply.text)
        if how == "admin":
            done = await stage.replicas[0].admin(stage.http, "DELETE",
                                                 f"/partners/{stage.partner_ids[n]}")
            assert done.status_code == 200, done.text
        else:
            done = await fake.call_cpo("DELETE", stage.rr.url(fake, "credentials",
                                                              stage.replicas[1]))
            assert done.status_code == 200 and done.json()["status_code"] == 1000, done.text
        loop = asyncio.get_running_loop()
        revoked_at = loop.time()

        async def refused(replica: Replica, revoked_at: float = revoked_at, get: Any = get,
                          loop: asyncio.AbstractEventLoop = loop) -> float | None:
            while loop.time() < revoked_at + 10:
                reply = await get(replica)
                if reply.status_code == 401:
                    return loop.time() - revoked_at
                if reply.status_code != 200:
                    failures.append(f"{replica.name} answered the revoked token HTTP "
                                    f"{reply.status_code}: {reply.text[:200]}")
                    return None
                await asyncio.sleep(0.003)
            return None

        found = await asyncio.gather(*(refused(r) for r in stage.replicas))
        latencies[how] = dict(enumerate(found))
        for replica, latency in zip(stage.replicas, found, strict=True):
            if latency is None:
                failures.append(f"{replica.name} still accepts the token revoked by {how} "
                                "10 s later")
        # Once refused, refused for good.
        for replica in stage.replicas:
            if latencies[how][replica.index] is not None:
                again = await get(replica)
                if again.status_code != 401:
                    failures.append(f"{replica.name} accepted the revoked token again "
                                    f"(HTTP {again.status_code})")
    for how, found in latencies.items():
        shown = ", ".join(f"replica {r}: " + (f"{s * 1000:.0f} ms" if s is not None else "never")
                          for r, s in found.items())
        stage.report(f"revocation by {how}: refused after {shown} (goal < 100 ms)")
        stage.report.summary.append(f"revocation by {how}: {shown}")
    conclude(stage, failures)


async def test_a_command_posted_where_the_stream_is_not_reaches_the_core(stage: Stage) -> None:
    stage.core.watch(stage.replicas[0], "core-1")
    await stream_ready(stage, stage.replicas[0])
    before = set(stage.core.received_ids())
    attempts = []
    for replica in stage.replicas[1:]:
        for n in range(len(stage.emsps)):
            for name in ("START_SESSION", "UNLOCK_CONNECTOR"):
                attempts.append(await post_command(stage, None, n, name,
                                                   command_body(stage, n, name, []),
                                                   replica=replica))
    refused = [a for a in attempts if a.result != "ACCEPTED"]
    assert not refused, (
        f"{len(refused)} of {len(attempts)} commands posted to replicas without the core's "
        "stream (it is on replica 0) were not ACCEPTED: "
        f"{[(f'replica {a.replica}', a.name, a.result) for a in refused]}; the first answer: "
        f"{refused[0].message}")
    _, commands = await stored_rows(stage)
    ids = {a.response_url: commands[a.response_url][0] for a in attempts}
    await poll(lambda: set(ids.values()) <= set(stage.core.received_ids()), 15,
               "every command reached the core (stream on replica 0)")
    await stage.core.settle()
    await poll(lambda: all(results_at(stage.emsps[a.emsp], a) for a in attempts), 15,
               "every command's result reached its response_url")
    received = stage.core.received_ids()
    twice = {cid: n for cid, n in received.items() if cid not in before and n > 1}
    assert not twice, f"commands reached the core more than once: {twice}"
    duplicates = sum(len(results_at(stage.emsps[a.emsp], a)) - 1 for a in attempts)
    stage.report(f"{len(attempts)} commands via replicas 1 and 2 reached the core on replica 0 "
                 f"once each; {duplicates} duplicate results")
    stage.report.summary.append(f"{len(attempts)} cross-replica commands, {duplicates} "
                                "duplicate results")
