/**
 * The gateway's schedule index over a real SQLite vault, a fake clock and a fake engine: an idle tick
 * decrypts nothing, the index is rebuilt when missing and never makes a record due twice, an edited record
 * is re-planned, a wrong row neither rotates a record early nor hides it past the full pass, and the
 * engine's duplicate check still sees a second record for the same IAM user.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import Database from "better-sqlite3";
import type { RotateOptions, RotationResult } from "../rotation/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import type { AsyncVaultStore, ScheduleIndexRow, ScheduleIndexStore } from "../vault/async-store.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import { type GatewayConfigInput, gatewayConfigSchema } from "./config.js";
import { FakeClock, flush } from "./fake-clock.js";
import { createGateway, type Gateway } from "./gateway.js";
import { parseSchedule } from "./schedule.js";
import { DEFAULT_SCHEDULE_LABEL, scheduleFieldValue, setRecordSchedule } from "./schedule-field.js";
import { affectedUsers, dueRows, earliestDue, staleness } from "./schedule-index.js";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const T0 = Date.UTC(2024, 0, 1, 4);
const HOUR = 3600_000;

/** A stand-in engine: a new CreateDate (whole seconds) in the record, as a rotation writes. */
function fakeEngine() {
  const calls: Array<{ uid: string; at: number; peers: string[] }> = [];
  const e = { fail: false };
  const rotate = async (
    store: AsyncVaultStore,
    uid: string,
    opts: RotateOptions,
  ): Promise<RotationResult> => {
    const now = opts.now!();
    calls.push({ uid, at: now.getTime(), peers: (opts.peers ?? []).map((p) => p.uid) });
    if (e.fail) throw new Error("IAM said no (test)");
    const s = (await store.getRecord(uid))!;
    const r = structuredClone(s.record);
    setFieldValue(r, "CreateDate", new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString());
    await store.saveRecord(uid, r, { expectedRevision: s.revision, actor: "test" });
    return {
      created: { accessKeyId: "AKIAFAKE", createDate: now.toISOString() },
      deleted: [],
      deactivated: [],
    } as unknown as RotationResult;
  };
  return { calls, rotate, e };
}

/** The vault's async port, counting every record it decrypts (getRecord, listRecords). */
function counting(vault: TempVault) {
  const inner = toAsyncStore(vault.store);
  const c = { decrypted: 0 };
  const store: AsyncVaultStore = {
    ...inner,
    getRecord: async (uid) => {
      const r = await inner.getRecord(uid);
      if (r) c.decrypted++;
      return r;
    },
    listRecords: async (filter) => {
      const all = await inner.listRecords(filter);
      c.decrypted += all.length;
      return all;
    },
  };
  return { store, c, index: inner.scheduleIndex as ScheduleIndexStore };
}

async function setup(cfg: GatewayConfigInput = {}) {
  const vault = await tempVault();
  cleanups.push(() => vault.cleanup());
  const clock = new FakeClock(T0);
  const engine = fakeEngine();
  const { store, c, index } = counting(vault);
  const make = (): Gateway => {
    const g = createGateway({
      store,
      config: gatewayConfigSchema.parse({ tickSeconds: 30, jitterSeconds: 0, ...cfg }),
      clock,
      rotate: engine.rotate,
      repair: async () => ({ records: [], ok: true }),
      random: () => 0.5,
      spreadStart: 0,
    });
    cleanups.push(async () => {
      await g.stop(0);
    });
    return g;
  };
  return { vault, clock, engine, c, index, make };
}

function addUser(vault: TempVault, title: string, schedule: string, createdAt?: number) {
  let r = newRecord("pamUser", title);
  setFieldValue(r, "login", title);
  if (createdAt !== undefined) setFieldValue(r, "CreateDate", new Date(createdAt).toISOString());
  r = setRecordSchedule(r, parseSchedule(schedule));
  return vault.store.createRecord(r, { actor: "test" }).uid;
}

async function tick(g: Gateway) {
  await g.tick();
  await flush();
  await g.idle();
  await flush();
}

const count = (calls: ReadonlyArray<{ uid: string }>, uid: string) =>
  calls.filter((c) => c.uid === uid).length;

test("an idle tick decrypts no record; a restarted gateway trusts the index it finds", async () => {
  const { vault, clock, c, index, make } = await setup();
  const uids = Array.from({ length: 60 }, (_, i) => addUser(vault, `user-${i}`, "every 30d", T0 - HOUR));
  const g = make();
  await g.start({ loop: false });
  assert.equal((await index.listRows()).length, 60, "the first tick built one row per record");
  assert.ok(c.decrypted >= 60);
  c.decrypted = 0;
  for (let i = 0; i < 5; i++) {
    clock.advance(30_000);
    await tick(g);
  }
  assert.equal(c.decrypted, 0, "idle ticks decrypted records");
  await g.stop(0);

  const again = make();
  await again.start({ loop: false });
  clock.advance(30_000);
  await tick(again);
  assert.equal(c.decrypted, 0, "a restart over a current index decrypted records");

  // One record changes: only it is decrypted at the next tick.
  const s = vault.store.getRecord(uids[7]!)!;
  vault.store.saveRecord(uids[7]!, setRecordSchedule(s.record, parseSchedule("every 20d")), {
    expectedRevision: s.revision,
    actor: "test",
  });
  clock.advance(30_000);
  await tick(again);
  assert.equal(c.decrypted, 1);
});

