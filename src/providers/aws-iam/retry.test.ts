import assert from "node:assert/strict";
import { test } from "node:test";
import { describeFailure, mapAwsError } from "./errors.js";
import { backoffDelay, classify, RetryGaveUp, withRetry } from "./retry.js";

const awsErr = (code: string, status: number) =>
  Object.assign(new Error(`${code} happened`), {
    name: `${code}Exception`,
    Code: code,
    $metadata: { httpStatusCode: status },
  });
const netErr = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

test("classify: throttling always retried; 5xx/network only when idempotent or certainly not sent", () => {
  assert.equal(classify(describeFailure(awsErr("Throttling", 400)), false), "retry");
  assert.equal(classify(describeFailure(awsErr("ServiceFailure", 500)), true), "retry");
  assert.equal(classify(describeFailure(awsErr("ServiceFailure", 500)), false), "unknown");
  assert.equal(classify(describeFailure(netErr("ECONNRESET")), true), "retry");
  assert.equal(classify(describeFailure(netErr("ECONNRESET")), false), "unknown");
  assert.equal(classify(describeFailure(netErr("ECONNREFUSED")), false), "retry");
  assert.equal(classify(describeFailure(awsErr("AccessDenied", 403)), true), "fail");
  assert.equal(classify(describeFailure(awsErr("LimitExceeded", 409)), true), "fail");
});

test("backoff grows exponentially, is capped, and has jitter", () => {
  const policy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(
    backoffDelay(1, policy, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, policy, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(3, policy, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(10, policy, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(10, policy, () => 0),
    500,
  );
});

test("withRetry retries up to the bound, then gives up with the last failure", async () => {
  let calls = 0;
  const slept: number[] = [];
  const ok = await withRetry(
    async () => {
      calls++;
      if (calls < 3) throw awsErr("Throttling", 400);
      return "done";
    },
    {
      policy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100 },
      idempotent: false,
      sleep: async (ms) => void slept.push(ms),
    },
  );
  assert.equal(ok, "done");
  assert.equal(calls, 3);
  assert.equal(slept.length, 2);

  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw awsErr("Throttling", 400);
      },
      { policy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1 }, idempotent: true, sleep: async () => {} },
    ),
    (e: unknown) => e instanceof RetryGaveUp && e.attempts === 4 && !e.outcomeUnknown,
  );
  assert.equal(calls, 4);

  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw netErr("ECONNRESET");
      },
      { policy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1 }, idempotent: false, sleep: async () => {} },
    ),
    (e: unknown) => e instanceof RetryGaveUp && e.outcomeUnknown && e.attempts === 1,
  );
  assert.equal(calls, 1, "a non-idempotent call is not retried after it may have taken effect");
});

test("error mapping names the action, the subject and the fix", () => {
  const denied = mapAwsError(awsErr("AccessDenied", 403), {
    action: "iam:CreateAccessKey",
    userName: "alice",
  });
  assert.equal(denied.kind, "auth");
  assert.match(denied.message, /AWS denied iam:CreateAccessKey on IAM user "alice"/);
  assert.match(denied.hint ?? "", /rekey policy/);
  const missing = mapAwsError(
    Object.assign(awsErr("NoSuchEntity", 404), { message: "The user with name bob cannot be found." }),
    { action: "iam:ListAccessKeys", userName: "bob" },
  );
  assert.equal(missing.kind, "not-found");
  assert.equal(missing.message, 'IAM user "bob" not found');
  const key = mapAwsError(
    Object.assign(awsErr("NoSuchEntity", 404), { message: "The Access Key with id AKIA1 cannot be found." }),
    { action: "iam:DeleteAccessKey", userName: "bob", keyId: "AKIA1" },
  );
  assert.equal(key.details?.missing, "key");
  const limit = mapAwsError(awsErr("LimitExceeded", 409), { action: "iam:CreateAccessKey", userName: "bob" });
  assert.equal(limit.kind, "conflict");
  assert.match(limit.hint ?? "", /delete_all_keys_before_rotating/);
  const token = mapAwsError(awsErr("InvalidClientTokenId", 403), {
    action: "iam:ListAccessKeys",
    principal: "record x",
  });
  assert.equal(token.kind, "auth");
  assert.match(token.message, /does not recognize the access key id/);
  const unknown = mapAwsError(netErr("ECONNRESET"), {
    action: "iam:CreateAccessKey",
    userName: "bob",
    outcomeUnknown: true,
  });
  assert.equal(unknown.outcomeUnknown, true);
  assert.match(unknown.message, /outcome unknown/);
  assert.equal(unknown.cause, undefined, "the SDK error (with its $response) is not carried along");
});
