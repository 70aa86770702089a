/**
 * The gateway loop in-process with a fake clock and a fake engine over a real vault: when records run,
 * how often, retries, two gateways on one vault, stop, throttling, scripts after a rotation. (The real
 * engine against the sandbox, as a real process, is in gateway-process.test.ts.)
 */

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { RekeyError } from "../errors.js";
import type { RotateOptions, RotationResult } from "../rotation/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { openVault } from "../stores/sqlite/sqlite-open.js";
import type { VaultStore } from "../stores/sqlite/vault-store.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import { type GatewayConfigInput, gatewayConfigSchema } from "./config.js";
import { FakeClock, flush } from "./fake-clock.js";
import { createGateway, type Gateway, type GatewayOptions } from "./gateway.js";
import { loadHistorySchema } from "./records.js";
import { parseSchedule } from "./schedule.js";
import { setRecordSchedule } from "./schedule-field.js";
import { newScriptFileRecord } from "./script-file.js";
import { addScript } from "./scripts.js";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(over: GatewayConfigInput = {}) {
  return gatewayConfigSchema.parse({
    tickSeconds: 1,
    jitterSeconds: 0,
    retry: { maxAttempts: 3, baseDelaySeconds: 2, maxDelaySeconds: 4 },
    ...over,
  });
}

function addUser(store: VaultStore, title: string, schedule: string, fields: Record<string, string> = {}) {
  let r = newRecord("pamUser", title);
  setFieldValue(r, "login", title);
  for (const [k, v] of Object.entries(fields)) setFieldValue(r, k, v);
  r = setRecordSchedule(r, parseSchedule(schedule));
  return store.createRecord(r, { actor: "test" }).uid;
}

/** A stand-in engine: writes a new key id and CreateDate (whole seconds, as AWS) into the record. */
function fakeEngine() {
  const calls: Array<{ uid: string; at: number }> = [];
  let n = 0;
  const gates: Array<() => void> = [];
  const e = {
    calls,
    /** When set, each rotation waits for `release()`. */
    blocking: false,
    fail: undefined as undefined | (() => Error),
    onCall: undefined as undefined | ((opts: RotateOptions) => void),
    release() {
      for (const g of gates.splice(0)) g();
    },
    rotate: async (store: AsyncVaultStore, uid: string, opts: RotateOptions): Promise<RotationResult> => {
      const now = opts.now!();
      calls.push({ uid, at: now.getTime() });
      e.onCall?.(opts);
      if (e.blocking) await new Promise<void>((r) => gates.push(r));
      if (e.fail) throw e.fail();
      const s = (await store.getRecord(uid))!;
      const r = structuredClone(s.record);
      const old = getFieldValue(r, "aws_access_key_id") || "";
      const keyId = `AKIAFAKE${String(++n).padStart(8, "0")}`;
      setFieldValue(r, "aws_access_key_id", keyId);
      setFieldValue(r, "CreateDate", new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString());
      setFieldValue(r, "password", `pw-${n}-0123456789`);
      await store.saveRecord(uid, r, { expectedRevision: s.revision, actor: opts.actor ?? "test" });
      return {
        created: { accessKeyId: keyId, createDate: now.toISOString() },
        deleted: old ? [old] : [],
        deactivated: [],
      } as unknown as RotationResult;
    },
  };
  return e;
}

async function setup(over: Partial<GatewayOptions> = {}, cfg: GatewayConfigInput = {}) {
  const vault: TempVault = await tempVault();
  cleanups.push(() => vault.cleanup());
  const clock = new FakeClock(Date.UTC(2024, 0, 1, 4));
  const engine = fakeEngine();
  const make = (store: VaultStore = vault.store): Gateway => {
    const g = createGateway({
      store: toAsyncStore(store),
      config: config(cfg),
      clock,
      rotate: engine.rotate,
      repair: async () => ({ records: [], ok: true }),
      random: () => 0.5,
      spreadStart: 0,
      ...over,
    });
    cleanups.push(async () => {
      await g.stop(0);
    });
    return g;
  };
  return { vault, clock, engine, make };
}

/** Let async work (real I/O included) settle. */
// The gateway loads the history schema lazily (the bundled CLI initialises it synchronously): loaded once
// here, so a job's history read fits in the fake clock's flush.
await loadHistorySchema();

async function settle(g: Gateway) {
  await flush();
  await g.idle();
  await flush();
}

