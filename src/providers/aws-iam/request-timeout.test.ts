import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { Secret } from "../../secret.js";
import { cleanEnv } from "../../testing/sandbox-clients.js";
import { openCredentials } from "./credentials.js";
import { resolveEndpoints } from "./endpoints.js";
import { AwsCallError, certainlyNotSent, describeFailure } from "./errors.js";
import { NoAnswerError, seconds, withRequestTimeout } from "./request-timeout.js";
import { createSdkIamPort } from "./sdk-port.js";

const small = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 };

describe("withRequestTimeout", () => {
  it("rejects with a NoAnswerError and aborts the signal when send never settles", async () => {
    let signal: AbortSignal | undefined;
    await assert.rejects(
      withRequestTimeout((s) => {
        signal = s;
        return new Promise(() => {});
      }, 50),
      (e: unknown) =>
        e instanceof NoAnswerError && e.timeoutMs === 50 && e.message === "no answer within 0.1 s",
    );
    assert.equal(signal?.aborted, true);
    assert.ok(signal?.reason instanceof NoAnswerError);
  });

  it("passes answers and errors through untouched, without aborting", async () => {
    let signal: AbortSignal | undefined;
    assert.equal(
      await withRequestTimeout(async (s) => {
        signal = s;
        return 42;
      }, 1000),
      42,
    );
    assert.equal(signal?.aborted, false);
    await assert.rejects(
      withRequestTimeout(() => Promise.reject(new Error("refused")), 1000),
      /refused/,
    );
  });

  it("is a retryable network failure that says it timed out, like the SDK's and the socket's", () => {
    for (const err of [
      new NoAnswerError(1000),
      Object.assign(new Error("a request has exceeded the configured 1000 ms requestTimeout"), {
        name: "TimeoutError",
        code: "ETIMEDOUT",
      }),
      Object.assign(new Error("connect ETIMEDOUT 1.2.3.4:443"), { code: "ETIMEDOUT" }),
    ]) {
      const f = describeFailure(err);
      assert.ok(f.network && f.timedOut, `${err.message}: ${JSON.stringify(f)}`);
    }
    const reset = describeFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    assert.ok(reset.network && !reset.timedOut);
    // The SDK's connectionTimeout: never connected, so never sent (even CreateAccessKey may retry).
    const connect = describeFailure(
      Object.assign(
        new Error(
          "@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 5000 ms.",
        ),
        { name: "TimeoutError" },
      ),
    );
    assert.equal(connect.code, "ConnectTimeout");
    assert.ok(connect.network && !connect.timedOut && certainlyNotSent(connect));
    assert.equal(seconds(10_000), "10");
    assert.equal(seconds(1500), "1.5");
  });
});

describe("every AWS request has a deadline (sandbox in black-hole mode)", () => {
  let sandbox: Sandbox;
  let endpoints: ReturnType<typeof resolveEndpoints>;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
    endpoints = resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} });
  });
  after(async () => {
    await sandbox.close();
  });

  const port = () =>
    createSdkIamPort({
      endpoints,
      credentials: { ...sandbox.root },
      principal: "root",
      retry: small,
      requestTimeoutMs: 1000,
    });

  /** Awaits `promise`, expecting the mapped timeout error; returns it and how long it took. */
  async function timesOut(promise: Promise<unknown>): Promise<{ err: AwsCallError; ms: number }> {
    const started = Date.now();
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof AwsCallError, `expected an AwsCallError, got ${String(err)}`);
      return { err, ms: Date.now() - started };
    }
    assert.fail("expected a timeout, but the call succeeded");
  }

  it("an idempotent IAM call is retried with backoff, then reported naming the endpoint", async () => {
    sandbox.admin.createUser("bh-alice");
    const p = port();
    sandbox.knobs.set({ blackHoleRate: 1 });
    try {
      const { err, ms } = await timesOut(p.listKeys("bh-alice"));
      assert.equal(err.kind, "aws");
      assert.equal(err.code, "TimeoutError");
      assert.equal(err.outcomeUnknown, false);
      assert.equal(
        err.message,
        `iam:ListAccessKeys on IAM user "bh-alice": no answer within 1 s from ${sandbox.endpoint} after 3 attempts`,
      );
      assert.ok(ms >= 2500, `3 attempts of 1 s took ${ms} ms`);
      assert.ok(ms < 20_000, `took ${ms} ms`);

      // The port works again once the endpoint answers (no socket left poisoned).
      sandbox.knobs.set({ blackHoleRate: 0 });
      assert.deepEqual(await p.listKeys("bh-alice"), []);
    } finally {
      sandbox.knobs.set({ blackHoleRate: 0 });
      p.close();
    }
  });

  it("CreateAccessKey is not retried: its outcome is reported unknown", async () => {
    sandbox.admin.createUser("bh-bob");
    const p = port();
    sandbox.knobs.set({ blackHoleRate: 1 });
    try {
      const { err, ms } = await timesOut(p.createKey("bh-bob"));
      assert.equal(err.outcomeUnknown, true);
      assert.match(err.message, /^iam:CreateAccessKey on IAM user "bh-bob": no answer within 1 s from http:/);
      assert.match(err.message, /outcome is unknown/);
      assert.ok(ms < 20_000, `took ${ms} ms`);
    } finally {
      sandbox.knobs.set({ blackHoleRate: 0 });
      p.close();
    }
  });

  it("STS GetCallerIdentity (verification) and AssumeRole (credential opening) time out too", async () => {
    const p = port();
    sandbox.knobs.set({ blackHoleRate: 1 });
    try {
      const who = await timesOut(
        p.whoAmI({ accessKeyId: sandbox.root.accessKeyId, secret: new Secret(sandbox.root.secretAccessKey) }),
      );
      assert.equal(who.err.action, "sts:GetCallerIdentity");
      assert.match(who.err.message, /no answer within 1 s from http:.* after 3 attempts$/);
      assert.ok(who.ms < 20_000, `took ${who.ms} ms`);
      // A poller bounds one probe itself: one attempt, the time it has left.
      const probe = await timesOut(
        p.whoAmI(
          { accessKeyId: sandbox.root.accessKeyId, secret: new Secret(sandbox.root.secretAccessKey) },
          { maxAttempts: 1, requestTimeoutMs: 300 },
        ),
      );
      assert.match(probe.err.message, /no answer within 0\.3 s from http:[^ ]*$/);
      assert.ok(probe.ms < 10_000, `took ${probe.ms} ms`);

      const assumed = await timesOut(
        openCredentials(
          {
            kind: "assume-role",
            roleArn: `arn:aws:iam::${sandbox.accountId}:role/none`,
            accessKeyId: sandbox.root.accessKeyId,
            secret: new Secret(sandbox.root.secretAccessKey),
          },
          { endpoints, retry: small, requestTimeoutMs: 1000 },
        ),
      );
      assert.equal(assumed.err.action, "sts:AssumeRole");
      assert.match(assumed.err.message, /no answer within 1 s from http:.* after 3 attempts$/);
      assert.ok(assumed.ms < 20_000, `took ${assumed.ms} ms`);
    } finally {
      sandbox.knobs.set({ blackHoleRate: 0 });
      p.close();
    }
  });
});