test("a missing index is rebuilt from the records and rotates what is due exactly once", async () => {
  const { vault, clock, engine, index, make } = await setup();
  const a = addUser(vault, "alice", "every 1d");
  const b = addUser(vault, "bob", "every 1d");
  const g = make();
  await g.start({ loop: false });
  await tick(g);
  assert.deepEqual([count(engine.calls, a), count(engine.calls, b)], [1, 1]);
  await g.stop(0);

  // Rows deleted: the next gateway rebuilds them and rotates nothing twice.
  await index.deleteRows([a, b]);
  const g2 = make();
  await g2.start({ loop: false });
  await tick(g2);
  assert.deepEqual([count(engine.calls, a), count(engine.calls, b)], [1, 1]);
  assert.equal((await index.listRows()).length, 2);
  await g2.stop(0);

  // The table dropped (an older rekey's backup, a hand edit): created again.
  const db = new Database(vault.path);
  db.exec("DROP TABLE schedule_index");
  db.close();
  const g3 = make();
  await g3.start({ loop: false });
  assert.deepEqual([count(engine.calls, a), count(engine.calls, b)], [1, 1]);
  assert.equal((await index.listRows()).length, 2);

  // A day later each is due again: once each.
  clock.advance(24 * HOUR + 1000);
  await tick(g3);
  await tick(g3);
  assert.deepEqual([count(engine.calls, a), count(engine.calls, b)], [2, 2]);
});

test("a record edited through the store is re-planned at the next tick", async () => {
  const { vault, clock, engine, make } = await setup();
  const a = addUser(vault, "alice", "every 1d", T0 - HOUR);
  const g = make();
  await g.start({ loop: false });
  assert.equal(count(engine.calls, a), 0);
  const s = vault.store.getRecord(a)!;
  vault.store.saveRecord(a, setRecordSchedule(s.record, parseSchedule("every 1h")), {
    expectedRevision: s.revision,
    actor: "test",
  });
  clock.advance(30_000);
  await tick(g);
  assert.equal(count(engine.calls, a), 1, "the new schedule (every 1h from CreateDate) made it due");
});

test("a wrong row does not rotate a record that is not due, and is rewritten", async () => {
  const { vault, clock, engine, index, make } = await setup();
  const a = addUser(vault, "alice", "every 1d", T0 - HOUR);
  const g = make();
  await g.start({ loop: false });
  const [row] = await index.listRows();
  assert.equal(row?.nextDueAt, T0 - HOUR + 24 * HOUR);
  await index.putRows([{ ...row!, nextDueAt: 0 }]);
  clock.advance(30_000);
  await tick(g);
  await tick(g);
  assert.equal(count(engine.calls, a), 0);
  assert.equal((await index.listRows())[0]?.nextDueAt, T0 - HOUR + 24 * HOUR);
});

test("a row hiding a due record is corrected by the periodic full pass", async () => {
  const { vault, clock, engine, index, make } = await setup({ indexVerifySeconds: 4 * 3600 });
  const a = addUser(vault, "alice", "every 1h", T0 - 30 * 60_000);
  const g = make();
  await g.start({ loop: false });
  const [row] = await index.listRows();
  await index.putRows([{ ...row!, nextDueAt: T0 + 1000 * HOUR }]);
  // Due at T0 + 30 min; the row says much later, and nothing else changed: not looked at.
  clock.advance(HOUR);
  await tick(g);
  assert.equal(count(engine.calls, a), 0);
  // The full pass (every 4 h here) decrypts every record and finds it due.
  clock.advance(3 * HOUR + 1000);
  await tick(g);
  assert.equal(count(engine.calls, a), 1);
  assert.ok(((await index.listRows())[0]?.nextDueAt ?? 0) < T0 + 10 * HOUR);
});

test("the engine's duplicate check still sees another record for the same IAM user", async () => {
  // No full pass in between (it decrypts everything, and compares with everything, as a listing did).
  const { vault, clock, engine, make } = await setup({ indexVerifySeconds: 24 * 3600 });
  const a = addUser(vault, "alice", "every 1h", T0 - 2 * HOUR);
  const twin = addUser(vault, "alice", "none");
  addUser(vault, "bob", "none");
  const g = make();
  await g.start({ loop: false });
  await tick(g);
  assert.equal(count(engine.calls, a), 1);
  // The first pass decrypted every record (no rows yet): still only the twin is compared, not bob (a
  // pass over N users would otherwise compare each of them with all N).
  assert.deepEqual(engine.calls.filter((x) => x.uid === a)[0]?.peers.sort(), [a, twin].sort());
  // An hour later only alice is due: her twin is found through the index, bob is not decrypted.
  clock.advance(HOUR + 1000);
  await tick(g);
  const call = engine.calls.filter((x) => x.uid === a)[1];
  assert.deepEqual(call?.peers.sort(), [a, twin].sort());
});

