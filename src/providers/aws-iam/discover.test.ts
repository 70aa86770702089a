/** discover's AWS calls with the real SDK against the sandbox: pagination, last use, denials. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { allow, stsClient } from "../../testing/sandbox-clients.js";
import { describeUsers, openAccountDiscovery } from "./discover.js";
import { resolveEndpoints } from "./endpoints.js";
import { AwsCallError } from "./errors.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

function discovery(creds = sandbox.root) {
  return openAccountDiscovery({
    endpoints: resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} }),
    credentials: { ...creds },
    principal: `test key ${creds.accessKeyId}`,
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
  });
}

test("listUsers reads every page (more than IAM's 100 per page) under the path prefix only", async () => {
  for (let i = 0; i < 105; i++)
    sandbox.admin.createUser(`pg-${String(i).padStart(3, "0")}`, { path: "/pg/" });
  sandbox.admin.createUser("elsewhere", { path: "/other/" });
  const d = discovery();
  try {
    const users = await d.listUsers("/pg/");
    assert.equal(users.length, 105);
    assert.equal(new Set(users.map((u) => u.userName)).size, 105);
    assert.ok(users.every((u) => u.path === "/pg/" && /^AIDA/.test(u.userId)));
    const who = await d.callerIdentity();
    assert.equal(who.account, sandbox.accountId);
  } finally {
    d.close();
  }
});

test("describeUsers: each key's status and last use (date, service, region; null when never used)", async () => {
  sandbox.admin.createUser("du-alice", { path: "/du/" });
  sandbox.admin.createUser("du-bob", { path: "/du/" });
  const used = sandbox.admin.createAccessKey("du-alice");
  const unused = sandbox.admin.createAccessKey("du-alice", { status: "Inactive" });
  const sts = stsClient(sandbox, used);
  await sts.send(new GetCallerIdentityCommand({}));
  sts.destroy();
  const d = discovery();
  try {
    const [alice, bob] = await describeUsers(d, await d.listUsers("/du/"), 2);
    assert.equal(bob?.userName, "du-bob");
    assert.deepEqual(bob?.keys, []);
    assert.ok(alice && alice.keys !== "denied");
    const byId = new Map(alice.keys.map((k) => [k.accessKeyId, k]));
    const u = byId.get(used.accessKeyId)?.lastUsed;
    assert.ok(u && u !== "denied", "the used key has a last use");
    assert.equal(u.service, "sts");
    assert.equal(u.region, sandbox.region);
    assert.ok(Date.now() - u.date.getTime() < 120_000);
    assert.equal(byId.get(unused.accessKeyId)?.lastUsed, null, "never used");
    assert.equal(byId.get(unused.accessKeyId)?.status, "Inactive");
  } finally {
    d.close();
  }
});

test("denials: ListUsers throws an auth error naming the action; ListAccessKeys / GetAccessKeyLastUsed are 'denied'", async () => {
  sandbox.admin.createUser("dn-target", { path: "/dn/" });
  sandbox.admin.createAccessKey("dn-target");
  sandbox.admin.createUser("dn-weak");
  sandbox.admin.putUserPolicy("dn-weak", "p", allow(["iam:ListAccessKeys"]));
  const weak = sandbox.admin.createAccessKey("dn-weak");
  sandbox.admin.createUser("dn-lister");
  sandbox.admin.putUserPolicy("dn-lister", "p", allow(["iam:ListUsers"]));
  const lister = sandbox.admin.createAccessKey("dn-lister");

  const d = discovery(weak);
  try {
    await assert.rejects(d.listUsers("/dn/"), (err: unknown) => {
      assert.ok(err instanceof AwsCallError);
      assert.equal(err.kind, "auth");
      assert.equal(err.action, "iam:ListUsers");
      assert.match(err.message, /AWS denied iam:ListUsers/);
      return true;
    });
    const root = discovery();
    const listed = await root.listUsers("/dn/").finally(() => root.close());
    const [t] = await describeUsers(d, listed);
    assert.ok(t && t.keys !== "denied" && t.keys.length === 1);
    assert.equal(t.keys[0]?.lastUsed, "denied");
  } finally {
    d.close();
  }
  const l = discovery(lister);
  try {
    const [t] = await describeUsers(l, await l.listUsers("/dn/"));
    assert.equal(t?.keys, "denied");
  } finally {
    l.close();
  }
});