test("a due record runs once per slot; a record in flight is not queued again", async () => {
  const { vault, clock, engine, make } = await setup();
  const uid = addUser(vault.store, "alice", "every 10s");
  const g = make();
  engine.blocking = true;
  await g.start();
  await flush();
  assert.equal(engine.calls.length, 1, "never rotated: due at start");
  await clock.advance(3000); // three ticks while it runs
  assert.equal(engine.calls.length, 1, "not queued twice");
  engine.blocking = false;
  engine.release();
  await settle(g);
  assert.deepEqual(
    g.attempts.map((a) => [a.trigger, a.outcome, a.attempt]),
    [["startup-catch-up", "succeeded", 1]],
  );
  await clock.advance(5000);
  assert.equal(engine.calls.length, 1, "not due before its next slot");
  await clock.advance(7000);
  await settle(g);
  assert.equal(engine.calls.length, 2, "due again 10 s after the rotation");
  assert.equal(g.attempts[1]?.trigger, "schedule");
  const stored = vault.store.listRotationHistory({ recordUid: uid });
  assert.equal(stored.length, 2, "each attempt is in the vault's history");
  assert.equal(vault.store.listAudit().filter((a) => a.action === "gateway.rotation.succeeded").length, 2);
});

test("a failed rotation is retried with backoff, then recorded as failed; its next slot is tried again", async () => {
  const bodies: Array<Record<string, unknown>> = [];
  const fetch = (async (_url: string, init: { body: string }) => {
    bodies.push(JSON.parse(init.body));
    return new Response("ok");
  }) as unknown as typeof globalThis.fetch;
  const { vault, clock, engine, make } = await setup(
    { fetch },
    { webhooks: [{ url: "http://127.0.0.1:9/hook" }] },
  );
  addUser(vault.store, "bob", "every 1m");
  engine.fail = () => new RekeyError("aws", "IAM answered ServiceFailure");
  const g = make();
  await g.start();
  await settle(g);
  for (let i = 0; i < 10; i++) {
    await clock.advance(1000);
    await settle(g);
  }
  assert.deepEqual(
    g.attempts.map((a) => [a.attempt, a.outcome, a.final]),
    [
      [1, "failed", false],
      [2, "failed", false],
      [3, "failed", true],
    ],
  );
  const [first, second, third] = g.attempts;
  assert.ok(first?.nextAttemptAt && second?.nextAttemptAt);
  assert.ok(Date.parse(second!.startedAt) >= Date.parse(first!.nextAttemptAt!), "retried at its time");
  assert.equal(third?.nextAttemptAt, null);
  assert.equal(third?.error?.message, "IAM answered ServiceFailure");
  assert.deepEqual(
    bodies.map((b) => b.event),
    ["rotation.failed"],
    "retries stay quiet; the final failure is notified",
  );
  engine.fail = undefined;
  await clock.advance(61_000);
  await settle(g);
  assert.deepEqual(
    g.attempts.slice(3).map((a) => [a.trigger, a.attempt, a.outcome]),
    [["schedule", 1, "succeeded"]],
    "the next slot",
  );
  assert.deepEqual(
    bodies.map((b) => b.event),
    ["rotation.failed", "rotation.succeeded"],
  );
});

test("a failure the user must fix is not retried", async () => {
  const { vault, engine, make } = await setup();
  addUser(vault.store, "carol", "every 1m");
  engine.fail = () => new RekeyError("auth", "AccessDenied on iam:CreateAccessKey");
  const g = make();
  await g.start({ loop: false });
  await settle(g);
  assert.deepEqual(
    g.attempts.map((a) => [a.outcome, a.final, a.error?.kind]),
    [["failed", true, "auth"]],
  );
});

test("two gateways on one vault rotate a slot once (lease + fresh due check)", async () => {
  const { vault, clock, engine, make } = await setup();
  addUser(vault.store, "dave", "every 1h");
  const second = await openVault(vault.path, { keyFile: vault.keyFile });
  cleanups.push(() => second.close());
  const a = make();
  const b = make(second);
  engine.blocking = true;
  await a.start();
  await flush();
  await b.start();
  await settle(b);
  assert.equal(engine.calls.length, 1);
  assert.equal(b.stats().busy, 1, "the second found the lease held");
  engine.blocking = false;
  engine.release();
  await settle(a);
  await clock.advance(1000); // b's next tick: its cache says due, the fresh check says done
  await settle(b);
  await settle(a);
  assert.equal(engine.calls.length, 1, "rotated once");
  // The second saw the first's attempt in progress (its marker, its lease held): it waited, recorded
  // nothing, and re-planned from the vault. The winner's attempt is the only entry.
  assert.deepEqual(
    [...a.attempts, ...b.attempts].map((e) => e.outcome),
    ["succeeded"],
  );
  assert.deepEqual(
    vault.store.listRotationHistory().map((e) => (e as unknown as { outcome: string }).outcome),
    ["succeeded"],
  );
});

