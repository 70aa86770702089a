/**
 * The PostgreSQL vault on a real server (testing/postgres.ts: one per test file): the store contract, the
 * schema migrated once by two processes starting together, REKEY_VAULT=postgres://, and a real rotation
 * against the sandbox.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { RekeyError } from "../../errors.js";
import { rotateRecord } from "../../rotation/index.js";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { Secret } from "../../secret.js";
import { isKind } from "../../testing/errors.js";
import { pgTestServer } from "../../testing/pg-vault.js";
import { callerArn, credentialRecord, fastOptions, pamUser, uniqueName } from "../../testing/rotation.js";
import { runStoreContract } from "../../testing/store-contract.js";
import { TEST_KDF, TEST_PASSPHRASE } from "../../testing/vault.js";
import { thisPidScope } from "../../vault/lease-owner.js";
import { getFieldValue, setFieldValue } from "../../vault/record.js";
import { capabilitiesOf } from "../../vault/store-capabilities.js";
import { initDefaultVault, openDefaultAsyncVault, resolveVaultLocation } from "../open.js";
import { initPostgresVault, openPostgresVault } from "./pg-open.js";
import { LATEST_VERSION, MIGRATIONS } from "./pg-schema.js";

const postgres = pgTestServer();

/** A new database with a new vault (passphrase + key file). */
const newVault = () => postgres.vault();

/** Every column of every table, binary columns with their printable bytes as they are (a dump, as text). */
async function everythingAsText(db: string): Promise<string> {
  const cols = await postgres
    .server()
    .sql<{ table_name: string; column_name: string; data_type: string }>(
      db,
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'",
    );
  const parts: string[] = [];
  for (const table of new Set(cols.map((c) => c.table_name))) {
    const exprs = cols
      .filter((c) => c.table_name === table)
      .map((c) =>
        c.data_type === "bytea" ? `encode("${c.column_name}", 'escape')` : `"${c.column_name}"::text`,
      );
    const rows = await postgres
      .server()
      .sql<{ t: string }>(db, `SELECT concat_ws(' | ', ${exprs.join(", ")}) AS t FROM "${table}"`);
    parts.push(...rows.map((r) => r.t));
  }
  return parts.join("\n");
}

runStoreContract("postgres", {
  async newVault() {
    const v = await newVault();
    return {
      store: v.store,
      open: () => openPostgresVault(v.url, { keyFile: v.keyFile }),
      tamperAudit: async (seq) => {
        await postgres.server().sql(v.db, "UPDATE audit SET actor = 'mallory' WHERE seq = $1", [seq]);
      },
      atRest: () => everythingAsText(v.db),
      cleanup: async () => v.store.close(),
    };
  },
});

test("opening: key file or passphrase unlock it, a wrong one is refused, capabilities say no signed head", async () => {
  const v = await newVault();
  const r = await v.store.createRecord(credentialRecord("opened", { aws_secret_access_key: "s" }), {
    actor: "t",
  });
  assert.equal(capabilitiesOf(v.store).integrityHead, false);
  assert.equal(capabilitiesOf(v.store).atomicCommit, true);
  await v.store.close();
  const byPass = await openPostgresVault(v.url, { passphrase: new Secret(TEST_PASSPHRASE) });
  assert.equal((await byPass.getRecord(r.uid))?.record.title, "opened");
  await byPass.close();
  await assert.rejects(openPostgresVault(v.url, { passphrase: new Secret("wrong one") }), isKind("auth"));
  const empty = await postgres.server().createDatabase();
  await assert.rejects(
    openPostgresVault(empty, { passphrase: new Secret("x") }),
    isKind("integrity", "rekey init"),
  );
  await assert.rejects(
    initPostgresVault(v.url, { passphrase: new Secret(TEST_PASSPHRASE), kdf: TEST_KDF }),
    isKind("conflict", "already exists"),
  );
});

