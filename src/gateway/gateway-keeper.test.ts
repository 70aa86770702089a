/**
 * The gateway over a Keeper vault: the real engine through KeeperVault and the official KSM SDK against the
 * in-process fake Keeper, the sandbox for IAM. History, journal and leases live in the local state directory.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FakeKeeper, seedAwsRotation } from "../keeper/fake-server/index.js";
import { openKeeperVault } from "../keeper/ksm-store.js";
import { uniqueName } from "../rotation/test-support.js";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { getFieldValue, type KeeperRecord, removeField, setFieldValue } from "../vault/record.js";
import { gatewayConfigSchema } from "./config.js";
import { createGateway } from "./gateway.js";
import { parseAttempt } from "./history-model.js";
import { parseSchedule } from "./schedule.js";
import { SCHEDULE_FIELD_TYPE, SCHEDULE_LABEL, scheduleFieldValue } from "./schedule-field.js";
import { computeStatus } from "./status.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

let sandbox: Sandbox;
let dir: string;
before(async () => {
  sandbox = await startSandbox({ env: {} });
  dir = mkdtempSync(join(tmpdir(), "rekey-gateway-keeper-"));
});
after(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a scheduled pamUser in Keeper rotates once: new key saved in Keeper, one history entry, not again at the next tick", async (t) => {
  const fake = new FakeKeeper();
  const userName = uniqueName("kgw");
  sandbox.admin.createUser(userName);
  const old = sandbox.admin.createAccessKey(userName);
  const s = seedAwsRotation(fake, {
    userName,
    awsAccountId: sandbox.accountId,
    currentKey: { id: old.accessKeyId, secret: old.secretAccessKey },
    attachedAdmin: {
      kind: "aws",
      accessKeyId: sandbox.root.accessKeyId,
      secretAccessKey: sandbox.root.secretAccessKey,
    },
  });
  // The seed's record runs scripts only and names a Keeper file attachment: rotate instead, on a schedule.
  fake.editRecord(s.userUid, (d) => {
    const r = d as unknown as KeeperRecord;
    setFieldValue(r, "NOOP", "False");
    removeField(r, "rotationScripts");
    setFieldValue(r, "rotation_credentials", s.adminUid!);
    setFieldValue(r, SCHEDULE_LABEL, scheduleFieldValue(parseSchedule("every 1h")), {
      type: SCHEDULE_FIELD_TYPE,
    });
  });
  const configPath = join(dir, "ksm.json");
  writeFileSync(configPath, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
  const stateDir = join(dir, "state");
  const vault = await openKeeperVault({ configPath, stateDir, queryFunction: fake.queryFunction });

  const gateway = createGateway({
    store: vault,
    config: gatewayConfigSchema.parse({ jitterSeconds: 0, engine: { endpointUrl: sandbox.endpoint } }),
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  });
  t.after(() => gateway.stop(0));
  await gateway.start({ loop: false });
  await gateway.idle();

  assert.equal(gateway.attempts.length, 1, JSON.stringify(gateway.attempts));
  const [attempt] = gateway.attempts;
  assert.equal(attempt?.outcome, "succeeded", JSON.stringify(attempt?.error));
  assert.equal(attempt?.trigger, "startup-catch-up");
  const saved = fake.recordData(s.userUid) as unknown as KeeperRecord;
  const newKey = getFieldValue(saved, "aws_access_key_id");
  assert.notEqual(newKey, old.accessKeyId);
  assert.equal(attempt?.keyIds.created, newKey);
  assert.deepEqual(attempt?.keyIds.deleted, [old.accessKeyId]);
  assert.deepEqual(
    sandbox.admin.listKeys(userName).map((k) => k.accessKeyId),
    [newKey],
    "IAM holds only the key Keeper holds",
  );
  assert.equal(fake.pending.size, 0, "no Keeper transaction left open");

  const history = (await vault.listRotationHistory({ recordUid: s.userUid })).map(parseAttempt);
  assert.deepEqual(
    history.map((h) => [h.outcome, h.keyIds.created]),
    [["succeeded", newKey]],
  );
  assert.equal(readdirSync(join(stateDir, "history")).length, 1, "kept in the local state directory");
  assert.deepEqual(await vault.listJournal(), [], "no attempt marker or rotation journal left behind");
  assert.ok((await vault.listAudit()).some((a) => a.action === "gateway.rotation.succeeded"));

  assert.equal(await gateway.tick(), 0, "not due again");
  await gateway.idle();
  assert.equal(gateway.attempts.length, 1);
  assert.equal((await vault.listRotationHistory()).length, 1);
  assert.equal(
    getFieldValue(fake.recordData(s.userUid) as unknown as KeeperRecord, "aws_access_key_id"),
    newKey,
  );

  const [status] = await computeStatus(vault);
  assert.equal(status?.keyId, newKey);
  assert.equal(status?.scheduleSource, "record");
  assert.equal(status?.lastOutcome?.outcome, "succeeded");
  assert.ok(status?.nextRotation && Date.parse(status.nextRotation) > Date.now(), "next run in the future");
});
