/**
 * High availability on PostgreSQL (slow: a real server, three gateway processes, 300 IAM users).
 *
 * Three `rekey gateway` processes (the built CLI) share one PostgreSQL vault and rotate 300 due users
 * against the sandbox; one is SIGKILLed while it has rotations in flight. Then: every user was rotated
 * exactly once (one succeeded attempt per record, two key ids in the record's versions: the first and
 * the new one), IAM holds exactly the vault's key for each user and it works, no journal is left, and
 * the killed gateway's in-flight records were finished by a surviving gateway.
 *
 * A second test stops the database under a running gateway: it survives, says so, reconnects, and
 * rotates a record made due after the database is back.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { initPostgresVault } from "../stores/postgres/pg-open.js";
import type { PostgresVaultStore } from "../stores/postgres/postgres-store.js";
import { BIN, type NodeChild, spawnNode } from "../testing/cli.js";
import { type PgServer, startPostgres } from "../testing/postgres.js";
import { stsClient } from "../testing/sandbox-clients.js";
import { tempDir } from "../testing/vault.js";
import type { WriteOp } from "../vault/async-store.js";
import { getFieldValue, newRecord, newUid, setFieldValue } from "../vault/record.js";
import type { RotationAttempt } from "./history-model.js";
import { parseAttempt } from "./history-schema.js";
import { parseSchedule } from "./schedule.js";
import { setRecordSchedule } from "./schedule-field.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const USERS = 300;
const GATEWAYS = 3;

let server: PgServer;
let sandbox: Sandbox;
const dirs: Array<{ cleanup(): void }> = [];
const stores: PostgresVaultStore[] = [];
const children: NodeChild["child"][] = [];

before(async () => {
  [server, sandbox] = await Promise.all([startPostgres(), startSandbox({ env: {} })]);
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of stores) await s.close().catch(() => {});
  await sandbox.close();
  await server.stop();
  for (const d of dirs) d.cleanup();
});

interface Vault {
  url: string;
  db: string;
  dir: string;
  keyFile: string;
  store: PostgresVaultStore;
  adminUid: string;
  configUid: string;
}

/** A new PostgreSQL vault (key file only) with an admin credential record and a PAM configuration. */
async function newVault(): Promise<Vault> {
  const url = await server.createDatabase();
  const db = decodeURIComponent(new URL(url).pathname.slice(1));
  const d = tempDir("rekey-ha-");
  dirs.push(d);
  const keyFile = join(d.dir, "vault.key");
  const store = await initPostgresVault(url, { keyFile, actor: "test" });
  stores.push(store);
  const admin = newRecord("login", "HA admin");
  setFieldValue(admin, "aws_access_key_id", sandbox.root.accessKeyId, { type: "text" });
  setFieldValue(admin, "aws_secret_access_key", sandbox.root.secretAccessKey, { type: "secret" });
  const config = newRecord("pamAwsConfiguration", "HA account");
  setFieldValue(config, "awsId", sandbox.accountId);
  const { created = [] } = await store.commit(
    [
      { op: "createRecord", record: admin },
      { op: "createRecord", record: config },
    ],
    { actor: "test" },
  );
  return {
    url,
    db,
    dir: d.dir,
    keyFile,
    store,
    adminUid: created[0]!.uid,
    configUid: created[1]!.uid,
  };
}

interface User {
  uid: string;
  name: string;
  firstKey: string;
}

