import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import { type Creds, cleanEnv, iamClient, Sha256, stsClient } from "../testing/sandbox-clients.js";
import { type Sandbox, type SandboxDocument, startSandbox } from "./index.js";

async function admin(
  sandbox: Sandbox,
  method: "GET" | "POST",
  path: string,
  opts: { token?: string; body?: unknown; signWith?: Creds } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  let headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.token !== undefined) headers["x-rekey-admin-token"] = opts.token;
  if (opts.signWith) {
    const url = new URL(sandbox.endpoint);
    const [p, q] = path.split("?");
    const req = new HttpRequest({
      method,
      hostname: url.hostname,
      port: Number(url.port),
      path: p,
      ...(q ? { query: Object.fromEntries(new URLSearchParams(q)) } : {}),
      headers: { ...headers, host: url.host },
      ...(body !== undefined ? { body } : {}),
    });
    const signer = new SignatureV4({
      credentials: opts.signWith,
      region: "us-east-1",
      service: "iam",
      sha256: Sha256,
    });
    const signed = await signer.sign(req);
    headers = { ...signed.headers };
    delete headers.host;
  }
  const res = await fetch(`${sandbox.endpoint}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("admin endpoint", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv(), adminToken: "test-admin-token" });
  });
  after(() => sandbox.close());

  it("refuses requests without the token, or with a wrong one", async () => {
    const none = await admin(sandbox, "GET", "/__admin/state");
    assert.equal(none.status, 401);
    assert.match(String(none.json.error), /admin token/);
    assert.equal((await admin(sandbox, "GET", "/__admin/state", { token: "test-admin-token-" })).status, 401);
    assert.equal(
      (await admin(sandbox, "POST", "/__admin/knobs", { token: "x", body: { errorRate: 1 } })).status,
      401,
    );
    assert.equal(sandbox.knobs.get().errorRate, 0);
  });

  it("accepts a request signed with root credentials, refuses one signed by a user", async () => {
    const ok = await admin(sandbox, "GET", "/__admin/knobs", { signWith: sandbox.root });
    assert.equal(ok.status, 200);
    sandbox.admin.createUser("notroot");
    const user = sandbox.admin.createAccessKey("notroot");
    assert.equal((await admin(sandbox, "GET", "/__admin/knobs", { signWith: user })).status, 403);
    const forged = { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: "not-the-secret" };
    assert.equal((await admin(sandbox, "GET", "/__admin/knobs", { signWith: forged })).status, 403);
  });

  it("GET/POST knobs reads and changes knobs at run time, validating them", async () => {
    const changed = await admin(sandbox, "POST", "/__admin/knobs", {
      token: "test-admin-token",
      body: { latencyMs: 5, throttleRate: 100 },
    });
    assert.equal(changed.status, 200);
    assert.equal(changed.json.latencyMs, 5);
    assert.equal(sandbox.knobs.get().throttleRate, 100);
    const bad = await admin(sandbox, "POST", "/__admin/knobs", {
      token: "test-admin-token",
      body: { errorRate: 7 },
    });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /errorRate/);
    await admin(sandbox, "POST", "/__admin/knobs", {
      token: "test-admin-token",
      body: { latencyMs: 0, throttleRate: 0 },
    });
    assert.equal(
      (await admin(sandbox, "GET", "/__admin/knobs", { token: "test-admin-token" })).json.latencyMs,
      0,
    );
  });

  it("POST seed adds state and answers the created keys; GET state shows it, secrets only on request", async () => {
    const seed: SandboxDocument = {
      users: [
        {
          name: "seeded",
          keys: [{}],
          inlinePolicies: {
            own: {
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Action: "iam:ListAccessKeys", Resource: "*" }],
            },
          },
        },
      ],
    };
    const res = await admin(sandbox, "POST", "/__admin/seed", { token: "test-admin-token", body: seed });
    assert.equal(res.status, 200);
    const [key] = res.json.created as Array<{
      accessKeyId: string;
      secretAccessKey: string;
      userName: string;
    }>;
    assert.equal(key?.userName, "seeded");
    const listed = await iamClient(sandbox, key!).send(new ListAccessKeysCommand({}));
    assert.equal(listed.AccessKeyMetadata?.[0]?.AccessKeyId, key?.accessKeyId);

    const again = await admin(sandbox, "POST", "/__admin/seed", { token: "test-admin-token", body: seed });
    assert.equal(again.status, 409);
    const invalid = await admin(sandbox, "POST", "/__admin/seed", {
      token: "test-admin-token",
      body: { users: [{ nom: "x" }] },
    });
    assert.equal(invalid.status, 400);

    const state = await admin(sandbox, "GET", "/__admin/state", { token: "test-admin-token" });
    const text = JSON.stringify(state.json);
    assert.ok(text.includes(key!.accessKeyId));
    assert.ok(!text.includes(key!.secretAccessKey));
    const withSecrets = await admin(sandbox, "GET", "/__admin/state?secrets=true", {
      token: "test-admin-token",
    });
    assert.ok(JSON.stringify(withSecrets.json).includes(key!.secretAccessKey));
  });

  it("POST reset forgets users but keeps the root", async () => {
    sandbox.admin.createUser("doomed");
    const res = await admin(sandbox, "POST", "/__admin/reset", { token: "test-admin-token" });
    assert.equal(res.status, 200);
    assert.equal(sandbox.admin.snapshot().accounts?.[0]?.users?.length, 0);
    await stsClient(sandbox).send(new GetCallerIdentityCommand({}));
  });

  it("unknown routes are 404", async () => {
    assert.equal((await admin(sandbox, "GET", "/__admin/nope", { token: "test-admin-token" })).status, 404);
  });
});
