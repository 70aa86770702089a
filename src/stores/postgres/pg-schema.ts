/**
 * The PostgreSQL vault's schema: numbered migrations, each applied once, recorded in `schema_migrations`.
 *
 * Several gateways may start together on one database: `migrate` holds a session advisory lock for the
 * whole run, so one process applies the pending migrations while the others wait, then find nothing left
 * to do. Each migration commits in its own transaction with its `schema_migrations` row.
 *
 * What is stored in clear is what the SQLite vault stores in clear (sqlite-schema.ts): UIDs, revisions,
 * timestamps, actors, folder placement, audit actions and their secret-free details, lease owners. Record
 * content, folder names, journal state and rotation history are AES-256-GCM ciphertext (vault-cipher.ts).
 * Timestamps that are bound into a ciphertext's AAD are kept as ISO text, so they read back byte for byte.
 */
import type { ClientBase } from "pg";
import { integrityError, usageError } from "../../errors.js";

export const FORMAT = "rekey-vault";

/** `vault_meta` keys (the SQLite vault's `meta` keys, same meaning). */
export const META = {
  format: "format",
  vaultId: "vault_id",
  createdAt: "created_at",
  keySlots: "key_slots",
  auditHead: "audit_head",
} as const;

/** The advisory lock key for migrating (an arbitrary constant: "rekey" in ASCII). */
const MIGRATION_LOCK = "491328054649";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: never edit a released migration, add the next number. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "vault tables",
    sql: `
CREATE TABLE vault_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE folders (
  pos        bigint GENERATED ALWAYS AS IDENTITY,
  uid        text PRIMARY KEY,
  parent_uid text,
  shared     boolean NOT NULL,
  created_at text NOT NULL,
  name_ct    bytea NOT NULL  -- sealed under the folder-name key, AAD = uid, parent, shared, created_at
);

-- The current revision of each live record; the content lives in record_versions.
CREATE TABLE records (
  pos        bigint GENERATED ALWAYS AS IDENTITY,
  uid        text PRIMARY KEY,
  revision   integer NOT NULL,
  title_mac  bytea NOT NULL,  -- HMAC(title-index key, title): exact-title lookup without a readable title
  created_at text NOT NULL,
  row_mac    bytea NOT NULL   -- HMAC(row key, uid, revision, title_mac, created_at)
);
CREATE INDEX records_by_title ON records (title_mac);

-- Every saved version, including a delete's tombstone. Never updated, never deleted.
CREATE TABLE record_versions (
  uid        text NOT NULL,
  revision   integer NOT NULL,
  folder_uid text,
  saved_at   text NOT NULL,
  actor      text NOT NULL,
  deleted    boolean NOT NULL,
  dek        bytea NOT NULL,  -- the version's random data key, wrapped under the VMK-derived KEK
  body       bytea NOT NULL,  -- the record JSON sealed under dek, AAD = the columns above
  PRIMARY KEY (uid, revision)
);

CREATE TABLE audit (
  seq        integer PRIMARY KEY,
  at         text NOT NULL,
  action     text NOT NULL,
  record_uid text,
  actor      text NOT NULL,
  details    text NOT NULL,   -- canonical JSON, never secret values
  hash       text NOT NULL    -- HMAC chain, see audit-chain.ts
);
CREATE INDEX audit_by_record ON audit (record_uid, seq);

CREATE TABLE journal (
  pos        bigint GENERATED ALWAYS AS IDENTITY,
  id         text PRIMARY KEY,
  record_uid text NOT NULL,
  kind       text NOT NULL,
  created_at text NOT NULL,
  updated_at text NOT NULL,
  dek        bytea NOT NULL,
  body       bytea NOT NULL
);

-- Leases: expiry on the database's clock (now()), so gateways on several machines agree.
CREATE TABLE locks (
  record_uid text PRIMARY KEY,
  owner      text NOT NULL,
  expires_at timestamptz NOT NULL
);

CREATE TABLE rotation_history (
  seq        integer PRIMARY KEY,
  id         text NOT NULL UNIQUE,
  record_uid text NOT NULL,
  started_at text NOT NULL,
  saved_at   text NOT NULL,
  dek        bytea NOT NULL,
  body       bytea NOT NULL   -- the entry JSON sealed under dek, AAD = the columns above
);
CREATE INDEX rotation_history_by_record ON rotation_history (record_uid, seq);
`,
  },
  {
    version: 2,
    name: "gateway schedule index",
    // Advisory (pg-schedule-index.ts): clear scheduling facts, never MACed; rebuilt from the records.
    sql: `
CREATE SEQUENCE schedule_index_seq;
CREATE TABLE schedule_index (
  uid               text PRIMARY KEY,
  revision          integer NOT NULL,
  type              text NOT NULL,
  next_due_at       bigint,            -- epoch ms; NULL: nothing planned
  last_outcome      text,
  configuration_uid text,
  identities        text NOT NULL,     -- space-separated keyed digests (no names)
  computed_at       bigint NOT NULL,
  seq               bigint NOT NULL DEFAULT nextval('schedule_index_seq')
);
`,
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Apply the pending migrations (whoever holds the advisory lock first; the others wait for it). Returns the
 * versions this call applied ([] when the schema was already current).
 * @throws usage error when the database was migrated by a newer rekey.
 */
export async function migrate(client: ClientBase, what: string): Promise<number[]> {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    if (newest > LATEST_VERSION) {
      throw usageError(
        `the vault ${what} has schema version ${newest}, written by a newer rekey; this rekey knows up to version ${LATEST_VERSION}`,
        "upgrade rekey on this machine (every gateway on one database needs the same or a newer rekey)",
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
          m.version,
          m.name,
        ]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  }
}

export function notAVault(what: string, why?: string) {
  return integrityError(
    `${what} is not a rekey vault${why ? ` (${why})` : ""}`,
    "check REKEY_VAULT names the right database; create a vault in an empty database with `rekey init`",
  );
}