test("stop: running attempts finish, queued ones are dropped, no new tick; bounded wait", async () => {
  const { vault, clock, engine, make } = await setup({}, { maxConcurrent: 1 });
  addUser(vault.store, "erin", "every 1h");
  addUser(vault.store, "frank", "every 1h");
  const g = make();
  engine.blocking = true;
  await g.start();
  await flush();
  assert.deepEqual(g.stats().queued, 1);
  const stopped = g.stop(10_000);
  await flush();
  engine.release();
  assert.deepEqual(await stopped, { drained: true });
  assert.equal(engine.calls.length, 1, "the queued one never started");
  assert.equal(g.attempts.length, 1);
  await clock.advance(5000);
  assert.equal(engine.calls.length, 1, "no tick after stop");

  // A rotation that outlives the wait: stop gives up after the timeout.
  const { vault: v2, clock: c2, engine: e2, make: make2 } = await setup();
  addUser(v2.store, "gina", "every 1h");
  const g2 = make2();
  e2.blocking = true;
  await g2.start();
  await flush();
  const timedOut = g2.stop(3000);
  await c2.advance(3000);
  assert.deepEqual(await timedOut, { drained: false });
  e2.release();
  await settle(g2);
});

test("IAM throttling seen by the engine's retries is counted; every rotation takes turns from a pacer", async () => {
  const { vault, engine, make } = await setup();
  addUser(vault.store, "hank", "every 1h");
  let paced = false;
  engine.onCall = (opts) => {
    paced = opts.pace !== undefined;
    opts.onAwsRetry?.({
      action: "iam:CreateAccessKey",
      code: "Throttling",
      httpStatus: 400,
      throttled: true,
    });
    opts.onAwsRetry?.({
      action: "iam:ListAccessKeys",
      code: "ServiceFailure",
      httpStatus: 500,
      throttled: false,
    });
  };
  const g = make();
  await g.start({ loop: false });
  await settle(g);
  assert.equal(g.stats().throttles, 1, "only the throttling retry counts");
  assert.equal(g.attempts[0]?.outcome, "succeeded");
  assert.ok(paced, "the engine was given the account's pacer");
});

test("post-rotation scripts run after the rotation; a failing one makes the attempt script-failed (a failure), the rotation stands", async () => {
  const { vault, engine, make } = await setup();
  const uid = addUser(vault.store, "ivy", "every 1h");
  const attach = (content: string, name: string) => {
    const file = vault.store.createRecord(newScriptFileRecord(name, content), { actor: "test" });
    const s = vault.store.getRecord(uid)!;
    vault.store.saveRecord(uid, addScript(s.record, { fileRef: file.uid, command: "node" }), {
      expectedRevision: s.revision,
      actor: "test",
    });
  };
  attach("console.log('first ran')", "ok.mjs");
  attach("console.error('second failed'); process.exit(3)", "bad.mjs");
  const g = make();
  await g.start({ loop: false });
  await settle(g);
  assert.equal(engine.calls.length, 1);
  const [a] = g.attempts;
  assert.equal(a?.outcome, "script-failed", "the key was rotated, its delivery failed: a failure");
  assert.equal(a?.final, true, "never retried: a retry would rotate again");
  assert.equal(g.stats()["script-failed"], 1);
  assert.equal(a?.keyIds.created, "AKIAFAKE00000001", "a failing script never undoes the rotation");
  assert.deepEqual(
    a?.scripts.map((s) => [s.name.split(" ")[0], s.exitCode, s.success, s.stdout.trim() || s.stderr.trim()]),
    [
      ["ok.mjs", 0, true, "first ran"],
      ["bad.mjs", 3, false, "second failed"],
    ],
  );
  assert.match(
    a?.error?.message ?? "",
    /the key was rotated, but 1 of 2 post-rotation script\(s\) failed: bad\.mjs/,
  );
});

test("NOOP=True (the seed's template) is rotated; rotation_mode=scripts-only without scripts is skipped and settles its slot; manual runs ignore the schedule", async () => {
  const { vault, engine, make } = await setup();
  const noop = addUser(vault.store, "hana", "every 1h", { NOOP: "True" });
  addUser(vault.store, "jack", "every 1h", { rotation_mode: "scripts-only" });
  const manual = addUser(vault.store, "kate", "none");
  const g = make();
  await g.rotateNow([manual]);
  await g.start({ loop: false });
  await settle(g);
  const byTitle = Object.fromEntries(g.attempts.map((a) => [a.recordTitle, a]));
  assert.equal(byTitle.hana?.outcome, "succeeded");
  assert.equal(byTitle.hana?.mode, "rotate", "NOOP is about Keeper's password rotation, not the key");
  assert.equal(byTitle.jack?.outcome, "skipped");
  assert.equal(byTitle.jack?.mode, "scripts-only");
  assert.equal(byTitle.jack?.final, true);
  assert.equal(byTitle.kate?.trigger, "manual");
  assert.equal(byTitle.kate?.outcome, "succeeded");
  assert.deepEqual(
    engine.calls.map((c) => c.uid).sort(),
    [noop, manual].sort(),
    "scripts-only never calls the engine; NOOP does",
  );
});

