import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetPolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { allow, cleanEnv, iamClient, rejectsAws, stsClient } from "../testing/sandbox-clients.js";
import { type Sandbox, startSandbox } from "./index.js";

const ACCOUNT = "123456789012";
const trustAccount = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" },
  ],
});

describe("IAM actions through the AWS SDK", () => {
  let sandbox: Sandbox;
  let iam: IAMClient;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
    iam = iamClient(sandbox);
  });
  after(() => sandbox.close());

  it("CreateUser, GetUser, ListUsers, DeleteUser", async () => {
    const created = await iam.send(new CreateUserCommand({ UserName: "carol", Path: "/team/" }));
    assert.equal(created.User?.Arn, `arn:aws:iam::${ACCOUNT}:user/team/carol`);
    assert.match(created.User?.UserId ?? "", /^AIDA[A-Z2-7]{17}$/);
    assert.ok(created.User?.CreateDate instanceof Date);
    const got = await iam.send(new GetUserCommand({ UserName: "carol" }));
    assert.deepEqual(got.User, created.User);
    const listed = await iam.send(new ListUsersCommand({ PathPrefix: "/team/" }));
    assert.deepEqual(
      listed.Users?.map((u) => u.UserName),
      ["carol"],
    );
    assert.equal(listed.IsTruncated, false);
    await iam.send(new DeleteUserCommand({ UserName: "carol" }));
    await rejectsAws(
      iam.send(new GetUserCommand({ UserName: "carol" })),
      "NoSuchEntityException",
      404,
      "The user with name carol cannot be found.",
    );
  });

  it("ListUsers pages with Marker and MaxItems", async () => {
    for (const n of ["p1", "p2", "p3"])
      await iam.send(new CreateUserCommand({ UserName: n, Path: "/paged/" }));
    const first = await iam.send(new ListUsersCommand({ PathPrefix: "/paged/", MaxItems: 2 }));
    assert.deepEqual([first.Users?.map((u) => u.UserName), first.IsTruncated], [["p1", "p2"], true]);
    const second = await iam.send(
      new ListUsersCommand({ PathPrefix: "/paged/", MaxItems: 2, Marker: first.Marker }),
    );
    assert.deepEqual([second.Users?.map((u) => u.UserName), second.IsTruncated], [["p3"], false]);
  });

  it("GetUser without UserName returns the caller (root, or the user)", async () => {
    const root = await iam.send(new GetUserCommand({}));
    assert.equal(root.User?.Arn, `arn:aws:iam::${ACCOUNT}:root`);
    assert.equal(root.User?.UserId, ACCOUNT);
    sandbox.admin.createUser("self");
    sandbox.admin.putUserPolicy("self", "p", allow("iam:GetUser", `arn:aws:iam::*:user/\${aws:username}`));
    const self = iamClient(sandbox, sandbox.admin.createAccessKey("self"));
    assert.equal((await self.send(new GetUserCommand({}))).User?.UserName, "self");
  });

  it("CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey", async () => {
    await iam.send(new CreateUserCommand({ UserName: "dave" }));
    const { AccessKey: k } = await iam.send(new CreateAccessKeyCommand({ UserName: "dave" }));
    assert.ok(k);
    assert.match(k.AccessKeyId ?? "", /^AKIA[A-Z2-7]{16}$/);
    assert.equal(k.SecretAccessKey?.length, 40);
    assert.equal(k.Status, "Active");
    assert.equal(k.UserName, "dave");
    assert.ok(k.CreateDate instanceof Date);

    const listed = await iam.send(new ListAccessKeysCommand({ UserName: "dave" }));
    assert.deepEqual(listed.AccessKeyMetadata, [
      { UserName: "dave", AccessKeyId: k.AccessKeyId, Status: "Active", CreateDate: k.CreateDate },
    ]);
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: "dave", AccessKeyId: k.AccessKeyId, Status: "Inactive" }),
    );
    const after = await iam.send(new ListAccessKeysCommand({ UserName: "dave" }));
    assert.equal(after.AccessKeyMetadata?.[0]?.Status, "Inactive");
    await iam.send(new DeleteAccessKeyCommand({ UserName: "dave", AccessKeyId: k.AccessKeyId }));
    assert.deepEqual((await iam.send(new ListAccessKeysCommand({ UserName: "dave" }))).AccessKeyMetadata, []);
  });

  it("admin.createAccessKey can backdate a key (CreateDate has whole-second precision)", async () => {
    sandbox.admin.createUser("old-keys");
    const old = sandbox.admin.createAccessKey("old-keys", { createDate: new Date("2020-01-02T03:04:05Z") });
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: "old-keys" }));
    assert.equal(listed.AccessKeyMetadata?.[0]?.AccessKeyId, old.accessKeyId);
    assert.equal(listed.AccessKeyMetadata?.[0]?.CreateDate?.toISOString(), "2020-01-02T03:04:05.000Z");
  });

  it("ListAccessKeys without UserName lists the caller's own keys", async () => {
    sandbox.admin.createUser("erin");
    sandbox.admin.putUserPolicy(
      "erin",
      "own",
      allow("iam:ListAccessKeys", `arn:aws:iam::*:user/\${aws:username}`),
    );
    const creds = sandbox.admin.createAccessKey("erin");
    const listed = await iamClient(sandbox, creds).send(new ListAccessKeysCommand({}));
    assert.deepEqual(
      listed.AccessKeyMetadata?.map((m) => [m.UserName, m.AccessKeyId]),
      [["erin", creds.accessKeyId]],
    );
    const rootKeys = await iam.send(new ListAccessKeysCommand({}));
    assert.ok(rootKeys.AccessKeyMetadata?.some((m) => m.AccessKeyId === sandbox.root.accessKeyId));
  });

  it("a third key fails with LimitExceeded (409), Inactive keys counting", async () => {
    await iam.send(new CreateUserCommand({ UserName: "frank" }));
    const first = await iam.send(new CreateAccessKeyCommand({ UserName: "frank" }));
    await iam.send(
      new UpdateAccessKeyCommand({
        UserName: "frank",
        AccessKeyId: first.AccessKey?.AccessKeyId,
        Status: "Inactive",
      }),
    );
    await iam.send(new CreateAccessKeyCommand({ UserName: "frank" }));
    await rejectsAws(
      iam.send(new CreateAccessKeyCommand({ UserName: "frank" })),
      "LimitExceededException",
      409,
      "Cannot exceed quota for AccessKeysPerUser: 2",
    );
  });

  it("NoSuchEntity (404) for unknown users and keys", async () => {
    await rejectsAws(
      iam.send(new ListAccessKeysCommand({ UserName: "ghost" })),
      "NoSuchEntityException",
      404,
      "The user with name ghost cannot be found.",
    );
    await rejectsAws(
      iam.send(new CreateAccessKeyCommand({ UserName: "ghost" })),
      "NoSuchEntityException",
      404,
    );
    sandbox.admin.createUser("gina");
    const missing = "AKIAAAAAAAAAAAAAAAAA";
    await rejectsAws(
      iam.send(new DeleteAccessKeyCommand({ UserName: "gina", AccessKeyId: missing })),
      "NoSuchEntityException",
      404,
      `The Access Key with id ${missing} cannot be found.`,
    );
    // Somebody else's key is "not found" too.
    sandbox.admin.createUser("hank");
    const hanks = sandbox.admin.createAccessKey("hank");
    await rejectsAws(
      iam.send(
        new UpdateAccessKeyCommand({ UserName: "gina", AccessKeyId: hanks.accessKeyId, Status: "Inactive" }),
      ),
      "NoSuchEntityException",
      404,
    );
    await rejectsAws(
      iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: missing })),
      "NoSuchEntityException",
      404,
    );
  });

  it("ValidationError (400) for malformed parameters", async () => {
    sandbox.admin.createUser("ivy");
    const k = sandbox.admin.createAccessKey("ivy");
    await rejectsAws(
      iam.send(
        new UpdateAccessKeyCommand({
          UserName: "ivy",
          AccessKeyId: k.accessKeyId,
          Status: "Disabled" as "Active",
        }),
      ),
      "ValidationError",
      400,
      "1 validation error detected: Value 'Disabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]",
    );
    await rejectsAws(
      iam.send(new CreateUserCommand({ UserName: "bad name" })),
      "ValidationError",
      400,
      /Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
    await rejectsAws(
      iam.send(new CreateUserCommand({ UserName: "x".repeat(65) })),
      "ValidationError",
      400,
      /length less than or equal to 64/,
    );
  });

  it("EntityAlreadyExists (409) and DeleteConflict (409)", async () => {
    await iam.send(new CreateUserCommand({ UserName: "jack" }));
    await rejectsAws(
      iam.send(new CreateUserCommand({ UserName: "JACK" })),
      "EntityAlreadyExistsException",
      409,
      "User with name JACK already exists.",
    );
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "jack" }));
    await rejectsAws(
      iam.send(new DeleteUserCommand({ UserName: "jack" })),
      "DeleteConflictException",
      409,
      "Cannot delete entity, must delete access keys first.",
    );
    await iam.send(new DeleteAccessKeyCommand({ UserName: "jack", AccessKeyId: AccessKey?.AccessKeyId }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "jack",
        PolicyName: "p",
        PolicyDocument: JSON.stringify(allow("iam:GetUser")),
      }),
    );
    await rejectsAws(
      iam.send(new DeleteUserCommand({ UserName: "jack" })),
      "DeleteConflictException",
      409,
      /must delete policies first/,
    );
    await iam.send(new DeleteUserPolicyCommand({ UserName: "jack", PolicyName: "p" }));
    await iam.send(new DeleteUserCommand({ UserName: "jack" }));
  });

  it("GetAccessKeyLastUsed tracks signed use: date, service, region", async () => {
    sandbox.admin.createUser("kim");
    const creds = sandbox.admin.createAccessKey("kim");
    const before = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }));
    assert.deepEqual(before.AccessKeyLastUsed, { ServiceName: "N/A", Region: "N/A" });
    assert.equal(before.UserName, "kim");
    const start = Date.now() - 1000;
    const sts = stsClient(sandbox, creds);
    await sts.send(new GetCallerIdentityCommand({}));
    const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }));
    assert.equal(used.AccessKeyLastUsed?.ServiceName, "sts");
    assert.equal(used.AccessKeyLastUsed?.Region, "us-east-1");
    assert.ok((used.AccessKeyLastUsed?.LastUsedDate?.getTime() ?? 0) >= start);
  });

  it("PutUserPolicy, GetUserPolicy, ListUserPolicies", async () => {
    sandbox.admin.createUser("lee");
    const doc = JSON.stringify(allow(["iam:ListAccessKeys"], "arn:aws:iam::*:user/lee"));
    await iam.send(new PutUserPolicyCommand({ UserName: "lee", PolicyName: "keys", PolicyDocument: doc }));
    const got = await iam.send(new GetUserPolicyCommand({ UserName: "lee", PolicyName: "keys" }));
    assert.equal(decodeURIComponent(got.PolicyDocument ?? ""), doc);
    assert.deepEqual((await iam.send(new ListUserPoliciesCommand({ UserName: "lee" }))).PolicyNames, [
      "keys",
    ]);
    await rejectsAws(
      iam.send(new PutUserPolicyCommand({ UserName: "lee", PolicyName: "bad", PolicyDocument: "{nope" })),
      "MalformedPolicyDocumentException",
      400,
      "Syntax errors in policy.",
    );
  });

  it("CreatePolicy, GetPolicy, AttachUserPolicy, ListAttachedUserPolicies, DetachUserPolicy", async () => {
    sandbox.admin.createUser("mia");
    const created = await iam.send(
      new CreatePolicyCommand({
        PolicyName: "KeyRotation",
        PolicyDocument: JSON.stringify(allow("iam:*AccessKey*")),
        Description: "rotate",
      }),
    );
    const arn = `arn:aws:iam::${ACCOUNT}:policy/KeyRotation`;
    assert.equal(created.Policy?.Arn, arn);
    assert.equal(created.Policy?.DefaultVersionId, "v1");
    assert.equal(created.Policy?.IsAttachable, true);
    await rejectsAws(
      iam.send(
        new CreatePolicyCommand({
          PolicyName: "KeyRotation",
          PolicyDocument: JSON.stringify(allow("iam:*")),
        }),
      ),
      "EntityAlreadyExistsException",
      409,
    );
    await iam.send(new AttachUserPolicyCommand({ UserName: "mia", PolicyArn: arn }));
    await iam.send(
      new AttachUserPolicyCommand({
        UserName: "mia",
        PolicyArn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
      }),
    );
    assert.equal((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.AttachmentCount, 1);
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "mia" }));
    assert.deepEqual(
      attached.AttachedPolicies?.map((p) => p.PolicyName),
      ["KeyRotation", "IAMReadOnlyAccess"],
    );
    await rejectsAws(
      iam.send(
        new AttachUserPolicyCommand({ UserName: "mia", PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/Nope` }),
      ),
      "NoSuchEntityException",
      404,
      `Policy arn:aws:iam::${ACCOUNT}:policy/Nope does not exist or is not attachable.`,
    );
    await iam.send(new DetachUserPolicyCommand({ UserName: "mia", PolicyArn: arn }));
    assert.equal(
      (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "mia" }))).AttachedPolicies?.length,
      1,
    );
  });

  it("CreateRole, GetRole, PutRolePolicy, AttachRolePolicy", async () => {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: "Rotator",
        AssumeRolePolicyDocument: trustAccount,
        MaxSessionDuration: 7200,
        Description: "d",
      }),
    );
    assert.equal(created.Role?.Arn, `arn:aws:iam::${ACCOUNT}:role/Rotator`);
    assert.match(created.Role?.RoleId ?? "", /^AROA/);
    const got = await iam.send(new GetRoleCommand({ RoleName: "Rotator" }));
    assert.equal(decodeURIComponent(got.Role?.AssumeRolePolicyDocument ?? ""), trustAccount);
    assert.equal(got.Role?.MaxSessionDuration, 7200);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "Rotator",
        PolicyName: "p",
        PolicyDocument: JSON.stringify(allow("iam:ListUsers")),
      }),
    );
    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: "Rotator",
        PolicyArn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
      }),
    );
    await rejectsAws(
      iam.send(new GetRoleCommand({ RoleName: "Nope" })),
      "NoSuchEntityException",
      404,
      "The role with name Nope cannot be found.",
    );
    await rejectsAws(
      iam.send(new CreateRoleCommand({ RoleName: "Rotator", AssumeRolePolicyDocument: trustAccount })),
      "EntityAlreadyExistsException",
      409,
    );
    await rejectsAws(
      iam.send(
        new CreateRoleCommand({
          RoleName: "BadTrust",
          AssumeRolePolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/nobody` },
                Action: "sts:AssumeRole",
              },
            ],
          }),
        }),
      ),
      "MalformedPolicyDocumentException",
      400,
      /Invalid principal in policy/,
    );
  });
});
