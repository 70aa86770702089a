import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ListUsersCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { cleanEnv, iamClient, rejectsAws, signedFetch, stsClient } from "../testing/sandbox-clients.js";
import { type Sandbox, startSandbox } from "./index.js";

const INVALID = "The security token included in the request is invalid.";

describe("authentication (SigV4) like AWS", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
    sandbox.admin.createUser("alice");
  });
  after(() => sandbox.close());

  it("an unknown key is InvalidClientTokenId (403)", async () => {
    await rejectsAws(
      stsClient(sandbox, { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x" }).send(
        new GetCallerIdentityCommand({}),
      ),
      "InvalidClientTokenId",
      403,
      INVALID,
    );
  });

  it("a deleted key is InvalidClientTokenId", async () => {
    const k = sandbox.admin.createAccessKey("alice");
    await stsClient(sandbox, k).send(new GetCallerIdentityCommand({}));
    sandbox.admin.deleteAccessKey("alice", k.accessKeyId);
    await rejectsAws(
      stsClient(sandbox, k).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
      INVALID,
    );
  });

  it("an Inactive key is InvalidClientTokenId, and works again once Active", async () => {
    const k = sandbox.admin.createAccessKey("alice");
    sandbox.admin.updateAccessKey("alice", k.accessKeyId, "Inactive");
    await rejectsAws(
      stsClient(sandbox, k).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
    );
    sandbox.admin.updateAccessKey("alice", k.accessKeyId, "Active");
    await stsClient(sandbox, k).send(new GetCallerIdentityCommand({}));
    sandbox.admin.deleteAccessKey("alice", k.accessKeyId);
  });

  it("a wrong secret is SignatureDoesNotMatch (403)", async () => {
    await rejectsAws(
      iamClient(sandbox, { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: "wrong" }).send(
        new ListUsersCommand({}),
      ),
      "SignatureDoesNotMatch",
      403,
      /^The request signature we calculated does not match the signature you provided\./,
    );
  });

  it("a body changed after signing is SignatureDoesNotMatch", async () => {
    const res = await signedFetch(sandbox, {
      params: { Action: "ListUsers", Version: "2010-05-08" },
      sendBody: "Action=DeleteUser&Version=2010-05-08&UserName=alice",
    });
    assert.equal(res.status, 403);
    assert.match(res.text, /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it("a clock more than 15 minutes off is refused, as AWS does (SignatureDoesNotMatch, 'Signature expired')", async () => {
    const late = stsClient(sandbox, sandbox.root, { systemClockOffset: -16 * 60_000 });
    await rejectsAws(
      late.send(new GetCallerIdentityCommand({})),
      "SignatureDoesNotMatch",
      403,
      /^Signature expired: \d{8}T\d{6}Z is now earlier than/,
    );
    const early = stsClient(sandbox, sandbox.root, { systemClockOffset: 16 * 60_000 });
    await rejectsAws(
      early.send(new GetCallerIdentityCommand({})),
      "SignatureDoesNotMatch",
      403,
      /^Signature not yet current/,
    );
    const skewed = stsClient(sandbox, sandbox.root, { systemClockOffset: -10 * 60_000 });
    await skewed.send(new GetCallerIdentityCommand({}));
  });

  it("temporary credentials need their session token", async () => {
    const role = sandbox.admin.createRole("T", {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::123456789012:user/alice" },
          Action: "sts:AssumeRole",
        },
      ],
    });
    const k = sandbox.admin.createAccessKey("alice");
    const out = await stsClient(sandbox, k).send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "tt" }),
    );
    const c = out.Credentials!;
    const base = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey! };
    await rejectsAws(
      stsClient(sandbox, base).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
    );
    await rejectsAws(
      stsClient(sandbox, { ...base, sessionToken: `${c.SessionToken}x` }).send(
        new GetCallerIdentityCommand({}),
      ),
      "InvalidClientTokenId",
      403,
    );
    await stsClient(sandbox, { ...base, sessionToken: c.SessionToken! }).send(
      new GetCallerIdentityCommand({}),
    );
    // A long-term key with a session token is refused too.
    await rejectsAws(
      stsClient(sandbox, { ...k, sessionToken: c.SessionToken! }).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
    );
    sandbox.admin.deleteAccessKey("alice", k.accessKeyId);
  });

  it("a request without a signature is MissingAuthenticationToken (403)", async () => {
    const res = await fetch(sandbox.endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=ListUsers&Version=2010-05-08",
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>MissingAuthenticationToken<\/Code>/);
  });

  it("an Authorization header without its fields is IncompleteSignature (400)", async () => {
    const res = await fetch(sandbox.endpoint, {
      method: "POST",
      headers: { authorization: "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/iam/aws4_request" },
      body: "Action=ListUsers",
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /<Code>IncompleteSignature<\/Code>/);
  });

  it("accepts GET with the parameters in the query, and presigned URLs", async () => {
    const params = { Action: "GetCallerIdentity", Version: "2011-06-15" };
    const get = await signedFetch(sandbox, { service: "sts", method: "GET", params });
    assert.equal(get.status, 200, get.text);
    assert.match(get.text, /<Arn>arn:aws:iam::123456789012:root<\/Arn>/);
    const presigned = await signedFetch(sandbox, { service: "sts", method: "GET", params, presign: true });
    assert.equal(presigned.status, 200, presigned.text);
    const expired = await signedFetch(sandbox, {
      service: "sts",
      method: "GET",
      params,
      presign: true,
      signingDate: new Date(Date.now() - 10 * 60_000),
    });
    assert.equal(expired.status, 403);
  });

  it("routes by the scope's service: unknown actions are InvalidAction (400), other services refused", async () => {
    const unknown = await signedFetch(sandbox, {
      params: { Action: "GetCallerIdentity", Version: "2010-05-08" },
    });
    assert.equal(unknown.status, 400);
    assert.match(
      unknown.text,
      /<Code>InvalidAction<\/Code><Message>Could not find operation GetCallerIdentity for version 2010-05-08<\/Message>/,
    );
    assert.match(unknown.text, /xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"/);
    const sts = await signedFetch(sandbox, {
      service: "sts",
      params: { Action: "ListUsers", Version: "2011-06-15" },
    });
    assert.equal(sts.status, 400);
    assert.match(sts.text, /xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"/);
    const s3 = await signedFetch(sandbox, { service: "s3", params: { Action: "ListUsers" } });
    assert.equal(s3.status, 403);
    const missing = await signedFetch(sandbox, { params: { Version: "2010-05-08" } });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /<Code>MissingAction<\/Code>/);
  });
});