test("an unknown rotation_mode is refused (failed, not retried), never guessed", async () => {
  const { vault, engine, make } = await setup();
  addUser(vault.store, "olga", "every 1h", { rotation_mode: "script-only" });
  const g = make();
  await g.start({ loop: false });
  await settle(g);
  const [a] = g.attempts;
  assert.equal(a?.outcome, "failed");
  assert.equal(a?.final, true);
  assert.match(a?.error?.message ?? "", /unknown rotation mode "script-only"/);
  assert.equal(engine.calls.length, 0);
});

test("an attempt cut short by a kill is recorded at the next start: rotated → done, not rotated → retried", async () => {
  const { vault, clock, engine, make } = await setup();
  const rotatedUid = addUser(vault.store, "liam", "every 1h", {
    CreateDate: new Date(clock.now() - 5_000).toISOString(),
    aws_access_key_id: "AKIAROTATEDBEFOREKILL",
  });
  const undoneUid = addUser(vault.store, "mia", "every 1h", {
    CreateDate: new Date(clock.now() - 7_200_000).toISOString(),
  });
  // What a killed gateway leaves: a marker per attempt in progress, and no history entry.
  for (const [uid, id] of [
    [rotatedUid, "attempt-1"],
    [undoneUid, "attempt-2"],
  ] as const) {
    vault.store.putJournal({
      id,
      recordUid: uid,
      kind: "gateway-attempt",
      state: {
        trigger: "schedule",
        attempt: 1,
        slot: null,
        startedAt: new Date(clock.now() - 10_000).toISOString(),
        mode: "rotate",
      },
    });
  }
  const g = make();
  await g.start();
  await settle(g);
  const byId = Object.fromEntries(g.attempts.map((a) => [a.id, a]));
  assert.deepEqual(
    [byId["attempt-1"]?.outcome, byId["attempt-1"]?.final, byId["attempt-1"]?.keyIds.created],
    ["succeeded", true, "AKIAROTATEDBEFOREKILL"],
  );
  assert.match(byId["attempt-1"]?.error?.message ?? "", /scripts may not have run/);
  assert.deepEqual([byId["attempt-2"]?.outcome, byId["attempt-2"]?.final], ["failed", false]);
  assert.deepEqual(vault.store.listJournal({ kind: "gateway-attempt" }), [], "markers consumed");
  assert.equal(engine.calls.length, 0, "the rotated one is not rotated again; the other waits for its retry");
  await clock.advance(5_000);
  await settle(g);
  assert.deepEqual(
    engine.calls.map((c) => c.uid),
    [undoneUid],
    "the interrupted rotation is retried",
  );
  assert.equal(g.attempts.at(-1)?.attempt, 2);
});

test("schedules fire on time, not on ticks: every 3s rotates about every 3 s with the default 30 s tick", async () => {
  const { vault, clock, engine, make } = await setup({}, { tickSeconds: 30 });
  addUser(vault.store, "pia", "every 3s");
  const g = make();
  await g.start();
  await settle(g);
  assert.equal(engine.calls.length, 1, "never rotated: due at start");
  for (let i = 0; i < 6; i++) {
    await clock.advance(1000);
    await settle(g);
  }
  // CreateDate has whole seconds: runs at about 0, 3, 6 s.
  assert.equal(engine.calls.length, 3, JSON.stringify(engine.calls));
  const gaps = engine.calls.slice(1).map((c, i) => c.at - engine.calls[i]!.at);
  for (const gap of gaps) assert.ok(gap >= 2000 && gap <= 3000, `gap ${gap} ms`);
});

