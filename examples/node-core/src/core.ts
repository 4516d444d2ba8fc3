// A model OCPP core in TypeScript: what a CSMS written for Node.js sends to ocpi-sidecar.
//
// It plays one charge point through a short day: the site configuration (tariff, location,
// EVSEs, connectors), status notifications, one authorised transaction with meter values,
// and one command from an eMSP, answered ACCEPTED. Each step prints one JSON line on
// stdout, so a test (or you) can follow it. A real core does the same calls from its OCPP
// message handlers; the comments say which OCPP message each call stands for.
//
// Usage: node dist/src/core.js --sidecar 127.0.0.1:50051 [--token-uid UID]
//                              [--command-timeout-s 60]

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseArgs } from "node:util";

import { TokenType } from "../gen/ocpi_sidecar/v1/common_pb.js";
import {
  AuthorizationResult,
  CommandResultType,
  CommandType,
  EvDriverService,
  type Command,
} from "../gen/ocpi_sidecar/v1/ev_driver_pb.js";
import {
  ConnectorFormat,
  ConnectorType,
  EvseStatus,
  LocationService,
  Ocpp16ChargePointStatus,
  PowerType,
  SetEvseStatusRequestSchema,
} from "../gen/ocpi_sidecar/v1/locations_pb.js";
import { TariffDimensionType, TariffService } from "../gen/ocpi_sidecar/v1/tariffs_pb.js";
import {
  ChargingState,
  Measurand,
  MeterValueSchema,
  StopReason,
  TransactionService,
  UnitOfMeasure,
} from "../gen/ocpi_sidecar/v1/transactions_pb.js";

// --- command line -------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    sidecar: { type: "string" },
    "token-uid": { type: "string", default: "NODE0001" },
    "command-timeout-s": { type: "string", default: "60" },
  },
});
if (!args.sidecar) {
  process.stderr.write("usage: core --sidecar HOST:PORT [--token-uid UID]\n");
  process.exit(2);
}

/** One progress line: {"step": ..., ...details}. */
function report(step: string, details: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ step, ...details }) + "\n");
}

// --- the connection -----------------------------------------------------------------------

// The gRPC protocol over HTTP/2 without TLS (h2c with prior knowledge), as the sidecar's
// plaintext listener speaks it. Keepalive pings make a dead connection show up on the
// long-lived WatchCommands stream instead of leaving it silent forever.
const transport = createGrpcTransport({
  baseUrl: `http://${args.sidecar}`,
  pingIntervalMs: 10_000,
  pingTimeoutMs: 5_000,
});
const locations = createClient(LocationService, transport);
const tariffs = createClient(TariffService, transport);
const transactions = createClient(TransactionService, transport);
const evDriver = createClient(EvDriverService, transport);

// The codes docs/contract.md calls transient: retry them, with the same request (so the
// same idempotency key), and the sidecar applies the write at most once.
const TRANSIENT = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Internal]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Send one unary request, retrying transient failures with exponential back-off. */
async function send<Req, Res>(
  call: (request: Req, options: { timeoutMs: number }) => Promise<Res>,
  request: Req,
): Promise<Res> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(request, { timeoutMs: 10_000 });
    } catch (thrown) {
      const error = ConnectError.from(thrown);
      if (!TRANSIENT.has(error.code) || attempt >= 8) throw error;
      report("retry", { code: Code[error.code], attempt });
      await sleep(Math.min(100 * 2 ** attempt, 5_000));
    }
  }
}

// --- the charge point this core manages ---------------------------------------------------

const PARTY = { countryCode: "NL", partyId: "CPA" };
const CHARGE_POINT = "CP-NODE-1";
const LOCATION_ID = "NODE-LOC1";
const TARIFF_ID = "NODE-T1";
// One run's OCPP message ids: a charge point numbers its messages itself; keys derived from
// them (`<charge point id>:<OCPP message id>`) make a retried message a no-op, while the
// next run (new messages) writes anew.
const RUN = Date.now().toString(36);
let messageNumber = 0;
const nextKey = () => `${CHARGE_POINT}:${RUN}-${++messageNumber}`;
// The charge point's clock: events are stamped with when they happened at the charge point,
// here a simulated quarter of an hour that ended just now.
const T0 = Date.now() - 15 * 60_000;
const at = (minutes: number) => timestampFromDate(new Date(T0 + minutes * 60_000));

function typeTwoSocket(id: string) {
  return {
    id,
    standard: ConnectorType.IEC_62196_T2,
    format: ConnectorFormat.SOCKET,
    powerType: PowerType.AC_3_PHASE,
    maxVoltage: 230,
    maxAmperage: 32,
    tariffIds: [TARIFF_ID],
  };
}

