/**
 * The fleet tests: IAM users in one account, all due at once, against a sandbox that throttles the
 * account per service (IAM, STS), while another client of the account ("noisy neighbour") keeps using
 * part of IAM's quota with the account's root key, as other tools do in real accounts: the fleet asks for
 * more than is left, so the pacing is always exercised. With the default concurrency and the gateway's
 * pacer (learning the account's pace from the throttles) every user rotates, with zero failed attempts.
 * In-process gateway (the real engine, the real vault); the process-level behaviour is in
 * gateway-process.test.ts. How close to the quota a fleet comes is measured by `npm run bench:fleet`,
 * not asserted here.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ListUsersCommand } from "@aws-sdk/client-iam";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { iamClient } from "../testing/sandbox-clients.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import { gatewayConfigSchema } from "./config.js";
import { createGateway } from "./gateway.js";
import { parseSchedule } from "./schedule.js";
import { setRecordSchedule } from "./schedule-field.js";

// The AWS SDK warns about Node 20 once per process: noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

let sandbox: Sandbox;
let vault: TempVault;
before(async () => {
  sandbox = await startSandbox({ env: {} });
  vault = await tempVault();
});
after(async () => {
  vault.cleanup();
  await sandbox.close();
});

interface Fleet {
  users: number;
  /** The sandbox's quota per account and service, requests/s, and its burst. */
  rate: number;
  burst: number;
  /** The neighbour's IAM requests/s. */
  neighbour: number;
  verify?: boolean;
}

/** Creates the fleet's users and records, runs a gateway until each has an attempt, then checks them. */
async function rotateFleet(t: { diagnostic(m: string): void; after(fn: () => unknown): void }, f: Fleet) {
  const { store } = vault;
  sandbox.knobs.set({ throttleRate: 0 }); // setting up is not part of the quota
  const prefix = `fleet-${f.users}-${f.rate}`;
  sandbox.admin.createUser(`${prefix}-admin`);
  sandbox.admin.putUserPolicy(`${prefix}-admin`, "rotate", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["iam:*", "sts:*"], Resource: "*" }],
  });
  const adminKey = sandbox.admin.createAccessKey(`${prefix}-admin`);
  const admin = newRecord("login", `${prefix} admin`);
  setFieldValue(admin, "aws_access_key_id", adminKey.accessKeyId, { type: "text" });
  setFieldValue(admin, "aws_secret_access_key", adminKey.secretAccessKey, { type: "secret" });
  const adminUid = store.createRecord(admin, { actor: "test" }).uid;
  if (!store.listRecords().some((r) => r.record.type === "pamAwsConfiguration")) {
    const config = newRecord("pamAwsConfiguration", "fleet account");
    setFieldValue(config, "awsId", sandbox.accountId);
    store.createRecord(config, { actor: "test" });
  }
  const users: Array<{ uid: string; name: string; firstKey: string }> = [];
  store.transaction(() => {
    for (let i = 0; i < f.users; i++) {
      const name = `${prefix}-${String(i).padStart(3, "0")}`;
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
  const historyBefore = store.listRotationHistory().length;
  sandbox.knobs.set({ throttleRate: f.rate, throttleBurst: f.burst });
  const before = sandbox.traffic()[adminKey.accessKeyId]?.iam ?? { accepted: 0, throttled: 0 };

  let awsCalls = 0;
  const paced: string[] = [];
  const gateway = createGateway({
    store: toAsyncStore(store, { groupCommits: true }), // as the CLI opens it
    observer: {
      awsCall: () => awsCalls++,
      awsPace: (_account, service) => paced.push(service),
    },
    // The defaults (32 at once, 16 per account), no jitter: the whole fleet is due at the same moment.
    config: gatewayConfigSchema.parse({
      tickSeconds: 0.5,
      jitterSeconds: 0,
      engine: { endpointUrl: sandbox.endpoint, ...(f.verify ? { verify: true } : {}) },
    }),
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  });
  t.after(() => gateway.stop(0));
  // The neighbour: IAM requests with the root key for as long as the fleet runs (its throttles are its business).
  const iam = iamClient(sandbox);
  const everyMs = Math.max(10, 1000 / f.neighbour);
  const neighbour = setInterval(() => {
    for (let i = 0; i < (f.neighbour * everyMs) / 1000; i++)
      iam.send(new ListUsersCommand({})).catch(() => {});
  }, everyMs);
  t.after(() => clearInterval(neighbour));
  const started = Date.now();
  await gateway.start();
  while (gateway.attempts.length < f.users) {
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(Date.now() - started < 240_000, `stuck at ${gateway.attempts.length}/${f.users}`);
  }
  clearInterval(neighbour);
  await gateway.stop(10_000);
  sandbox.knobs.set({ throttleRate: 0 });
  const seconds = (Date.now() - started) / 1000;
  const stats = gateway.stats();
  const traffic = sandbox.traffic()[adminKey.accessKeyId]?.iam ?? { accepted: 0, throttled: 0 };
  const served = traffic.accepted - before.accepted;
  const paces = gateway.paces().map((p) => `${p.service} ${p.rate ?? "unpaced"}/s`);
  t.diagnostic(
    `${f.users} rotations in ${seconds.toFixed(1)} s; ${served} IAM requests served ` +
      `(${(served / seconds).toFixed(1)}/s of the ${f.rate - f.neighbour}/s left by the neighbour); ` +
      `IAM throttled ${stats.throttles} request(s); paces: ${paces.join(", ")}; failed attempts: ${stats.failed}`,
  );

  assert.equal(stats.failed, 0);
  assert.equal(stats.succeeded, f.users);
  assert.ok(stats.throttles > 0, "the sandbox did throttle: the test exercised the pacing");
  assert.ok(paced.includes("iam"), "the gateway learned a pace for IAM from the throttles (metrics)");
  assert.ok(awsCalls >= f.users * 3, `every AWS call reaches the observer (metrics): ${awsCalls}`);
  const history = store.listRotationHistory().slice(historyBefore);
  assert.equal(history.length, f.users, "one attempt per user, nothing retried");
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
  return { gateway };
}

// A quota low enough that even a slow machine asks for more than the neighbour leaves.
test("fleet: 80 users, IAM throttled to 30 requests/s with a 10 requests/s neighbour: all rotate, zero failures", {
  timeout: 300_000,
}, async (t) => {
  await rotateFleet(t, { users: 80, rate: 30, burst: 10, neighbour: 10 });
});

test("fleet at a low quota: 12 users, 5 requests/s per service, verified through STS: all rotate, zero failures", {
  timeout: 300_000,
}, async (t) => {
  const stsBefore = sandbox.traffic();
  const { gateway } = await rotateFleet(t, { users: 12, rate: 5, burst: 5, neighbour: 1, verify: true });
  // Verification went to STS, counted against STS's quota, not IAM's.
  let sts = 0;
  for (const [key, services] of Object.entries(sandbox.traffic())) {
    sts += (services.sts?.accepted ?? 0) - (stsBefore[key]?.sts?.accepted ?? 0);
  }
  assert.ok(sts >= 12, `every new key was verified through STS: ${sts}`);
  const iam = gateway.paces().find((p) => p.service === "iam");
  assert.ok(iam?.rate && iam.rate <= 10, `IAM's pace was learned near the quota: ${iam?.rate}`);
});