test("a record locked by another process is skipped once (not a failure, never retried), then re-planned from the vault", async () => {
  const { vault, clock, engine, make } = await setup({}, { tickSeconds: 5 });
  const uid = addUser(vault.store, "quinn", "every 1h");
  const { lockHeld } = await import("../rotation/lock-held.js");
  engine.fail = () => lockHeld("record quinn is being rotated by another process right now", "wait");
  const g = make();
  await g.start();
  await settle(g);
  assert.deepEqual(
    g.attempts.map((a) => [a.outcome, a.final, a.nextAttemptAt]),
    [["skipped", false, null]],
  );
  assert.equal(engine.calls.length, 1);
  // Between listings the record is not tried again (no hot loop, no retry).
  await clock.advance(4000);
  await settle(g);
  assert.equal(engine.calls.length, 1);
  // The other process finished the rotation: the next listing re-plans from the fresh record (not due).
  const s = vault.store.getRecord(uid)!;
  const r = structuredClone(s.record);
  setFieldValue(r, "aws_access_key_id", "AKIAROTATEDBYTHEOTHER");
  setFieldValue(r, "CreateDate", new Date(clock.now()).toISOString());
  vault.store.saveRecord(uid, r, { expectedRevision: s.revision, actor: "test" });
  engine.fail = undefined;
  await clock.advance(2000);
  await settle(g);
  assert.equal(engine.calls.length, 1, "not rotated a second time");
  assert.equal(g.stats().failed, 0);
});

test("graceful: a running gateway deletes the previous key when its old_key_grace ends, without a restart or a tick", async () => {
  const repairs: Array<{ at: number; records: string[] | undefined }> = [];
  const { vault, clock, make } = await setup(
    {
      repair: async (store, opts) => {
        if (!opts.records) return { records: [], ok: true };
        repairs.push({ at: clock.now(), records: opts.records });
        // What the real repair does: delete the key and forget it in the record.
        for (const uid of opts.records) {
          const s = (await store.getRecord(uid))!;
          const r = structuredClone(s.record);
          setFieldValue(r, "aws_previous_access_key_id", "");
          setFieldValue(r, "aws_previous_key_deactivated_at", "");
          await store.saveRecord(uid, r, { expectedRevision: s.revision, actor: "test" });
        }
        return {
          records: (opts.records ?? []).map((uid) => ({
            recordUid: uid,
            recordTitle: undefined,
            outcome: "grace-expired" as const,
            orphansDeleted: [],
            deleted: ["AKIAPREVIOUSKEY00001"],
            deactivated: [],
            created: undefined,
            warnings: [],
            error: undefined,
          })),
          ok: true,
        };
      },
    },
    { tickSeconds: 3600 },
  );
  const uid = addUser(vault.store, "rosa", "none", {
    rotation_strategy: "graceful",
    old_key_grace: "2h",
    aws_access_key_id: "AKIACURRENTKEY000001",
    aws_previous_access_key_id: "AKIAPREVIOUSKEY00001",
    aws_previous_key_deactivated_at: new Date(clock.now() - 3_600_000).toISOString(),
  });
  const g = make();
  await g.start();
  await settle(g);
  assert.equal(repairs.length, 0, "grace not over yet");
  await clock.advance(3_599_000);
  await settle(g);
  assert.equal(repairs.length, 0, "still a second to go");
  await clock.advance(2000);
  await settle(g);
  assert.equal(repairs.length, 1, "deleted on time, by the running gateway");
  assert.deepEqual(repairs[0]?.records, [uid]);
  assert.ok(repairs[0]!.at - (clock.now() - 2000) <= 1000);
  await clock.advance(3_600_000);
  await settle(g);
  assert.equal(repairs.length, 1, "once");
});

test("periodic repair: a rotation journal left pending (a dead rekey rotate) is repaired by a running gateway at its next listing", async () => {
  const repairs: string[][] = [];
  const { vault, clock, engine, make } = await setup(
    {
      repair: async (store, opts) => {
        if (!opts.records) return { records: [], ok: true };
        repairs.push(opts.records);
        for (const uid of opts.records)
          for (const j of await store.listJournal({ recordUid: uid })) await store.deleteJournal(j.id);
        return { records: [], ok: true };
      },
    },
    { tickSeconds: 10 },
  );
  const uid = addUser(vault.store, "sam", "every 1h", {
    CreateDate: new Date(clock.now()).toISOString(),
    aws_access_key_id: "AKIASAMSAMSAMSAM0001",
  });
  const g = make();
  await g.start();
  await settle(g);
  assert.equal(repairs.length, 0);
  // Another process dies mid-rotation: its journal stays behind.
  vault.store.putJournal({ id: "J1", recordUid: uid, kind: "rotation", state: { phase: "created" } });
  await clock.advance(10_000);
  await settle(g);
  assert.deepEqual(repairs, [[uid]], "repaired at the next listing, without a restart");
  assert.equal(engine.calls.length, 0, "not rotated on top of it");
  assert.deepEqual(vault.store.listJournal({ recordUid: uid }), []);
});
