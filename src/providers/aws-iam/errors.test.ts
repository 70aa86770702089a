import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { cleanEnv, iamClient, stsClient } from "../../testing/sandbox-clients.js";
import { describeFailure, isClockSkew, isCredentialProblem, mapAwsError } from "./errors.js";

const ctx = { action: "iam:ListAccessKeys", userName: "alice", principal: "key AKIATEST" };

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected the call to fail");
}

describe("a clock more than 15 minutes off is reported as clock skew, not as a wrong secret", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
  });
  after(async () => {
    await sandbox.close();
  });

  for (const [label, offsetMin, said] of [
    [
      "behind",
      -20,
      /Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)/,
    ],
    ["ahead", 20, /Signature not yet current: \d{8}T\d{6}Z is still later than/],
  ] as const) {
    it(`IAM, this machine's clock ${label} by ${Math.abs(offsetMin)} min (the SDK's systemClockOffset)`, async () => {
      const iam = iamClient(sandbox, sandbox.root, { systemClockOffset: offsetMin * 60_000 });
      const err = await failureOf(iam.send(new ListAccessKeysCommand({ UserName: "alice" })));
      iam.destroy();
      const f = describeFailure(err);
      assert.equal(f.code, "SignatureDoesNotMatch");
      assert.equal(f.httpStatus, 403);
      assert.match(f.message, said);
      assert.ok(isClockSkew(f));
      assert.ok(!isCredentialProblem(f), "no point trying another credential source");
      const mapped = mapAwsError(err, ctx);
      assert.equal(mapped.kind, "aws", "not auth: the credential resolver must not skip to the next source");
      assert.match(
        mapped.message,
        /^AWS refused iam:ListAccessKeys on IAM user "alice" \(credentials: key AKIATEST\): this machine's clock differs from AWS's by more than 15 minutes \(AWS said: SignatureDoesNotMatch: Signature/,
      );
      assert.doesNotMatch(mapped.message, /secret/);
      assert.match(mapped.hint ?? "", /fix the time \(NTP\)/);
      assert.equal(mapped.details?.clockSkew, true);
    });
  }

  it("STS GetCallerIdentity (verification of a new key) too", async () => {
    const sts = stsClient(sandbox, sandbox.root, { systemClockOffset: -30 * 60_000 });
    const err = await failureOf(sts.send(new GetCallerIdentityCommand({})));
    sts.destroy();
    const mapped = mapAwsError(err, { action: "sts:GetCallerIdentity" });
    assert.match(mapped.message, /clock differs from AWS's by more than 15 minutes/);
  });

  it("a wrong secret is still a wrong secret", async () => {
    const iam = iamClient(sandbox, {
      accessKeyId: sandbox.root.accessKeyId,
      secretAccessKey: "wrong".repeat(8),
    });
    const err = await failureOf(iam.send(new ListAccessKeysCommand({})));
    iam.destroy();
    const mapped = mapAwsError(err, ctx);
    assert.equal(mapped.kind, "auth");
    assert.match(mapped.message, /the secret key does not match the access key id/);
    assert.equal(isClockSkew(describeFailure(err)), false);
  });

  it("other services' words for it (EC2 RequestExpired, JSON InvalidSignatureException, S3)", () => {
    const err = (code: string, message: string, modelled = false) =>
      Object.assign(new Error(message), {
        name: modelled ? `${code}Exception` : code,
        ...(modelled ? {} : { Code: code }),
        $metadata: { httpStatusCode: 400 },
      });
    const skewed = [
      err("RequestExpired", "Request has expired."),
      err(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
      ),
      err(
        "InvalidSignatureException",
        "Signature expired: 20240101T000000Z is now earlier than 20240101T001500Z",
      ),
      err(
        "InvalidSignature",
        "Signature expired: 20240101T000000Z is now earlier than 20240101T001500Z",
        true,
      ),
    ];
    for (const e of skewed) assert.ok(isClockSkew(describeFailure(e)), e.name);
    assert.equal(
      isClockSkew(
        describeFailure(err("SignatureDoesNotMatch", "The request signature we calculated does not match")),
      ),
      false,
    );
    assert.equal(isClockSkew(describeFailure(err("AccessDenied", "Signature expired"))), false);
  });
});
