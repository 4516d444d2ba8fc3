"""The tables: OCPI documents as validated JSON plus the columns we query by."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)

metadata = MetaData()

# Applied migrations (see sidecar/store/migrations).
schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# The CPO parties this sidecar operates; all of them go into every credentials object.
parties = Table(
    "parties",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("role", String(8), nullable=False, default="CPO"),
    # BusinessDetails as stored JSON (name, website, logo).
    Column("business_details", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("country_code", "party_id", "role", name="uq_parties_party"),
)

# Registration tokens (CREDENTIALS_TOKEN_A) we issued; stored as SHA-256 only.
registration_tokens = Table(
    "registration_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=True),
    # Whether the partner that registers with this token wants our token Base64-encoded.
    Column("token_base64", Boolean, nullable=False, default=True),
)

# Roaming partners (eMSP platforms). One row per platform, whichever side started.
partners = Table(
    "partners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # PENDING (we are registering), REGISTERED, UNREGISTERED.
    Column("status", String(16), nullable=False),
    Column("versions_url", String(255), nullable=False),
    Column("version", String(10), nullable=True),
    # [{"identifier", "role", "url"}] of the chosen version.
    Column("endpoints", JSON, nullable=False),
    # [{"role", "country_code", "party_id", "business_details"}] the partner declared.
    Column("roles", JSON, nullable=False),
    # The token we send when calling the partner (theirs to check, so kept as given).
    Column("outbound_token", String(64), nullable=True),
    # False for old peers that want the token unencoded in the Authorization header.
    Column("outbound_token_base64", Boolean, nullable=False, default=True),
    # SHA-256 of the token the partner uses to call us; never stored in clear.
    Column("inbound_token_hash", LargeBinary(32), nullable=True, unique=True),
    # A second accepted token while we rotate credentials (between our PUT and its answer).
    Column("pending_token_hash", LargeBinary(32), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Push health, per partner: backoff applies to all of its outbox entries.
    Column("push_failures", Integer, nullable=False, default=0),
    Column("push_failing_since", DateTime(timezone=True), nullable=True),
    Column("push_backoff_until", DateTime(timezone=True), nullable=True),
    Column("push_last_error", String(1000), nullable=True),
    Column("push_last_success_at", DateTime(timezone=True), nullable=True),
    # Tokens module: when we last pulled the partner's Tokens Sender list, so the
    # next refresh asks only for what changed since (date_from).
    Column("tokens_pulled_at", DateTime(timezone=True), nullable=True),
)

Index("ix_partners_status", partners.c.status)

# Which registered partner holds each party it declared (country_code and party_id upper
# case). The primary key is what makes a party held by one partner at most: two concurrent
# registrations claiming one party cannot both insert it, whichever replica runs them.
party_holders = Table(
    "party_holders",
    metadata,
    Column("country_code", String(2), primary_key=True),
    Column("party_id", String(3), primary_key=True),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=False),
    # True when the partner is a hub that lists the party behind itself (HubClientInfo),
    # False for a party of the partner's own credentials roles. The roles' claims never
    # release a hub's parties, nor a HubClientInfo refresh the roles'.
    Column("via_hub", Boolean, nullable=False, default=False),
)
Index("ix_party_holders_partner", party_holders.c.partner_id)

# What a hub reports of each party it connects (mod_hub_client_info ClientInfo), country
# code and party id upper case. Kept for every party it lists (also those held by another
# partner, or ours), so that the admin view shows the hub's report as it is; the claim of a
# party is in party_holders. Pushes addressed to a party whose status here is not CONNECTED
# wait (outbox claim).
hub_clients = Table(
    "hub_clients",
    metadata,
    Column("partner_id", Integer, ForeignKey("partners.id"), primary_key=True),
    Column("country_code", String(2), primary_key=True),
    Column("party_id", String(3), primary_key=True),
    Column("role", String(8), nullable=False),
    # ConnectionStatus: CONNECTED, OFFLINE, PLANNED, SUSPENDED.
    Column("status", String(16), nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
)


def _document_table(name: str, object_id_length: int, *, ci_ids: bool = False) -> Table:
    """An OCPI object owned by one of our parties: its JSON bytes plus the columns we query by."""
    table = Table(
        name,
        metadata,
        Column("pk", Integer, primary_key=True, autoincrement=True),
        Column("country_code", String(2), nullable=False),
        Column("party_id", String(3), nullable=False),
        Column("object_id", String(object_id_length), nullable=False),
        # The object exactly as served and pushed (validated, encoded once at write time).
        Column("document", LargeBinary, nullable=False),
        Column("last_updated", DateTime(timezone=True), nullable=False),
        UniqueConstraint("country_code", "party_id", "object_id", name=f"uq_{name}_object"),
    )
    # Lists page in creation order (pk), which never changes for an object, so a partner
    # crawling pages while objects change sees each once; `last_updated` rides along in the
    # index for date_from/date_to, so a page's keys come from the index alone.
    Index(f"ix_{name}_page", table.c.pk, table.c.last_updated)
    # Ids are unique across our parties in practice; the core addresses objects by id alone.
    if ci_ids:
        # CiString ids (locations, tariffs) are looked up in any case (documents.id_is).
        Index(f"ix_{name}_object_key", func.lower(table.c.object_id))
    else:
        Index(f"ix_{name}_object_id", table.c.object_id)
    return table


locations = _document_table("locations", 36, ci_ids=True)
locations.append_column(Column("publish", Boolean, nullable=False, default=True))
# Parties allowed to see an unpublished location: [{"uid", "type", "visual_number", ...}].
locations.append_column(Column("publish_allowed_to", JSON, nullable=True))
# What partners list: published locations in creation order, from the index alone.
Index("ix_locations_page_published", locations.c.publish, locations.c.pk,
      locations.c.last_updated)

tariffs = _document_table("tariffs", 36, ci_ids=True)
# Per EVSE and connector: the OCPP status last reported and when, so that a late event never
# overwrites a newer one. {"<evse_uid>": {"at": iso, "connectors": {"<id>": [status, iso]}}}
locations.append_column(Column("statuses", JSON, nullable=True))

# Tokens of the eMSPs (Tokens module, receiver side), per owning partner.
tokens = Table(
    "tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("uid", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("contract_id", String(36), nullable=False),
    Column("visual_number", String(64), nullable=True),
    Column("issuer", String(64), nullable=False),
    Column("group_id", String(36), nullable=True),
    Column("valid", Boolean, nullable=False),
    Column("whitelist", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    UniqueConstraint("country_code", "party_id", "uid", "type", name="uq_tokens_token"),
)
Index("ix_tokens_uid", tokens.c.uid)
Index("ix_tokens_partner", tokens.c.partner_id)

# What each partner must see next, one row per (partner, object): converge, don't replay.
# `action` PUT sends the current object, PATCH sends the current values of `targets`
# (";"-separated sub-objects, e.g. EVSE uids), DELETE removes it at the partner.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=False),
    Column("module", String(16), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("object_id", String(36), nullable=False),
    Column("action", String(8), nullable=False),
    Column("targets", String, nullable=False, default=""),
    # Bumped by every change merged in; an acknowledgement only removes the generation it sent.
    Column("generation", Integer, nullable=False, default=1),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # What a claim took in flight, kept until the delivery is recorded, so that a crash or a
    # stop never loses it: the next claim sends it again, merged with what came since.
    Column("sent_action", String(8), nullable=True),
    Column("sent_targets", String, nullable=True),
    # The worker (one per process) holding the claim; it renews `claimed_until` while alive.
    Column("claimed_by", String(36), nullable=True),
    # Lower goes first: command results and CDRs never wait behind object pushes.
    Column("priority", Integer, nullable=False, default=2),
    # The partner refused this object (OCPI 2xxx, HTTP 4xx): since when, and its last answer.
    Column("refused_at", DateTime(timezone=True), nullable=True),
    Column("last_http_status", Integer, nullable=True),
    Column("last_ocpi_status", Integer, nullable=True),
    Column("last_error", String(1000), nullable=True),
    # The party the push is for (OCPI-to): the owner of a session's or CDR's token, the
    # party that asked a command; NULL for broadcasts (locations, tariffs), which go to the
    # partner's own party (a hub's HUB role).
    Column("to_country_code", String(2), nullable=True),
    Column("to_party_id", String(3), nullable=True),
    UniqueConstraint("partner_id", "module", "country_code", "party_id", "object_id",
                     name="uq_outbox_object"),
)
Index("ix_outbox_due", outbox.c.partner_id, outbox.c.next_attempt_at)
Index("ix_outbox_claimed", outbox.c.claimed_by)

# Every delivery attempt, for the push-status view and for operators.
push_attempts = Table(
    "push_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=False),
    Column("module", String(16), nullable=False),
    Column("object_id", String(36), nullable=False),
    Column("method", String(8), nullable=False),
    Column("url", String(500), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("ocpi_status", Integer, nullable=True),
    Column("error", String(1000), nullable=True),
    # The Location header of the answer: where a POSTed CDR lives at the partner.
    Column("response_location", String(500), nullable=True),
)
Index("ix_push_attempts_partner", push_attempts.c.partner_id, push_attempts.c.id)

# --- Sessions and CDRs: transactions from the core, kept together ---------------

# One OCPI Session per core transaction (object_id = transaction_id). `partner_id` is the eMSP
# that owns the token (None: pushed to and listed for nobody); `state` the builder's working
# state (msgpack, private); `delivered` how many charging periods each partner holds,
# {"<partner id>": count}, so that a PATCH appends only the periods it has not seen.
sessions = _document_table("sessions", 36)
sessions.append_column(Column("transaction_id", String(36), nullable=False, unique=True))
sessions.append_column(Column("partner_id", Integer, ForeignKey("partners.id"), nullable=True))
sessions.append_column(Column("status", String(16), nullable=False))
sessions.append_column(Column("state", LargeBinary, nullable=False))
sessions.append_column(Column("delivered", JSON, nullable=True))
# What a partner lists: its own sessions in creation order, from the index alone.
Index("ix_sessions_page_partner", sessions.c.partner_id, sessions.c.pk,
      sessions.c.last_updated)

# Meter values of a session, as received (`raw`: the proto MeterValue) and as the builder
# reads them (`reading`: msgpack of the values it uses). Append-only; `at` is the sampling
# time in whole seconds since the epoch (UTC): an integer costs nothing to bind, ~10k rows/s.
meter_values = Table(
    "meter_values",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("session_pk", Integer, ForeignKey("sessions.pk"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("reading", LargeBinary, nullable=False),
    Column("raw", LargeBinary, nullable=False),
)
Index("ix_meter_values_session", meter_values.c.session_pk, meter_values.c.at)

# The one CDR of an ended transaction (object_id = transaction_id): immutable once written.
cdrs = _document_table("cdrs", 39)
cdrs.append_column(Column("transaction_id", String(36), nullable=False, unique=True))
cdrs.append_column(Column("partner_id", Integer, ForeignKey("partners.id"), nullable=True))
Index("ix_cdrs_page_partner", cdrs.c.partner_id, cdrs.c.pk, cdrs.c.last_updated)

# Every write event the core sent, by its idempotency key: a replay returns `result` again
# (the encoded response), the same key with another payload hash is a conflict.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("method", String(40), nullable=False),
    Column("payload_hash", LargeBinary(32), nullable=False),
    Column("result", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_idempotency_keys_created", idempotency_keys.c.created_at)
# --- end of Sessions and CDRs ------------------------------------------------------------------

# --- Commands: eMSP requests on their way to the core and their results back ------

# One row per command an eMSP sent (object_id = our command id). `country_code`/`party_id`
# are our CPO party that answers (the outbox and the push claim key on them); `document` is
# the CommandResult to POST to `response_url`, None until the core reports it (or TIMEOUT).
# `status`: PENDING (not acknowledged by the core), ACKNOWLEDGED, DONE. Charging-profile
# requests (type SET_PROFILE, GET_ACTIVE_PROFILE, CLEAR_PROFILE) live here too, and the last
# active profile of a session a partner set one on (type ACTIVE_PROFILE, object_id = session).
commands = Table(
    "commands",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("object_id", String(36), nullable=False),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=False),
    Column("type", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    # The eMSP's request body as validated (OCPI JSON).
    Column("request", LargeBinary, nullable=False),
    Column("response_url", String(500), nullable=False),
    Column("correlation_id", String(255), nullable=True),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("delivery_count", Integer, nullable=False, default=0),
    Column("document", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    # The party that asked (the request's OCPI-from, else its token's party): its result
    # goes back with this party in OCPI-to. NULL: the partner's own party.
    Column("requester_country_code", String(2), nullable=True),
    Column("requester_party_id", String(3), nullable=True),
    # The replica whose core stream was given this request, until when (renewed by its
    # heartbeat while the stream is open): no other stream is given it meanwhile.
    Column("held_by", String(36), nullable=True),
    Column("held_until", DateTime(timezone=True), nullable=True),
    UniqueConstraint("country_code", "party_id", "object_id", name="uq_commands_object"),
)
Index("ix_commands_open", commands.c.status, commands.c.deadline)
Index("ix_commands_object_id", commands.c.object_id)

# The reservation numbers charge points get (OCPP reservationId = `pk`): one row per eMSP,
# location and OCPI reservation id, so the number is unique by construction, and the same
# reservation id from the same eMSP at the same location (an update) keeps its number.
# `status`: REQUESTED (RESERVE_NOW sent), RESERVED (accepted: `session_id` is its Session),
# USED (a transaction continued it: `transaction_id`), CANCELLED, EXPIRED. `command_id`:
# the last RESERVE_NOW, whose `response_url` hears of a cancellation by the CPO.
reservations = Table(
    "reservations",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", Integer, ForeignKey("partners.id"), nullable=False),
    Column("location_key", String(36), nullable=False),
    Column("reservation_key", String(36), nullable=False),
    Column("reservation_id", String(36), nullable=False),
    Column("location_id", String(36), nullable=False),
    Column("evse_uid", String(36), nullable=True),
    # The reserving token's uid in upper case: a transaction with it continues the Session.
    Column("token_uid", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("command_id", String(36), nullable=False),
    Column("session_id", String(36), nullable=True),
    Column("transaction_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    UniqueConstraint("partner_id", "location_key", "reservation_key",
                     name="uq_reservations_key"),
)
Index("ix_reservations_session", reservations.c.session_id)

# Credited CDRs: one row per original (so it is credited once), naming its credit CDR and
# the corrected CDR that replaced it (NULL: credited without a replacement).
cdr_credits = Table(
    "cdr_credits",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("cdr_id", String(39), nullable=False),
    Column("credit_id", String(39), nullable=False),
    Column("corrected_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("country_code", "party_id", "cdr_id", name="uq_cdr_credits_cdr"),
)

# --- Replicas: every `serve` process on one database ------------------------------------------

# One row per running (or recently dead) process, written by its heartbeat every second; a
# replica whose heartbeat is older than the lease is dead, and its claims are anybody's.
replicas = Table(
    "replicas",
    metadata,
    Column("id", String(36), primary_key=True),
    # hostname:pid, for operators.
    Column("host", String(255), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

# The core's open streams (kind: commands or chargingprofiles), by consumer id: which replica
# holds each. A stream opened on another replica with the same consumer id replaces it.
core_streams = Table(
    "core_streams",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("consumer_id", String(255), primary_key=True),
    Column("replica_id", String(36), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)