async function configureSite(): Promise<void> {
  // Tariffs first: connectors refer to them.
  await send(tariffs.upsertTariff, {
    idempotencyKey: `${TARIFF_ID}:1`,
    tariff: {
      id: TARIFF_ID,
      party: PARTY,
      currency: "EUR",
      elements: [{
        priceComponents: [
          { type: TariffDimensionType.FLAT, price: "0.50", vat: "21", stepSize: 1 },
          { type: TariffDimensionType.ENERGY, price: "0.30", vat: "21", stepSize: 1 },
        ],
      }],
    },
  });
  report("upsert_tariff", { tariff_id: TARIFF_ID });

  // The site as the core's configuration has it. Idempotency keys of configuration writes
  // name the revision: the same revision sent again changes nothing.
  await send(locations.upsertLocation, {
    idempotencyKey: `${LOCATION_ID}:rev1`,
    location: {
      id: LOCATION_ID,
      party: PARTY,
      publish: true,
      name: "Node Plaza",
      address: "Stationsplein 1",
      city: "Utrecht",
      postalCode: "3511ED",
      country: "NLD",
      coordinates: { latitude: "52.08940", longitude: "5.11040" },
      timeZone: "Europe/Amsterdam",
      evses: [{
        uid: "EVSE1",
        evseId: "NL*CPA*ENODE1",
        connectors: [typeTwoSocket("1")],
      }],
    },
  });
  report("upsert_location", { location_id: LOCATION_ID });

  // A second charge point was installed (BootNotification of a new station): its EVSE...
  await send(locations.upsertEvse, {
    idempotencyKey: `${LOCATION_ID}:EVSE2:rev1`,
    locationId: LOCATION_ID,
    evse: { uid: "EVSE2", evseId: "NL*CPA*ENODE2", connectors: [typeTwoSocket("1")] },
  });
  report("upsert_evse", { evse_uid: "EVSE2" });

  // ...and a cable fitted to it later: one connector more.
  await send(locations.upsertConnector, {
    idempotencyKey: `${LOCATION_ID}:EVSE2:2:rev1`,
    locationId: LOCATION_ID,
    evseUid: "EVSE2",
    connector: { ...typeTwoSocket("2"), format: ConnectorFormat.CABLE },
  });
  report("upsert_connector", { evse_uid: "EVSE2", connector_id: "2" });
}

/** An OCPP 1.6 StatusNotification.req of a connector shown as an EVSE. */
async function statusNotification(
  evseUid: string, status: Ocpp16ChargePointStatus, minute: number,
): Promise<void> {
  const answer = await send(locations.setEvseStatus, create(SetEvseStatusRequestSchema, {
    idempotencyKey: nextKey(),
    locationId: LOCATION_ID,
    evseUid,
    timestamp: at(minute),
    status: { case: "ocpp16Status", value: status },
  }));
  report("set_evse_status", {
    evse_uid: evseUid,
    ocpp16_status: Ocpp16ChargePointStatus[status],
    evse_status: EvseStatus[answer.evseStatus],
  });
}

function energyReading(minute: number, wh: number) {
  return create(MeterValueSchema, {
    timestamp: at(minute),
    sampledValues: [{
      value: String(wh),
      measurand: Measurand.ENERGY_ACTIVE_IMPORT_REGISTER,
      unit: UnitOfMeasure.WH,
    }],
  });
}

async function chargeOnce(tokenUid: string): Promise<void> {
  // Authorize.req: the driver holds a card to EVSE1's reader.
  const authorized = await send(evDriver.authorizeToken, {
    tokenUid,
    tokenType: TokenType.RFID,
    locationId: LOCATION_ID,
    evseUids: ["EVSE1"],
  });
  report("authorize_token", {
    token_uid: tokenUid,
    result: AuthorizationResult[authorized.result],
    authorization_reference: authorized.authorizationReference,
  });
  if (authorized.result !== AuthorizationResult.ALLOWED) {
    // Authorize.conf Invalid/Blocked: the charge point does not start.
    throw new Error(`token ${tokenUid} not allowed: ${AuthorizationResult[authorized.result]}`);
  }

  // StartTransaction.req: the transactionId the core returns is the OCPI session id.
  const transactionId = String(Math.floor(Date.now() / 1000));
  await send(transactions.startTransaction, {
    idempotencyKey: nextKey(),
    transactionId,
    locationId: LOCATION_ID,
    evseUid: "EVSE1",
    connectorId: "1",
    startedAt: at(2),
    // The eMSP that owns the token gets the session: its party and contract id come from
    // the AuthorizeToken answer, with the reference it gave.
    token: {
      uid: tokenUid,
      type: TokenType.RFID,
      contractId: authorized.token?.contractId ?? "",
      party: authorized.token?.party,
      authorizedBySidecar: true,
      authorizationReference: authorized.authorizationReference,
    },
    meterStartWh: "10000",
    chargingState: ChargingState.CHARGING,
  });
  report("start_transaction", { transaction_id: transactionId });
  await statusNotification("EVSE1", Ocpp16ChargePointStatus.CHARGING, 2);

  // MeterValues.req, one per OCPP message: each its own idempotency key. One call may carry
  // up to 500 of them (all or nothing).
  const readings = [[4, 10400], [6, 10800], [8, 11200]] as const;
  const meterEvents = readings.map(([minute, wh]) => ({
    idempotencyKey: nextKey(),
    transactionId,
    meterValues: [energyReading(minute, wh)],
  }));
  const stored = await send(transactions.reportMeterValues, { events: meterEvents });
  report("report_meter_values", {
    transaction_id: transactionId,
    events: meterEvents.length,
    stored: stored.storedEventCount,
  });

  // StopTransaction.req: closes the session; the sidecar makes the CDR.
  await send(transactions.endTransaction, {
    idempotencyKey: nextKey(),
    transactionId,
    endedAt: at(10),
    meterStopWh: "11500",
    stopReason: StopReason.EV_DISCONNECTED,
  });
  report("end_transaction", { transaction_id: transactionId });
  await statusNotification("EVSE1", Ocpp16ChargePointStatus.FINISHING, 10);
  await statusNotification("EVSE1", Ocpp16ChargePointStatus.AVAILABLE, 11);
}