test("REKEY_VAULT=postgres://: init and open through open.ts; the password appears in no message", async () => {
  const url = await postgres.server().createDatabase();
  const home = postgres.dir("rekey-pg-env-");
  const keyFile = join(home, "k.key");
  const env = { REKEY_VAULT: url, REKEY_KEY_FILE: keyFile, REKEY_HOME: home };
  const location = resolveVaultLocation(env);
  assert.equal(location.backend, "postgres");
  assert.ok(!location.path.includes(postgres.server().password), "the shown name has no password");
  assert.equal(
    resolveVaultLocation({ REKEY_VAULT: url.replace("postgres:", "postgresql:") }).backend,
    "postgres",
  );

  const made = await initDefaultVault({ env, interactive: false, passphrase: false, kdf: TEST_KDF });
  assert.equal(made.path, location.path);
  assert.equal(made.keyFileCreated, true);
  const store = await openDefaultAsyncVault({ env, interactive: false });
  assert.match(store.description, /^PostgreSQL vault postgres:\/\/rekey@127\.0\.0\.1:\d+\//);
  assert.equal((await store.listAudit()).at(0)?.action, "vault.init");
  await store.close();

  const closed = `postgres://rekey:${postgres.server().password}@127.0.0.1:1/nowhere`;
  await assert.rejects(
    openDefaultAsyncVault({ env: { ...env, REKEY_VAULT: closed }, interactive: false }),
    (err) => {
      assert.ok(err instanceof RekeyError && /cannot reach the vault database/.test(err.message));
      assert.ok(!`${err.message} ${err.hint}`.includes(postgres.server().password));
      return true;
    },
  );
  const badPassword = url.replace(encodeURIComponent(postgres.server().password), "not-the-password");
  await assert.rejects(
    openDefaultAsyncVault({ env: { ...env, REKEY_VAULT: badPassword }, interactive: false }),
    (err) => isKind("auth", "refused the login")(err),
  );
});

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const PG_OPEN = fileURLToPath(new URL("./pg-open.ts", import.meta.url));

/** A child process that migrates the database named by its REKEY_TEST_PG_URL and prints what it applied. */
function migrateChild(url: string): Promise<{ code: number | null; out: string; err: string }> {
  const script = `import(${JSON.stringify(PG_OPEN)}).then(async (m) => {
    const applied = await m.migratePostgresVault(process.env.REKEY_TEST_PG_URL);
    process.stdout.write(JSON.stringify(applied));
  });`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: REPO,
    env: { ...process.env, REKEY_TEST_PG_URL: url },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c) => {
    out += c;
  });
  child.stderr.on("data", (c) => {
    err += c;
  });
  return new Promise((ok) => child.on("exit", (code) => ok({ code, out, err })));
}

test("two processes migrating a fresh database at once: both succeed, each migration applied once", async () => {
  const url = await postgres.server().createDatabase();
  // Hold the migration lock ourselves until both children are waiting on it, so they really start together.
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query("SELECT pg_advisory_lock(491328054649)");
    const children = [migrateChild(url), migrateChild(url)];
    for (let i = 0; ; i++) {
      const { rows } = await holder.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      );
      if (rows[0]?.n === 2) break;
      assert.ok(i < 300, "both children wait for the migration lock");
      await sleep(50);
    }
    await holder.query("SELECT pg_advisory_unlock(491328054649)");
    const results = await Promise.all(children);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const applied = results.map((r) => JSON.parse(r.out) as number[]).sort((a, b) => b.length - a.length);
    assert.deepEqual(
      applied,
      [MIGRATIONS.map((m) => m.version), []],
      "one applied everything, the other nothing",
    );
    const { rows } = await holder.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
    assert.equal(rows.at(-1)?.version, LATEST_VERSION);
  } finally {
    await holder.end();
  }
});

test("a newer schema than this rekey knows is refused on open", async () => {
  const v = await newVault();
  await v.store.close();
  await postgres
    .server()
    .sql(v.db, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')", [
      LATEST_VERSION + 1,
    ]);
  await assert.rejects(openPostgresVault(v.url, { keyFile: v.keyFile }), isKind("usage", "newer rekey"));
});