/** IAM users with one key each, and their pamUser records (never rotated, `every 1h`) in one commit. */
async function addUsers(v: Vault, prefix: string, count: number): Promise<User[]> {
  const users: User[] = [];
  const ops: WriteOp[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(3, "0")}`;
    sandbox.admin.createUser(name);
    const key = sandbox.admin.createAccessKey(name);
    let r = newRecord("pamUser", name);
    setFieldValue(r, "login", name);
    setFieldValue(r, "aws_access_key_id", key.accessKeyId, { type: "text" });
    setFieldValue(r, "aws_secret_access_key", key.secretAccessKey, { type: "secret" });
    setFieldValue(r, "rotation_credentials", v.adminUid);
    setFieldValue(r, "pam_configuration", v.configUid);
    r = setRecordSchedule(r, parseSchedule("every 1h"));
    const uid = newUid();
    ops.push({ op: "createRecord", record: r, uid });
    users.push({ uid, name, firstKey: key.accessKeyId });
  }
  await v.store.commit(ops, { actor: "test" });
  return users;
}

/** Short leases and retries, no jitter, a quick listing: the test's pace, not production's. */
function configFile(v: Vault, extra: Record<string, unknown> = {}): string {
  const file = join(v.dir, "gateway.json");
  writeFileSync(
    file,
    JSON.stringify({
      tickSeconds: 1,
      jitterSeconds: 0,
      maxConcurrent: 8,
      maxPerAccount: 8,
      leaseTtlSeconds: 5,
      shutdownTimeoutSeconds: 20,
      retry: { baseDelaySeconds: 0.2, maxDelaySeconds: 1 },
      engine: { endpointUrl: sandbox.endpoint, consistencyWindowSeconds: 0.5, verifyTimeoutSeconds: 10 },
      ...extra,
    }),
  );
  return file;
}

function startGateway(v: Vault, config: string): NodeChild {
  const g = spawnNode([BIN, "gateway", "--config", config], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REKEY_HOME: v.dir,
      REKEY_VAULT: v.url,
      REKEY_KEY_FILE: v.keyFile,
      REKEY_LOG_LEVEL: "info",
      REKEY_LAST_USE_RESOLUTION_MS: "1",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  });
  children.push(g.child);
  return g;
}

async function stopGateway(g: NodeChild): Promise<void> {
  g.child.kill("SIGTERM");
  const { code, signal } = await g.exited;
  assert.deepEqual(
    { code, signal },
    { code: 0, signal: null },
    `exit 0 on SIGTERM: ${g.output().stderr.slice(-3000)}`,
  );
}

/** The gateway's JSON log lines. */
function logLines(g: NodeChild): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of g.output().stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line
    }
  }
  return out;
}

async function history(v: Vault): Promise<RotationAttempt[]> {
  return (await v.store.listRotationHistory()).map(parseAttempt);
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms: number,
  state: () => Promise<string> = async () => "",
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${await state()}`);
    await sleep(250);
  }
}

/** The records whose gateway lease a process holds right now (from the locks table). */
async function leasesOf(v: Vault, pid: number): Promise<string[]> {
  const rows = await server.sql<{ record_uid: string; owner: string }>(
    v.db,
    "SELECT record_uid, owner FROM locks WHERE record_uid LIKE 'gateway:%'",
  );
  return rows.filter((r) => r.owner.includes(`:${pid}:`)).map((r) => r.record_uid.slice("gateway:".length));
}

