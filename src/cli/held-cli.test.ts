/**
 * An application still on the old key holds its deletion, end to end: the real bundled CLI in child
 * processes, an "application" in this process signing requests with the old key every few milliseconds
 * while `rekey rotate` runs, the sandbox recording each key's last use.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, freshHome, rekeyAsync } from "../testing/cli.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(() => sandbox.close());

/** An application that calls STS with `key` until stopped. */
function application(key: { accessKeyId: string; secretAccessKey: string }) {
  const sts = new STSClient({
    endpoint: sandbox.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    maxAttempts: 1,
  });
  let running = true;
  let calls = 0;
  const loop = (async () => {
    while (running) {
      await sts.send(new GetCallerIdentityCommand({})).catch(() => undefined);
      calls++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    calls: () => calls,
    async stop() {
      running = false;
      await loop;
      sts.destroy();
    },
  };
}

test("rotate while an application uses the old key: new key saved, old key held (status, history); deleted once unused", async () => {
  const name = "held-app";
  const { env } = freshHome();
  const fullEnv = { ...env, AWS_EC2_METADATA_DISABLED: "true" };
  sandbox.admin.createUser(name);
  const old = sandbox.admin.createAccessKey(name);
  await addKeyRecords(fullEnv, "admin", sandbox.root, { name, key: old });
  const run = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = await rekeyAsync(args, { env: { ...fullEnv, ...extra } });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  await run(["record", "edit", name, "--set", "old_key_recheck=1s"]);

  const app = application(old);
  let r: Awaited<ReturnType<typeof run>>;
  try {
    // At IAM's own precision (to the minute): the application's calls during the rotation are uses after
    // the new key was created. (At the sandbox's millisecond precision, a call would have to land in the
    // few milliseconds between the create and the check.)
    r = await run(["rotate", name, "--endpoint-url", sandbox.endpoint], {
      REKEY_LAST_USE_RESOLUTION_MS: "60000",
    });
  } finally {
    await app.stop();
  }
  assert.ok(app.calls() > 0);
  assert.match(r.stdout, new RegExp(`kept: +${old.accessKeyId}: held: old key still in use`));
  assert.match(r.stdout, /recorded as held in the rotation history/);
  const keys = sandbox.admin.listKeys(name);
  assert.equal(keys.length, 2, "the old key is still there");
  assert.equal(keys.find((k) => k.accessKeyId === old.accessKeyId)?.status, "Active");

  const status = JSON.parse((await run(["status", "--json"])).stdout) as Array<{
    title: string;
    previousKeys: { keyIds: string[]; phase: string; nextStepAt: string } | null;
    lastOutcome: { outcome: string; error: string | null } | null;
  }>;
  const row = status.find((s) => s.title === name)!;
  assert.deepEqual(row.previousKeys?.keyIds, [old.accessKeyId]);
  assert.equal(row.previousKeys?.phase, "held");
  assert.equal(row.lastOutcome?.outcome, "held");
  assert.match(row.lastOutcome?.error ?? "", /still in use/);
  const table = (await run(["status"])).stdout;
  assert.match(table, new RegExp(`OLD KEY ${old.accessKeyId} HELD`));
  assert.match(table, /held: old key still in use/);
  assert.doesNotMatch(table, /held: held:/, "the outcome is said once");

  // Still in use after the hold: the recheck (old_key_recheck=1s) holds it again.
  const late = application(old);
  await new Promise((res) => setTimeout(res, 50));
  await late.stop();
  await new Promise((res) => setTimeout(res, 1_200));
  assert.match(
    (await run(["repair", "--endpoint-url", sandbox.endpoint])).stdout,
    /: held; held: old key still in use/,
  );
  assert.equal(sandbox.admin.listKeys(name).length, 2);
  // The application has moved (no call since): the next recheck deletes the old key.
  await new Promise((res) => setTimeout(res, 1_200));
  const repaired = await run(["repair", "--endpoint-url", sandbox.endpoint]);
  assert.match(repaired.stdout, new RegExp(`deleted ${old.accessKeyId}`));
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => k.accessKeyId),
    keys.filter((k) => k.accessKeyId !== old.accessKeyId).map((k) => k.accessKeyId),
  );
  const after = JSON.parse((await run(["status", "--json"])).stdout) as typeof status;
  assert.equal(after.find((s) => s.title === name)?.previousKeys, null);
});
