import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { allow, cleanEnv, iamClient, rejectsAws } from "../testing/sandbox-clients.js";
import { type Sandbox, startSandbox } from "./index.js";

const A = "123456789012";

describe("authorization (identity policies) like AWS", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
    sandbox.admin.createUser("alice");
    sandbox.admin.createUser("target");
  });
  after(() => sandbox.close());

  it("least privilege: key rotation actions on user/* are allowed, UpdateAccessKey is AccessDenied", async () => {
    sandbox.admin.createUser("rotator");
    sandbox.admin.putUserPolicy(
      "rotator",
      "rotate-keys",
      allow(["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"], "arn:aws:iam::*:user/*"),
    );
    const iam = iamClient(sandbox, sandbox.admin.createAccessKey("rotator"));
    const created = await iam.send(new CreateAccessKeyCommand({ UserName: "alice" }));
    const id = created.AccessKey?.AccessKeyId;
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: "alice" }));
    assert.deepEqual(
      listed.AccessKeyMetadata?.map((k) => k.AccessKeyId),
      [id],
    );
    await rejectsAws(
      iam.send(new UpdateAccessKeyCommand({ UserName: "alice", AccessKeyId: id, Status: "Inactive" })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${A}:user/rotator is not authorized to perform: iam:UpdateAccessKey on resource: user alice because no identity-based policy allows the iam:UpdateAccessKey action`,
    );
    await rejectsAws(iam.send(new CreateUserCommand({ UserName: "sneaky" })), "AccessDenied", 403);
    await iam.send(new DeleteAccessKeyCommand({ UserName: "alice", AccessKeyId: id }));
  });

  it("an explicit Deny wins over an Allow, with AWS's wording", async () => {
    sandbox.admin.createUser("denied");
    sandbox.admin.putUserPolicy("denied", "all", allow("iam:*"));
    sandbox.admin.putUserPolicy("denied", "no-delete", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Action: "iam:DeleteAccessKey", Resource: "*" }],
    });
    const iam = iamClient(sandbox, sandbox.admin.createAccessKey("denied"));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "target" }));
    await rejectsAws(
      iam.send(new DeleteAccessKeyCommand({ UserName: "target", AccessKeyId: AccessKey?.AccessKeyId })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${A}:user/denied is not authorized to perform: iam:DeleteAccessKey on resource: user target with an explicit deny in an identity-based policy`,
    );
  });

  it(`\${aws:username} scopes a policy to the caller's own user`, async () => {
    sandbox.admin.createUser("selfie");
    sandbox.admin.putUserPolicy(
      "selfie",
      "own-keys",
      allow("iam:*AccessKey*", `arn:aws:iam::*:user/\${aws:username}`),
    );
    const iam = iamClient(sandbox, sandbox.admin.createAccessKey("selfie"));
    await iam.send(new ListAccessKeysCommand({ UserName: "selfie" }));
    await iam.send(new ListAccessKeysCommand({}));
    await rejectsAws(
      iam.send(new ListAccessKeysCommand({ UserName: "alice" })),
      "AccessDenied",
      403,
      /on resource: user alice/,
    );
  });

  it("attached managed policies count; AccessDenied comes before NoSuchEntity", async () => {
    sandbox.admin.createUser("auditor");
    sandbox.admin.attachUserPolicy("auditor", "arn:aws:iam::aws:policy/IAMReadOnlyAccess");
    const iam = iamClient(sandbox, sandbox.admin.createAccessKey("auditor"));
    await iam.send(new GetUserCommand({ UserName: "alice" }));
    await rejectsAws(iam.send(new GetUserCommand({ UserName: "ghost" })), "NoSuchEntityException", 404);
    const arn = sandbox.admin.createPolicy(
      "OnlyAlice",
      allow("iam:ListAccessKeys", `arn:aws:iam::${A}:user/alice`),
    );
    sandbox.admin.createUser("narrow");
    sandbox.admin.attachUserPolicy("narrow", arn);
    const narrow = iamClient(sandbox, sandbox.admin.createAccessKey("narrow"));
    await narrow.send(new ListAccessKeysCommand({ UserName: "alice" }));
    await rejectsAws(narrow.send(new ListAccessKeysCommand({ UserName: "ghost" })), "AccessDenied", 403);
  });

  it("the account root may do anything", async () => {
    await iamClient(sandbox).send(new CreateUserCommand({ UserName: "by-root" }));
  });
});
