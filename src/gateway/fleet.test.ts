/**
 * The fleet test: 200 IAM users in one account, all due at once, against a sandbox that throttles the
 * account to 100 requests/s (bursts of 10), while another client of the account ("noisy neighbour")
 * keeps using 40 requests/s of that quota, as other tools do in real accounts: the fleet asks for more
 * than is left on any machine, so the back-off is always exercised. With the default concurrency, the gateway's limiter (pausing the account
 * on throttling) and the engine's own retries, every one rotates, with zero failed attempts.
 * In-process gateway (the real engine, the real vault); the process-level behaviour is in
 * gateway-process.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { stsClient } from "../testing/sandbox-clients.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import { gatewayConfigSchema } from "./config.js";
import { createGateway } from "./gateway.js";
import { parseSchedule } from "./schedule.js";
import { setRecordSchedule } from "./schedule-field.js";

// The AWS SDK warns about Node 20 once per process: noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const USERS = 200;
const RATE = 100;

let sandbox: Sandbox;
let vault: TempVault;
before(async () => {
  sandbox = await startSandbox({ env: {}, throttleRate: RATE, throttleBurst: 10 });
  vault = await tempVault();
});
after(async () => {
  vault.cleanup();
  await sandbox.close();
});

test(`fleet: ${USERS} users against IAM throttled to ${RATE} requests/s all rotate, zero failures`, {
  timeout: 120_000,
}, async (t) => {
  const { store } = vault;
  const admin = newRecord("login", "fleet admin");
  setFieldValue(admin, "aws_access_key_id", sandbox.root.accessKeyId, { type: "text" });
  setFieldValue(admin, "aws_secret_access_key", sandbox.root.secretAccessKey, { type: "secret" });
  const adminUid = store.createRecord(admin, { actor: "test" }).uid;
  const config = newRecord("pamAwsConfiguration", "fleet account");
  setFieldValue(config, "awsId", sandbox.accountId);
  store.createRecord(config, { actor: "test" });
  const users: Array<{ uid: string; name: string; firstKey: string }> = [];
  store.transaction(() => {
    for (let i = 0; i < USERS; i++) {
      const name = `fleet-${String(i).padStart(3, "0")}`;
      sandbox.admin.createUser(name);
      const key = sandbox.admin.createAccessKey(name);
      let r = newRecord("pamUser", name);
      setFieldValue(r, "login", name);
      setFieldValue(r, "aws_access_key_id", key.accessKeyId, { type: "text" });
      setFieldValue(r, "aws_secret_access_key", key.secretAccessKey, { type: "secret" });
      setFieldValue(r, "rotation_credentials", adminUid);
      r = setRecordSchedule(r, parseSchedule("every 1d"));
      users.push({ uid: store.createRecord(r, { actor: "test" }).uid, name, firstKey: key.accessKeyId });
    }
  });

  let awsCalls = 0;
  const gateway = createGateway({
    store: toAsyncStore(store),
    observer: { awsCall: () => awsCalls++ },
    // The defaults (8 at once, 4 per account), no jitter: the whole fleet is due at the same moment.
    config: gatewayConfigSchema.parse({
      tickSeconds: 0.5,
      jitterSeconds: 0,
      engine: { endpointUrl: sandbox.endpoint },
    }),
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  });
  t.after(() => gateway.stop(0));
  // The neighbour: 40 requests/s for as long as the fleet runs (its own throttles are its business).
  const sts = stsClient(sandbox);
  const neighbour = setInterval(() => {
    for (let i = 0; i < 4; i++) sts.send(new GetCallerIdentityCommand({})).catch(() => {});
  }, 100);
  t.after(() => clearInterval(neighbour));
  const started = Date.now();
  await gateway.start();
  while (gateway.attempts.length < USERS) {
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(Date.now() - started < 100_000, `stuck at ${gateway.attempts.length}/${USERS}`);
  }
  clearInterval(neighbour);
  await gateway.stop(10_000);
  const seconds = (Date.now() - started) / 1000;
  const stats = gateway.stats();
  t.diagnostic(
    `${USERS} rotations in ${seconds.toFixed(1)} s; IAM throttled ${stats.throttles} request(s); ` +
      `failed attempts: ${stats.failed}`,
  );

  assert.equal(stats.failed, 0);
  assert.equal(stats.succeeded, USERS);
  assert.ok(stats.throttles > 0, "the sandbox did throttle: the test exercised the back-off");
  assert.ok(awsCalls >= USERS * 3, `every AWS call reaches the observer (metrics): ${awsCalls}`);
  const history = store.listRotationHistory();
  assert.equal(history.length, USERS, "one attempt per user, nothing retried");
  assert.ok(history.every((e) => e.outcome === "succeeded"));
  for (const u of users) {
    const keyId = getFieldValue(store.getRecord(u.uid)!.record, "aws_access_key_id");
    assert.notEqual(keyId, u.firstKey, `${u.name} rotated`);
    assert.deepEqual(
      sandbox.admin.listKeys(u.name).map((k) => [k.accessKeyId, k.status]),
      [[keyId, "Active"]],
      `${u.name}: the vault's key is the only key`,
    );
  }
});
