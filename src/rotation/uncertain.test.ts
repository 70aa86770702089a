/**
 * Faults that happen after IAM acted (issue: rotation under uncertain AWS outcomes): a forgotten restart,
 * a CreateAccessKey that lands after its answer was lost, a hung endpoint, the rotation's deadline.
 * The real engine against the sandbox, whose knobs produce the faults; a real SQLite vault.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AwsCallError } from "../providers/aws-iam/errors.js";
import type { IamKeyPort } from "../providers/aws-iam/port.js";
import type { Sandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  assertConverged,
  fastOptions,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { getFieldValue } from "../vault/record.js";
import { rotateRecord } from "./engine.js";
import { repairRecords } from "./repair-records.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;
let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "admin key" });
  ({ sandbox, store } = fx);
});
after(() => fx.close());

function userWith(strategy: string) {
  const name = uniqueName("unc");
  sandbox.admin.createUser(name);
  const k = sandbox.admin.createAccessKey(name);
  const rec = addRecord(
    store,
    pamUser(`${name} (AWS)`, name, { rotation_credentials: "admin key", rotation_strategy: strategy }),
  );
  recordKey(store, rec.uid, k.accessKeyId, k.secretAccessKey);
  return { name, uid: rec.uid, key: k };
}

/** CreateAccessKey fails for sure (IAM did nothing): a 500 the retries could not get past, a full disk... */
const failingCreate = (port: IamKeyPort): IamKeyPort => ({
  ...port,
  async createKey() {
    throw new AwsCallError("aws", "iam:CreateAccessKey failed: ServiceFailure (HTTP 500)", {
      code: "ServiceFailure",
      action: "iam:CreateAccessKey",
    });
  },
});

test("a failed restart is never forgotten: delete-then-create deleted the key, two creates fail, a later repair still gives the user a working key", async () => {
  const { name, uid, key } = userWith("delete-then-create");
  await assert.rejects(
    rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { wrapPort: failingCreate })),
    /ServiceFailure/,
  );
  assert.deepEqual(sandbox.admin.listKeys(name), [], "the vault's key is gone, no new one yet");
  assert.equal(store.listJournal({ recordUid: uid }).length, 1, "the journal says so");

  // The repair restarts the rotation, and its CreateAccessKey fails too: the fact must survive.
  const failed = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { wrapPort: failingCreate }),
    records: [uid],
  });
  assert.equal(failed.ok, false);
  assert.equal(store.listJournal({ recordUid: uid }).length, 1, "still journaled after a failed restart");

  // A healthy repair later finishes the job: a working key, in IAM and in the vault.
  const healed = await repairRecords(toAsyncStore(store), fastOptions(sandbox));
  assert.ok(healed.ok, JSON.stringify(healed));
  assert.equal(healed.records[0]?.outcome, "restarted");
  assert.notEqual(getFieldValue(store.getRecord(uid)!.record, "aws_access_key_id"), key.accessKeyId);
  await assertConverged(sandbox, store, uid, name);
});

test("a CreateAccessKey that lands after its answer was lost, behind a stale ListAccessKeys, leaves no orphan", async () => {
  try {
    for (const strategy of ["create-then-delete", "graceful", "delete-then-create"]) {
      const { name, uid } = userWith(strategy);
      sandbox.knobs.set({ staleListMs: 1_000 });
      // Let the listing catch up with the user's own key first (a stale list would hide it).
      await new Promise((r) => setTimeout(r, 1_100));
      let lost = 0;
      // The connection resets, and IAM creates the key 150 ms later (the sandbox's late action, by hand here
      // so that only the first create of this rotation is hit).
      const late = (port: IamKeyPort): IamKeyPort => ({
        ...port,
        async createKey(user) {
          if (lost++ === 0) {
            setTimeout(() => sandbox.admin.createAccessKey(user), 150);
            throw new AwsCallError("aws", "iam:CreateAccessKey: ECONNRESET", {
              code: "ECONNRESET",
              action: "iam:CreateAccessKey",
              outcomeUnknown: true,
            });
          }
          return port.createKey(user);
        },
      });
      const r = await rotateRecord(
        toAsyncStore(store),
        uid,
        fastOptions(sandbox, { wrapPort: late, consistencyWindowMs: 1_300, verify: strategy === "graceful" }),
      );
      assert.equal(
        r.steps.filter((s) => s.step === "orphan-delete").length,
        1,
        `${strategy}: ${JSON.stringify(r.steps)}`,
      );
      sandbox.knobs.set({ staleListMs: 0 });
      await assertConverged(sandbox, store, uid, name, { graceful: strategy === "graceful" });
    }
  } finally {
    sandbox.knobs.set({ staleListMs: 0 });
  }
});

