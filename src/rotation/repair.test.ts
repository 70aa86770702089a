/**
 * Crash safety, in-process: a rotation is stopped at each step boundary (the checkpoint hook throws,
 * leaving the journal and AWS exactly as a crash there would), then the next `repair` or `rotate`
 * must converge: the vault's key is the user's only Active key (or graceful's pair), no orphan key
 * remains, no secret is lost. The child-process SIGKILL version is crash.test.ts.
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
import type { CrashStep } from "./checkpoint.js";
import { rotateRecord } from "./engine.js";
import { fromEntry } from "./journal.js";
import { repairRecords } from "./repair-records.js";
import type { Strategy } from "./settings.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "root cred" });
  ({ sandbox, store } = fx);
});
after(() => fx.close());

class SimulatedCrash extends Error {}

interface Scenario {
  name: string;
  strategy: Strategy;
  verify?: boolean;
  /** Prepare the user and record; returns them. */
  setup(): { userName: string; uid: string };
  steps: CrashStep[];
}

/** A user with one key recorded as the vault's, plus optional extra (inactive) keys. */
function userWith(strategy: Strategy, opts: { inactiveExtra?: boolean; previous?: boolean } = {}) {
  const userName = uniqueName(`crash-${strategy}`);
  sandbox.admin.createUser(userName);
  const main = sandbox.admin.createAccessKey(userName);
  const fields: Record<string, string> = { rotation_credentials: "root cred", rotation_strategy: strategy };
  if (opts.inactiveExtra || opts.previous) {
    const extra = sandbox.admin.createAccessKey(userName, { status: "Inactive" });
    if (opts.previous) fields.aws_previous_access_key_id = extra.accessKeyId;
  }
  const r = addRecord(store, pamUser(`${userName} (AWS)`, userName, fields));
  recordKey(store, r.uid, main.accessKeyId, main.secretAccessKey);
  return { userName, uid: r.uid };
}

const scenarios: Scenario[] = [
  {
    name: "create-then-delete",
    strategy: "create-then-delete",
    setup: () => userWith("create-then-delete"),
    steps: ["intent", "create", "journal", "save", "delete-after"],
  },
  {
    name: "create-then-delete with verify",
    strategy: "create-then-delete",
    verify: true,
    setup: () => userWith("create-then-delete"),
    steps: ["verify"],
  },
  {
    name: "create-then-delete with an inactive 2nd key",
    strategy: "create-then-delete",
    setup: () => userWith("create-then-delete", { inactiveExtra: true }),
    steps: ["delete-before", "create"],
  },
  {
    name: "delete-then-create",
    strategy: "delete-then-create",
    setup: () => userWith("delete-then-create", { inactiveExtra: true }),
    steps: ["intent", "delete-before", "create", "journal", "save"],
  },
  {
    name: "graceful with a previous key",
    strategy: "graceful",
    setup: () => userWith("graceful", { previous: true }),
    steps: ["intent", "delete-before", "create", "journal", "verify", "save", "deactivate"],
  },
];

/** Right after a crash: every key is one we knew, the journaled new key, or (crash at create) the orphan. */
function assertNoSecretLost(userName: string, uid: string, step: CrashStep, knownBefore: string[]) {
  const journal = store.listJournal({ recordUid: uid }).map(fromEntry);
  const journaled = journal.flatMap((j) => (j.newKey ? [j.newKey.accessKeyId] : []));
  const vaultKey = getFieldValue(store.getRecord(uid)!.record, "aws_access_key_id");
  for (const k of sandbox.admin.listKeys(userName)) {
    const accounted =
      knownBefore.includes(k.accessKeyId) || journaled.includes(k.accessKeyId) || k.accessKeyId === vaultKey;
    if (step === "create") continue; // the one moment a key exists whose secret is nowhere: repair's job
    assert.ok(accounted, `after a crash at ${step}, key ${k.accessKeyId} has its secret stored somewhere`);
  }
}