// --- commands from eMSPs ------------------------------------------------------------------

/** What the charge point answered; a real core sends the OCPP request and maps its reply. */
async function carryOut(command: Command): Promise<CommandResultType> {
  switch (command.payload.case) {
    case "unlockConnector":
      // UnlockConnector.req → UnlockConnector.conf Unlocked.
      return CommandResultType.ACCEPTED;
    case "startSession":
      // RemoteStartTransaction.req → Accepted (the transaction follows as usual).
      return CommandResultType.ACCEPTED;
    default:
      // This example's charge point knows no other command.
      return CommandResultType.NOT_SUPPORTED;
  }
}

/** Watch for commands until one is answered, reconnecting when the stream ends. */
async function answerOneCommand(timeoutS: number): Promise<void> {
  const stop = AbortSignal.timeout(timeoutS * 1000);
  const done = new AbortController();
  const signal = AbortSignal.any([stop, done.signal]);
  for (let attempt = 1; ; attempt++) {
    try {
      report("watch_commands", { consumer_id: CHARGE_POINT, attempt });
      // A stable consumer id: a reconnecting core takes over its own stream (and what it
      // held) rather than opening a second one.
      for await (const { command } of evDriver.watchCommands(
        { consumerId: CHARGE_POINT }, { signal })) {
        if (command === undefined) continue;
        report("command", {
          command_id: command.commandId,
          type: CommandType[command.type],
          delivery_count: command.deliveryCount,
        });
        // Confirm receipt at once, so the command is not re-sent while the charge point
        // works on it; then report the outcome.
        await send(evDriver.acknowledgeCommand, {
          idempotencyKey: `${command.commandId}:ack`,
          commandId: command.commandId,
          consumerId: CHARGE_POINT,
        });
        const result = await carryOut(command);
        const answer = await send(evDriver.reportCommandResult, {
          idempotencyKey: `${command.commandId}:result`,
          commandId: command.commandId,
          result,
        });
        report("report_command_result", {
          command_id: command.commandId,
          result: CommandResultType[result],
          after_deadline: answer.afterDeadline,
        });
        done.abort();
        return;
      }
    } catch (thrown) {
      if (done.signal.aborted) return;
      if (stop.aborted) throw new Error(`no command within ${timeoutS} s`);
      const error = ConnectError.from(thrown);
      report("stream_ended", { code: Code[error.code], message: error.rawMessage });
    }
    if (stop.aborted) throw new Error(`no command within ${timeoutS} s`);
    await sleep(Math.min(100 * 2 ** attempt, 5_000));
  }
}

// --- the day ------------------------------------------------------------------------------

async function main(): Promise<void> {
  await configureSite();
  // The charge points connect and report their connectors (StatusNotification.req).
  await statusNotification("EVSE1", Ocpp16ChargePointStatus.AVAILABLE, 0);
  await statusNotification("EVSE2", Ocpp16ChargePointStatus.AVAILABLE, 0);
  await statusNotification("EVSE2", Ocpp16ChargePointStatus.UNAVAILABLE, 1);
  await statusNotification("EVSE1", Ocpp16ChargePointStatus.PREPARING, 1);
  await chargeOnce(args["token-uid"]!);
  await answerOneCommand(Number(args["command-timeout-s"]));
  report("done");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    report("failed", { error: String(error instanceof Error ? error.message : error) });
    process.exit(1);
  },
);
