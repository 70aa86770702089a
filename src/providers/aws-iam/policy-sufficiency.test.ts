/**
 * The policy `rekey policy` prints is enough for each strategy (an admin with exactly that policy
 * rotates), and the seed's three-action policy is refused for graceful before anything changes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RekeyError } from "../../errors.js";
import { rotateRecord } from "../../rotation/engine.js";
import { STRATEGIES, type Strategy } from "../../rotation/settings.js";
import type { Sandbox } from "../../sandbox/index.js";
import { toAsyncStore } from "../../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  adminWithPolicy,
  assertConverged,
  credentialRecord,
  fastOptions,
  iamUserWithKeys,
  pamUser,
  type RotationFixture,
  rotationFixture,
  uniqueName,
} from "../../testing/rotation.js";
import { policyFor } from "./policy.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture();
  ({ sandbox, store } = fx);
});
after(() => fx.close());

function withAdmin(strategy: Strategy, policy: unknown) {
  const name = uniqueName(`u-${strategy}`);
  const keys = iamUserWithKeys(sandbox, name, 1);
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policy);
  const cred = addRecord(
    store,
    credentialRecord(uniqueName("cred"), {
      aws_access_key_id: admin.accessKeyId,
      aws_secret_access_key: admin.secretAccessKey,
    }),
  );
  const r = addRecord(
    store,
    pamUser(`${name} (AWS)`, name, { rotation_credentials: cred.uid, rotation_strategy: strategy }),
  );
  return { name, uid: r.uid, keys };
}

for (const strategy of STRATEGIES) {
  test(`policyFor({strategy: "${strategy}", account}) is sufficient: two rotations, no warning`, async () => {
    const { name, uid } = withAdmin(strategy, policyFor({ strategy, account: sandbox.accountId }));
    for (let i = 0; i < 2; i++) {
      const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
      assert.ok(res.created);
      assert.ok(res.userId, "GetUser is allowed: the UserId check ran");
      assert.deepEqual(
        res.warnings.filter((w) => /denied|skipped/i.test(w)),
        [],
      );
    }
    await assertConverged(sandbox, store, uid, name, { graceful: strategy === "graceful" });
  });
}

test("the seed's three-action policy is enough for create-then-delete and delete-then-create", async () => {
  const seedPolicy = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"],
        Resource: `arn:aws:iam::${sandbox.accountId}:user/*`,
      },
    ],
  };
  for (const strategy of ["create-then-delete", "delete-then-create"] as const) {
    const { name, uid } = withAdmin(strategy, seedPolicy);
    const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
    assert.ok(res.created);
    await assertConverged(sandbox, store, uid, name);
  }
});

test("the seed's policy is refused for graceful: AccessDenied on UpdateAccessKey, nothing changed", async () => {
  const { name, uid, keys } = withAdmin(
    "graceful",
    policyFor({ strategy: "create-then-delete", account: sandbox.accountId }),
  );
  const rev = store.getRecord(uid)!.revision;
  await assert.rejects(rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox)), (e: unknown) => {
    assert.ok(e instanceof RekeyError);
    assert.equal(e.kind, "auth");
    assert.match(e.message, /iam:UpdateAccessKey/);
    assert.match(e.message, /nothing was changed/);
    assert.match(e.hint ?? "", /rekey policy --strategy graceful/);
    return true;
  });
  // Decision: refuse up front (a no-op UpdateAccessKey probe), so no key is created and the vault is untouched.
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => [k.accessKeyId, k.status]),
    [[keys[0], "Active"]],
  );
  assert.equal(store.getRecord(uid)!.revision, rev);
  assert.deepEqual(store.listJournal({ recordUid: uid }), []);
});