for (const sc of scenarios) {
  for (const step of sc.steps) {
    for (const next of ["repair", "rotate"] as const) {
      test(`${sc.name}: crash after "${step}", then ${next} converges`, async () => {
        const { userName, uid } = sc.setup();
        const knownBefore = sandbox.admin.listKeys(userName).map((k) => k.accessKeyId);
        let fired = false;
        await assert.rejects(
          rotateRecord(
            toAsyncStore(store),
            uid,
            fastOptions(sandbox, {
              ...(sc.verify ? { verify: true } : {}),
              onCheckpoint: (s) => {
                if (s === step && !fired) {
                  fired = true;
                  throw new SimulatedCrash(`crash at ${s}`);
                }
              },
            }),
          ),
          SimulatedCrash,
        );
        assert.ok(fired, `step ${step} was reached`);
        assertNoSecretLost(userName, uid, step, knownBefore);

        if (next === "repair") {
          const res = await repairRecords(toAsyncStore(store), fastOptions(sandbox));
          const mine = res.records.find((r) => r.recordUid === uid);
          assert.ok(mine, "the record had a pending rotation to repair");
          assert.notEqual(mine.outcome, "failed", JSON.stringify(mine.error));
          if (step === "create")
            assert.equal(mine?.orphansDeleted.length, 1, "the orphan of the lost create is deleted");
        } else {
          const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
          if (step === "create") assert.equal(res.resumed?.orphansDeleted.length, 1);
          assert.ok(res.resumed, "the interrupted rotation was dealt with first");
        }
        await assertConverged(sandbox, store, uid, userName, {
          graceful: sc.strategy === "graceful",
          preExisting: knownBefore,
        });
      });
    }
  }
}

test("an interrupted rotation whose secret was journaled is finished, not redone", async () => {
  const { userName, uid } = userWith("create-then-delete");
  await assert.rejects(
    rotateRecord(
      toAsyncStore(store),
      uid,
      fastOptions(sandbox, {
        onCheckpoint: (s) => {
          if (s === "journal") throw new SimulatedCrash(s);
        },
      }),
    ),
    SimulatedCrash,
  );
  const pending = fromEntry(store.listJournal({ recordUid: uid })[0]!);
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.resumed?.outcome, "finished");
  assert.equal(
    res.created?.accessKeyId,
    pending.newKey?.accessKeyId,
    "the journaled key became the vault's key",
  );
  await assertConverged(sandbox, store, uid, userName);
});

test("a CreateAccessKey whose answer is lost: keys are listed, the orphan deleted, then one more create", async () => {
  const { userName, uid } = userWith("create-then-delete");
  let lost = 0;
  const losing = (port: IamKeyPort): IamKeyPort => ({
    ...port,
    async createKey(user) {
      const k = await port.createKey(user);
      if (lost++ === 0) {
        throw new AwsCallError("aws", "iam:CreateAccessKey failed with an unknown outcome (ECONNRESET)", {
          code: "ECONNRESET",
          action: "iam:CreateAccessKey",
          outcomeUnknown: true,
        });
      }
      return k;
    },
  });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { wrapPort: losing }));
  assert.equal(lost, 2, "created twice: once lost, once after the listing");
  assert.equal(res.steps.filter((s) => s.step === "orphan-delete").length, 1);
  assert.ok(res.warnings.some((w) => /orphan/.test(w)));
  await assertConverged(sandbox, store, uid, userName);

  // Always lost: it gives up after the second try, leaves no orphan and changes nothing.
  const always = (port: IamKeyPort): IamKeyPort => ({
    ...port,
    async createKey(user) {
      await port.createKey(user);
      throw new AwsCallError("aws", "lost", {
        code: "ECONNRESET",
        action: "iam:CreateAccessKey",
        outcomeUnknown: true,
      });
    },
  });
  const before = getFieldValue(store.getRecord(uid)!.record, "aws_access_key_id");
  await assert.rejects(
    rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { wrapPort: always })),
    AwsCallError,
  );
  assert.deepEqual(
    sandbox.admin.listKeys(userName).map((k) => k.accessKeyId),
    [before],
  );
  assert.deepEqual(store.listJournal({ recordUid: uid }), []);
});

test("a dry-run mentions a pending interrupted rotation", async () => {
  const { uid } = userWith("create-then-delete");
  await assert.rejects(
    rotateRecord(
      toAsyncStore(store),
      uid,
      fastOptions(sandbox, {
        onCheckpoint: (s) => {
          if (s === "save") throw new SimulatedCrash(s);
        },
      }),
    ),
    SimulatedCrash,
  );
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { dryRun: true }));
  assert.ok(res.warnings.some((w) => /interrupted rotation of this record is pending.*finishes it/.test(w)));
  assert.deepEqual(
    res.steps.map((s) => [s.step, s.status]),
    [["delete", "planned"]],
  );
  await repairRecords(toAsyncStore(store), { ...fastOptions(sandbox), records: [uid] });
  assert.deepEqual(store.listJournal({ recordUid: uid }), []);
});
