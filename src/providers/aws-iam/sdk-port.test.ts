import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { Secret } from "../../secret.js";
import { openCredentials } from "./credentials.js";
import { resolveEndpoints } from "./endpoints.js";
import { AwsCallError } from "./errors.js";
import type { AwsPacer, AwsService, PaceOutcome } from "./pacing.js";
import type { IamKeyPort } from "./port.js";
import { createSdkIamPort } from "./sdk-port.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

let sandbox: Sandbox;
const fast = { maxAttempts: 8, baseDelayMs: 5, maxDelayMs: 50 };

before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

function port(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = sandbox.root,
  retry = fast,
): IamKeyPort {
  return createSdkIamPort({
    endpoints: resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} }),
    credentials: creds,
    principal: `test key ${creds.accessKeyId}`,
    retry,
  });
}

test("list, create, deactivate and delete keys; GetUser", async () => {
  sandbox.admin.createUser("p-alice");
  const p = port();
  try {
    assert.deepEqual(await p.listKeys("p-alice"), []);
    const k = await p.createKey("p-alice");
    assert.match(k.accessKeyId, /^AKIA/);
    assert.ok(k.secret instanceof Secret);
    assert.equal(String(k.secret), "[REDACTED]");
    assert.equal(k.status, "Active");
    const listed = await p.listKeys("p-alice");
    assert.deepEqual(
      listed.map((x) => [x.accessKeyId, x.status]),
      [[k.accessKeyId, "Active"]],
    );
    assert.equal(await p.updateKey("p-alice", k.accessKeyId, "Inactive"), "updated");
    assert.equal((await p.listKeys("p-alice"))[0]?.status, "Inactive");
    assert.equal(await p.deleteKey("p-alice", k.accessKeyId), "deleted");
    assert.equal(await p.deleteKey("p-alice", k.accessKeyId), "absent", "deleting twice is fine");
    assert.equal(await p.updateKey("p-alice", k.accessKeyId, "Active"), "absent");
    const u = await p.getUser("p-alice");
    assert.notEqual(u, "denied");
    if (u !== "denied") {
      assert.match(u.userId, /^AIDA/);
      assert.match(u.arn, /:user\/p-alice$/);
    }
  } finally {
    p.close();
  }
});

test("errors: user not found, 2-key limit, access denied, unknown key id", async () => {
  const p = port();
  try {
    await assert.rejects(p.listKeys("p-nobody"), (e: unknown) => {
      assert.ok(e instanceof AwsCallError);
      assert.equal(e.kind, "not-found");
      assert.equal(e.message, 'IAM user "p-nobody" not found');
      return true;
    });
    sandbox.admin.createUser("p-full");
    sandbox.admin.createAccessKey("p-full");
    sandbox.admin.createAccessKey("p-full");
    await assert.rejects(
      p.createKey("p-full"),
      (e: unknown) =>
        e instanceof AwsCallError && e.kind === "conflict" && /at most 2 access keys/.test(e.message),
    );
  } finally {
    p.close();
  }
  // A user whose policy allows only ListAccessKeys.
  sandbox.admin.createUser("p-lister");
  sandbox.admin.putUserPolicy("p-lister", "list", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "iam:ListAccessKeys", Resource: "*" }],
  });
  const lister = port(sandbox.admin.createAccessKey("p-lister"));
  try {
    assert.equal((await lister.listKeys("p-lister")).length, 1);
    assert.equal(await lister.getUser("p-lister"), "denied");
    await assert.rejects(lister.createKey("p-lister"), (e: unknown) => {
      assert.ok(e instanceof AwsCallError);
      assert.equal(e.kind, "auth");
      assert.match(e.message, /AWS denied iam:CreateAccessKey on IAM user "p-lister"/);
      assert.match(e.hint ?? "", /rekey policy/);
      return true;
    });
  } finally {
    lister.close();
  }
  const bogus = port({ accessKeyId: "AKIAXXXXXXXXXXXXXXXX", secretAccessKey: "x".repeat(40) });
  try {
    await assert.rejects(
      bogus.listKeys("p-lister"),
      (e: unknown) => e instanceof AwsCallError && e.code === "InvalidClientTokenId" && e.kind === "auth",
    );
  } finally {
    bogus.close();
  }
});

test("whoAmI with a brand-new key sees InvalidClientTokenId until it propagates", async () => {
  sandbox.admin.createUser("p-new");
  sandbox.knobs.set({ propagationDelayMs: 300 });
  const p = port();
  try {
    const k = await p.createKey("p-new");
    await assert.rejects(
      p.whoAmI({ accessKeyId: k.accessKeyId, secret: k.secret }),
      (e: unknown) => e instanceof AwsCallError && e.code === "InvalidClientTokenId",
    );
    await new Promise((r) => setTimeout(r, 400));
    const id = await p.whoAmI({ accessKeyId: k.accessKeyId, secret: k.secret });
    assert.match(id.arn, /:user\/p-new$/);
  } finally {
    sandbox.knobs.set({ propagationDelayMs: 0 });
    p.close();
  }
});