test("LimitExceeded after a lost create is proof it landed: settled, not a failure", async () => {
  const { name, uid } = userWith("create-then-delete");
  let calls = 0;
  // The first create's answer is lost but it landed (2 keys now); the listing right after is stale and
  // misses it, so only the retry's LimitExceeded tells.
  sandbox.knobs.set({ staleListMs: 600 });
  await new Promise((r) => setTimeout(r, 700));
  try {
    const landed = (port: IamKeyPort): IamKeyPort => ({
      ...port,
      async createKey(user) {
        calls++;
        if (calls === 1) {
          await port.createKey(user);
          throw new AwsCallError("aws", "iam:CreateAccessKey: ECONNRESET", {
            code: "ECONNRESET",
            action: "iam:CreateAccessKey",
            outcomeUnknown: true,
          });
        }
        return port.createKey(user);
      },
    });
    const r = await rotateRecord(
      toAsyncStore(store),
      uid,
      fastOptions(sandbox, { wrapPort: landed, consistencyWindowMs: 400 }),
    );
    assert.ok(r.created);
    // lost (landed) → a listing still too stale to show it → the retry's LimitExceeded → settled → created.
    assert.equal(calls, 3);
    assert.equal(r.steps.filter((s) => s.step === "orphan-delete").length, 1);
  } finally {
    sandbox.knobs.set({ staleListMs: 0 });
  }
  await assertConverged(sandbox, store, uid, name);
});

test("a hung endpoint (accepts, never answers) fails the rotation in bounded time and releases the lock", async () => {
  const { name, uid, key } = userWith("create-then-delete");
  sandbox.knobs.set({ blackHoleRate: 1 });
  const started = Date.now();
  try {
    await assert.rejects(
      rotateRecord(
        toAsyncStore(store),
        uid,
        fastOptions(sandbox, {
          requestTimeoutMs: 400,
          retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
        }),
      ),
      /no answer within/,
    );
  } finally {
    sandbox.knobs.set({ blackHoleRate: 0 });
  }
  assert.ok(Date.now() - started < 30_000, "bounded");
  // The lock was released: the next rotation runs at once.
  const r = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.deepEqual(r.deleted, [key.accessKeyId]);
  await assertConverged(sandbox, store, uid, name);
});

test("the rotation's deadline: past it, the step in flight is undone, the lock released, and the error says the state", async () => {
  const { name, uid, key } = userWith("create-then-delete");
  sandbox.knobs.set({ latencyMs: 400 });
  try {
    // ListAccessKeys and GetUser go out together (0-400 ms), CreateAccessKey runs 400-800 ms: the deadline
    // falls in the create.
    await assert.rejects(
      rotateRecord(
        toAsyncStore(store),
        uid,
        fastOptions(sandbox, { deadlineMs: 600, verify: true, verifyTimeoutMs: 20_000 }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /did not finish within its deadline/);
        assert.match(err.message, /deleted again before the vault was changed|nothing was changed/);
        return true;
      },
    );
  } finally {
    sandbox.knobs.set({ latencyMs: 0 });
  }
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => k.accessKeyId),
    [key.accessKeyId],
  );
  assert.deepEqual(store.listJournal({ recordUid: uid }), []);
  const r = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.ok(r.created, "the lock was released");
});

test("verification polls through transient STS trouble until its deadline instead of giving up at the first", async () => {
  const { name, uid, key } = userWith("graceful");
  let probes = 0;
  const flaky = (port: IamKeyPort): IamKeyPort => ({
    ...port,
    async whoAmI(creds, probe) {
      if (++probes <= 3) {
        throw new AwsCallError("aws", "sts:GetCallerIdentity failed: ServiceUnavailable (HTTP 503)", {
          code: "ServiceUnavailable",
          action: "sts:GetCallerIdentity",
        });
      }
      return port.whoAmI(creds, probe);
    },
  });
  const r = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { wrapPort: flaky }));
  assert.equal(r.verified?.attempts, 4);
  assert.deepEqual(r.deactivated, [key.accessKeyId]);
  await assertConverged(sandbox, store, uid, name, { graceful: true });
});