test(`${GATEWAYS} gateways on one PostgreSQL vault, ${USERS} due users, one SIGKILLed mid-run: each rotated exactly once, nothing lost`, {
  timeout: 150_000,
}, async (t) => {
  const started = Date.now();
  const v = await newVault();
  const users = await addUsers(v, "ha", USERS);
  const byUid = new Map(users.map((u) => [u.uid, u]));
  const config = configFile(v);
  const gateways = Array.from({ length: GATEWAYS }, () => startGateway(v, config));
  const [victim, ...survivors] = gateways as [NodeChild, ...NodeChild[]];
  const victimPid = victim.child.pid!;

  // Mid-run: some rotations recorded, and the victim holding leases (rotations in flight).
  const inFlight = await waitFor(
    "the first gateway to hold leases after some rotations",
    async () => {
      const done = (await history(v)).filter((e) => e.outcome === "succeeded").length;
      if (done < USERS / 5) return undefined;
      const held = await leasesOf(v, victimPid);
      return held.length > 0 ? held : undefined;
    },
    60_000,
  );
  victim.child.kill("SIGKILL");
  await victim.exited;
  const killedAt = Date.now();
  const atKill = (await history(v)).filter((e) => e.outcome === "succeeded");
  const doneAtKill = atKill.length;
  // A lease read just before the kill may belong to a rotation the victim then finished and recorded
  // (its lease not yet released): that record needed no takeover.
  const finishedByVictim = new Set(atKill.map((e) => e.recordUid).filter((uid) => inFlight.includes(uid)));
  const leftByVictim = inFlight.filter((uid) => !finishedByVictim.has(uid));
  // Work the victim left in the journal (an attempt marker, a rotation journal): a survivor must settle it.
  const leftInJournal = (await v.store.listJournal()).filter((j) => leftByVictim.includes(j.recordUid));

  // Every record rotated, and nothing left in the journal (the victim's work finished or undone).
  await waitFor(
    "every record rotated and no journal left",
    async () => {
      const rotated = new Set(
        (await history(v)).filter((e) => e.outcome === "succeeded").map((e) => e.recordUid),
      );
      return rotated.size === USERS && (await v.store.listJournal()).length === 0;
    },
    80_000,
    async () => {
      const rotated = new Set(
        (await history(v)).filter((e) => e.outcome === "succeeded").map((e) => e.recordUid),
      );
      const journal = (await v.store.listJournal()).map((j) => `${j.kind} ${j.recordUid}`);
      const locks = await server.sql(v.db, "SELECT record_uid, owner, expires_at FROM locks");
      return `${rotated.size}/${USERS} rotated; journal: ${journal.join(", ")}; locks: ${JSON.stringify(locks)}\n${survivors.map((g) => g.output().stderr.slice(-2000)).join("\n")}`;
    },
  );
  const convergedAt = Date.now();
  for (const g of survivors) await stopGateway(g);
  const seconds = (convergedAt - started) / 1000;

  const entries = await history(v);
  const counts = new Map<string, Record<string, number>>();
  for (const e of entries) {
    const c = counts.get(e.recordUid) ?? {};
    c[e.outcome] = (c[e.outcome] ?? 0) + 1;
    counts.set(e.recordUid, c);
  }
  const outcomes = entries.reduce<Record<string, number>>((acc, e) => {
    acc[e.outcome] = (acc[e.outcome] ?? 0) + 1;
    return acc;
  }, {});
  t.diagnostic(
    `${USERS} users, ${GATEWAYS} gateways: converged in ${seconds.toFixed(1)} s ` +
      `(killed one after ${doneAtKill} rotations with ${inFlight.length} in flight; ` +
      `${((convergedAt - killedAt) / 1000).toFixed(1)} s from the kill to convergence); ` +
      `history: ${JSON.stringify(outcomes)}`,
  );

  if (process.env.HA_DEBUG)
    for (const [uid, c] of counts)
      if ((c.succeeded ?? 0) !== 1 || inFlight.includes(uid))
        for (const e of entries.filter((x) => x.recordUid === uid))
          t.diagnostic(
            `${byUid.get(uid)?.name} ${inFlight.includes(uid) ? "(in flight)" : ""} ${e.outcome} ${e.trigger} ${e.startedAt} ${e.endedAt} ${e.keyIds.created} ${e.error?.kind ?? ""} ${e.skippedReason ?? ""}`,
          );
  // One succeeded attempt per record, never two; no failure left standing.
  for (const u of users) {
    assert.equal(counts.get(u.uid)?.succeeded, 1, `${u.name}: exactly one succeeded attempt`);
  }
  assert.equal(entries.filter((e) => e.outcome === "failed" && e.final).length, 0, "no final failure");

  // Rotated exactly once: the record's versions name two keys (the first one and the new one).
  for (const u of users) {
    const keys = new Set(
      (await v.store.history(u.uid)).map((r) => getFieldValue(r.record, "aws_access_key_id")),
    );
    assert.equal(keys.size, 2, `${u.name}: one new key (versions hold ${[...keys].join(", ")})`);
  }

  // IAM and the vault agree: each user has exactly one key, the vault's, and it is not the first one.
  const records = new Map((await v.store.listRecords({ type: "pamUser" })).map((r) => [r.uid, r.record]));
  for (const u of users) {
    const record = records.get(u.uid)!;
    const keyId = getFieldValue(record, "aws_access_key_id");
    assert.notEqual(keyId, u.firstKey, `${u.name} rotated`);
    assert.deepEqual(
      sandbox.admin.listKeys(u.name).map((k) => [k.accessKeyId, k.status]),
      [[keyId, "Active"]],
      `${u.name}: the vault's key is the only key in IAM (no key whose secret is nowhere)`,
    );
  }
  // ...and the vault's keys work (a sample, with STS).
  for (const u of [...users.slice(0, 5), ...inFlight.map((uid) => byUid.get(uid)!)]) {
    const record = records.get(u.uid)!;
    const sts = stsClient(sandbox, {
      accessKeyId: getFieldValue(record, "aws_access_key_id")!,
      secretAccessKey: getFieldValue(record, "aws_secret_access_key")!,
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    assert.match(who.Arn ?? "", new RegExp(`:user/${u.name}$`));
  }

  // The killed gateway's in-flight records: taken over by a survivor (repaired from the journal, its
  // attempt marker recorded, or re-checked and rotated), never left behind.
  assert.deepEqual(await v.store.listJournal(), [], "no journal entry left");
  const survivorLines = survivors.flatMap(logLines);
  for (const uid of leftByVictim) {
    const u = byUid.get(uid)!;
    const takenOver = survivorLines.some(
      (l) =>
        l.recordUid === uid &&
        (l.msg === "repair" ||
          l.msg === "recorded an attempt interrupted by a stop of the gateway" ||
          l.msg === "rotation attempt ended"),
    );
    assert.ok(takenOver, `${u.name}: the victim's in-flight record was taken over by a survivor`);
  }
  if (process.env.HA_DEBUG)
    for (const l of survivorLines)
      if (typeof l.recordUid === "string" && inFlight.includes(l.recordUid)) t.diagnostic(JSON.stringify(l));
  const repairedBySurvivor = survivorLines.filter(
    (l) =>
      typeof l.recordUid === "string" &&
      inFlight.includes(l.recordUid) &&
      (l.msg === "repair" || l.msg === "recorded an attempt interrupted by a stop of the gateway"),
  );
  if (leftInJournal.length > 0) {
    assert.ok(
      repairedBySurvivor.length > 0,
      "a survivor repaired the victim's interrupted rotation or recorded its interrupted attempt",
    );
  }
  t.diagnostic(
    `victim's in-flight records: ${inFlight.length}; survivor log lines about them: ` +
      repairedBySurvivor.map((l) => `${l.msg}${l.outcome ? ` (${l.outcome})` : ""}`).join("; "),
  );
});

test("the database goes away under a running gateway: it survives, says so, reconnects with backoff, and rotates again once it is back", {
  timeout: 90_000,
}, async () => {
  const v = await newVault();
  const [early] = await addUsers(v, "outage-early", 1);
  const g = startGateway(v, configFile(v, { tickSeconds: 0.5 }));
  const succeeded = async (uid: string) =>
    (await history(v)).some((e) => e.recordUid === uid && e.outcome === "succeeded");
  await waitFor("the first rotation", () => succeeded(early!.uid), 30_000);

  await server.halt();
  const lines = (msg: string) => logLines(g).filter((l) => l.msg === msg);
  await waitFor(
    "the gateway to log the outage twice",
    async () => lines("vault unreachable").length >= 3,
    20_000,
  );
  assert.equal(g.child.exitCode, null, "the gateway is still running");
  await server.resume();
  await waitFor(
    "the gateway to log that the vault is back",
    async () => lines("vault reachable again").length > 0,
    40_000,
  );
  assert.equal(g.child.exitCode, null, "the gateway is still running");

  // Backoff while it was down: 1 s, 2 s, 4 s ... (at most 30 s).
  const delays = lines("vault unreachable").map((l) => l.retryInSeconds as number);
  assert.deepEqual(delays.slice(0, 3), [1, 2, 4], `backoff: ${delays.join(", ")}`);
  assert.ok(delays.every((d) => d <= 30));
  assert.match(String(lines("vault unreachable")[0]?.error), /cannot reach the vault database/);

  // A record made due after the restart is rotated.
  const [late] = await addUsers(v, "outage-late", 1);
  await waitFor("the rotation after the restart", () => succeeded(late!.uid), 30_000);
  const record = await v.store.getRecord(late!.uid);
  assert.deepEqual(
    sandbox.admin.listKeys(late!.name).map((k) => k.accessKeyId),
    [getFieldValue(record!.record, "aws_access_key_id")],
  );
  await stopGateway(g);
  assert.deepEqual(await v.store.listJournal(), []);
});