test("a configuration's new default schedule re-plans the users that follow it", async () => {
  const { vault, clock, engine, c, make } = await setup();
  const withDefault = (s: string) => {
    const cfg = newRecord("pamAwsConfiguration", "aws");
    setFieldValue(cfg, DEFAULT_SCHEDULE_LABEL, scheduleFieldValue(parseSchedule(s)), { type: "schedule" });
    return cfg;
  };
  const cfg = vault.store.createRecord(withDefault("every 1d"), { actor: "test" });
  let r = newRecord("pamUser", "alice");
  setFieldValue(r, "login", "alice");
  setFieldValue(r, "CreateDate", new Date(T0 - 2 * HOUR).toISOString());
  const a = vault.store.createRecord(r, { actor: "test" }).uid;
  r = newRecord("pamUser", "bob");
  setFieldValue(r, "login", "bob");
  r = setRecordSchedule(r, parseSchedule("none"));
  const b = vault.store.createRecord(r, { actor: "test" }).uid;
  const g = make();
  await g.start({ loop: false });
  await tick(g);
  assert.equal(count(engine.calls, a), 0);
  const s = vault.store.getRecord(cfg.uid)!;
  vault.store.saveRecord(cfg.uid, withDefault("every 1h"), { expectedRevision: s.revision, actor: "test" });
  c.decrypted = 0;
  clock.advance(30_000);
  await tick(g);
  assert.equal(count(engine.calls, a), 1, "the configuration's new default made alice due");
  assert.equal(count(engine.calls, b), 0);
});

test("rows: stale, gone, due, earliest, and who a configuration change re-plans (pure)", () => {
  const row = (uid: string, over: Partial<ScheduleIndexRow> = {}): ScheduleIndexRow => ({
    uid,
    revision: 1,
    type: "pamUser",
    nextDueAt: null,
    lastOutcome: null,
    configurationUid: null,
    identities: [],
    computedAt: 0,
    ...over,
  });
  const rows = new Map(
    [
      row("a", { nextDueAt: 100, configurationUid: "c1" }),
      row("b", { nextDueAt: 300, configurationUid: "c2" }),
      row("c", { revision: 2, nextDueAt: 50 }),
      row("c1", { type: "pamAwsConfiguration" }),
      row("gone", { nextDueAt: 10 }),
    ].map((r) => [r.uid, r]),
  );
  const revisions = new Map([
    ["a", 1],
    ["b", 1],
    ["c", 3],
    ["c1", 1],
    ["new", 1],
  ]);
  const st = staleness({ revisions, rows });
  assert.deepEqual([...st.stale].sort(), ["c", "new"]);
  assert.deepEqual(st.gone, ["gone"]);
  assert.deepEqual(st.configurationUids, ["c1"]);
  assert.deepEqual(dueRows(rows, 100).sort(), ["a", "c", "gone"]);
  assert.equal(earliestDue(rows, new Set(["gone", "c"])), 100);
  const before = new Map([
    ["c1", 1],
    ["c2", 1],
  ]);
  assert.deepEqual(
    affectedUsers(
      before,
      new Map([
        ["c1", 2],
        ["c2", 1],
      ]),
      rows,
    ),
    new Set(["a", "c", "gone"]),
  );
  assert.equal(affectedUsers(before, new Map([["c1", 1]]), rows), "all");
  assert.deepEqual(affectedUsers(before, before, rows), new Set());
});

test("after an attempt the row says what happened: a failure's retry time, then the next slot", async () => {
  const { vault, clock, engine, index, make } = await setup({
    retry: { maxAttempts: 3, baseDelaySeconds: 60, maxDelaySeconds: 60 },
  });
  const a = addUser(vault, "alice", "every 1d");
  engine.e.fail = true;
  const g = make();
  await g.start({ loop: false });
  await tick(g);
  // The pass after the attempt re-plans it (a looping gateway runs that pass as soon as the job ends).
  await tick(g);
  let [row] = await index.listRows();
  assert.equal(row?.lastOutcome, "failed");
  assert.ok(
    row?.nextDueAt && row.nextDueAt > clock.now() && row.nextDueAt <= clock.now() + 120_000,
    "the row does not say when the retry is",
  );
  engine.e.fail = false;
  clock.advance(120_000);
  await tick(g);
  await tick(g);
  assert.equal(count(engine.calls, a), 2);
  [row] = await index.listRows();
  assert.equal(row?.lastOutcome, "succeeded");
  assert.ok(row?.nextDueAt && row.nextDueAt > clock.now() + 23 * HOUR);
});