test("throttling and 5xx on idempotent calls are retried; a failed create reports an unknown outcome", async () => {
  sandbox.admin.createUser("p-flaky");
  // Enough patience for 12 calls at 20 requests/s.
  const p = port(sandbox.root, { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 500 });
  try {
    sandbox.knobs.set({ throttleRate: 20, throttleBurst: 2 });
    const results = await Promise.all(Array.from({ length: 12 }, () => p.listKeys("p-flaky")));
    assert.equal(results.length, 12);
    sandbox.knobs.set({ throttleRate: 0, throttleBurst: 0, errorRate: 1 });
    await assert.rejects(
      p.createKey("p-flaky"),
      (e: unknown) => e instanceof AwsCallError && e.outcomeUnknown,
    );
    await assert.rejects(
      p.listKeys("p-flaky"),
      (e: unknown) => e instanceof AwsCallError && /after 10 attempts/.test(e.message),
    );
  } finally {
    sandbox.knobs.set({ throttleRate: 0, throttleBurst: 0, errorRate: 0 });
    p.close();
  }
});

test("with a pacer: every attempt, retries included, takes a turn for its service and reports how it ended", async () => {
  // An account of its own: a fresh bucket, whatever the tests before left in the default account's.
  const account = sandbox.admin.createAccount();
  sandbox.admin.createUser("p-paced", { accountId: account.accountId });
  const turns: Array<{ service: AwsService; outcome?: PaceOutcome }> = [];
  const pace: AwsPacer = {
    async take(service) {
      const t: { service: AwsService; outcome?: PaceOutcome } = { service };
      turns.push(t);
      return {
        done: (outcome) => {
          t.outcome = outcome;
        },
      };
    },
  };
  const p = createSdkIamPort({
    endpoints: resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} }),
    credentials: account.root,
    principal: "test root",
    retry: fast,
    pace,
  });
  try {
    sandbox.knobs.set({ throttleRate: 0.001, throttleBurst: 1 });
    await p.listKeys("p-paced"); // the bucket's one token
    const throttled = p.listKeys("p-paced");
    await new Promise((r) => setTimeout(r, 30));
    sandbox.knobs.set({ throttleRate: 0, throttleBurst: 0 });
    await throttled;
    const key = sandbox.admin.createAccessKey("p-paced", { accountId: account.accountId });
    await p.whoAmI({ accessKeyId: key.accessKeyId, secret: new Secret(key.secretAccessKey) });
  } finally {
    sandbox.knobs.set({ throttleRate: 0, throttleBurst: 0 });
    p.close();
  }
  const iam = turns.filter((t) => t.service === "iam").map((t) => t.outcome);
  assert.equal(iam[0], "served");
  assert.ok(iam.length >= 3, `the throttled call took a turn for each attempt: ${iam.join(", ")}`);
  assert.ok(iam.slice(1, -1).every((o) => o === "throttled"));
  assert.equal(iam.at(-1), "served");
  assert.deepEqual(
    turns.filter((t) => t.service === "sts").map((t) => t.outcome),
    ["served"],
    "verification is paced as STS",
  );
});

test("AssumeRole is signed with the record's key and passes the external id", async () => {
  sandbox.admin.createUser("p-assumer");
  const assumer = sandbox.admin.createAccessKey("p-assumer");
  sandbox.admin.putUserPolicy("p-assumer", "assume", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }],
  });
  const role = sandbox.admin.createRole("p-rotator", {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${sandbox.accountId}:user/p-assumer` },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": "ext-123" } },
      },
    ],
  });
  sandbox.admin.putRolePolicy("p-rotator", "keys", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "iam:ListAccessKeys", Resource: "*" }],
  });
  const endpoints = resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} });
  const spec = {
    kind: "assume-role" as const,
    roleArn: role.arn,
    accessKeyId: assumer.accessKeyId,
    secret: new Secret(assumer.secretAccessKey),
  };
  const opened = await openCredentials({ ...spec, externalId: "ext-123" }, { endpoints, retry: fast });
  assert.match(opened.via, /role .*p-rotator assumed with access key/);
  const p = createSdkIamPort({ endpoints, credentials: opened.credentials, principal: "role", retry: fast });
  try {
    assert.deepEqual(await p.listKeys("p-assumer").then((k) => k.length), 1);
  } finally {
    p.close();
  }
  await assert.rejects(
    openCredentials({ ...spec, externalId: "wrong" }, { endpoints, retry: fast }),
    (e: unknown) => e instanceof AwsCallError && e.action === "sts:AssumeRole" && e.kind === "auth",
  );
});

test("the default chain reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the env it is given", async () => {
  const endpoints = resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} });
  const opened = await openCredentials(
    {
      kind: "default-chain",
      env: {
        AWS_ACCESS_KEY_ID: sandbox.root.accessKeyId,
        AWS_SECRET_ACCESS_KEY: sandbox.root.secretAccessKey,
      },
    },
    { endpoints },
  );
  assert.equal(opened.keyId, sandbox.root.accessKeyId);
  assert.match(opened.via, /environment variables/);
});