test("a lease whose holder is certainly dead (same host, boot, PID namespace; pid gone) is taken at once", async () => {
  const v = await newVault();
  try {
    const dead = spawn(process.execPath, ["-e", ""]);
    const pid = dead.pid as number;
    await new Promise((ok) => dead.on("exit", ok));
    const scope = thisPidScope();
    assert.ok(scope.bootId && scope.pidNs, "Linux: boot id and PID namespace are known");
    const owner = (p: number) =>
      `gateway@${scope.host}:${p}:abcdef boot=${scope.bootId} pidns=${scope.pidNs}`;
    const plant = (uid: string, o: string) =>
      postgres
        .server()
        .sql(
          v.db,
          "INSERT INTO locks (record_uid, owner, expires_at) VALUES ($1, $2, now() + interval '1 hour')",
          [uid, o],
        );
    await plant("rec-dead", owner(pid));
    await plant("rec-alive", owner(process.pid));
    assert.ok(await v.store.tryLock("rec-dead", "gateway-2", 60_000), "the dead holder's lease is taken");
    assert.equal(
      await v.store.tryLock("rec-alive", "gateway-2", 60_000),
      null,
      "a live holder keeps its lease",
    );
  } finally {
    await v.store.close();
  }
});

let sandbox: Sandbox | undefined;
after(() => sandbox?.close());

test("the rotation engine rotates a record kept in PostgreSQL (sandbox IAM)", async () => {
  sandbox = await startSandbox();
  const v = await newVault();
  const store = v.store;
  await store.createRecord(
    credentialRecord("admin key", {
      aws_access_key_id: sandbox.root.accessKeyId,
      aws_secret_access_key: sandbox.root.secretAccessKey,
    }),
    { actor: "test" },
  );
  const name = uniqueName("pg-alice");
  sandbox.admin.createUser(name);
  const old = sandbox.admin.createAccessKey(name);
  const rec = await store.createRecord(
    pamUser(`${name} (AWS)`, name, {
      rotation_credentials: "admin key",
      aws_access_key_id: old.accessKeyId,
      aws_secret_access_key: old.secretAccessKey,
    }),
    { actor: "test" },
  );
  // The field types the engine expects (pamUser's custom fields: key id text, secret secret).
  const r = structuredClone(rec.record);
  setFieldValue(r, "aws_secret_access_key", old.secretAccessKey, { type: "secret" });
  const saved = await store.saveRecord(rec.uid, r, { expectedRevision: rec.revision, actor: "test" });

  const res = await rotateRecord(store, saved.uid, fastOptions(sandbox));
  assert.ok(res.created);
  assert.deepEqual(res.deleted, [old.accessKeyId]);
  const after = (await store.getRecord(saved.uid))!;
  const keyId = getFieldValue(after.record, "aws_access_key_id")!;
  assert.equal(keyId, res.created.accessKeyId);
  assert.match(
    await callerArn(sandbox, keyId, getFieldValue(after.record, "aws_secret_access_key")!),
    new RegExp(`:user/${name}$`),
    "the vault's new secret works",
  );
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => [k.accessKeyId, k.status]),
    [[keyId, "Active"]],
    "IAM holds only the vault's key",
  );
  assert.deepEqual(await store.listJournal({ recordUid: saved.uid }), [], "nothing left pending");
  assert.ok((await store.history(saved.uid)).length >= 3, "the old key stays in the record's history");
  assert.ok((await store.listAudit({ recordUid: saved.uid })).some((a) => a.action.startsWith("rotation.")));
  assert.equal((await store.verifyAudit()).ok, true);
  // The rotation's lease was released (the release is in flight until the store closes, which waits for
  // it): another gateway can take the record at once.
  await store.close();
  const other = await openPostgresVault(v.url, { keyFile: v.keyFile });
  try {
    assert.ok(await other.tryLock(saved.uid, "gateway-2", 1000));
  } finally {
    await other.close();
  }
});
