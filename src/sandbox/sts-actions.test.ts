import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CreateUserCommand, GetUserCommand, ListUsersCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { allow, type Creds, cleanEnv, iamClient, rejectsAws, stsClient } from "../testing/sandbox-clients.js";
import { type Sandbox, startSandbox } from "./index.js";

const A = "123456789012";
const B = "210987654321";

function trust(principal: string, condition?: Record<string, unknown>) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: principal },
        Action: "sts:AssumeRole",
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  };
}

const asCreds = (
  c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string } | undefined,
): Creds => ({
  accessKeyId: c?.AccessKeyId ?? "",
  secretAccessKey: c?.SecretAccessKey ?? "",
  sessionToken: c?.SessionToken ?? "",
});

describe("STS through the AWS SDK", () => {
  let sandbox: Sandbox;
  let alice: Creds;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
    sandbox.admin.createUser("alice");
    alice = sandbox.admin.createAccessKey("alice");
    sandbox.admin.createUser("nobody");
  });
  after(() => sandbox.close());

  it("GetCallerIdentity needs no permission: root and a user without policies", async () => {
    const root = await stsClient(sandbox).send(new GetCallerIdentityCommand({}));
    assert.deepEqual([root.Account, root.Arn, root.UserId], [A, `arn:aws:iam::${A}:root`, A]);
    const nobody = sandbox.admin.createAccessKey("nobody");
    const me = await stsClient(sandbox, nobody).send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, `arn:aws:iam::${A}:user/nobody`);
    assert.match(me.UserId ?? "", /^AIDA/);
  });

  it("AssumeRole: trust names the account, identity policy allows → temporary credentials", async () => {
    const role = sandbox.admin.createRole("Reader", trust(`arn:aws:iam::${A}:root`));
    sandbox.admin.putRolePolicy("Reader", "read", allow("iam:ListUsers"));
    sandbox.admin.createUser("reader");
    sandbox.admin.putUserPolicy("reader", "assume", allow("sts:AssumeRole", role.arn));
    const creds = sandbox.admin.createAccessKey("reader");
    const before = Date.now();
    const out = await stsClient(sandbox, creds).send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "s1" }),
    );
    assert.match(out.Credentials?.AccessKeyId ?? "", /^ASIA[A-Z2-7]{16}$/);
    assert.equal(out.Credentials?.SecretAccessKey?.length, 40);
    assert.ok((out.Credentials?.SessionToken?.length ?? 0) > 100);
    const ttl = (out.Credentials?.Expiration?.getTime() ?? 0) - before;
    assert.ok(ttl > 3590_000 && ttl <= 3601_000, `default duration is one hour, got ${ttl} ms`);
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${A}:assumed-role/Reader/s1`);
    assert.equal(out.AssumedRoleUser?.AssumedRoleId, `${role.roleId}:s1`);

    const session = asCreds(out.Credentials);
    const who = await stsClient(sandbox, session).send(new GetCallerIdentityCommand({}));
    assert.deepEqual(
      [who.Arn, who.UserId, who.Account],
      [`arn:aws:sts::${A}:assumed-role/Reader/s1`, `${role.roleId}:s1`, A],
    );

    // The session is authorized by the role's policies.
    const iam = iamClient(sandbox, session);
    await iam.send(new ListUsersCommand({}));
    await rejectsAws(
      iam.send(new CreateUserCommand({ UserName: "x" })),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${A}:assumed-role/Reader/s1 is not authorized to perform: iam:CreateUser on resource: user x because no identity-based policy allows the iam:CreateUser action`,
    );
    await rejectsAws(
      iam.send(new GetUserCommand({})),
      "ValidationError",
      400,
      "Must specify userName when calling with non-User credentials",
    );
  });

  it("AssumeRole is denied without an identity policy when the trust policy names only the account", async () => {
    const role = sandbox.admin.createRole("NeedsIdentity", trust(A));
    await rejectsAws(
      stsClient(sandbox, alice).send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess" })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${A}:user/alice is not authorized to perform: sts:AssumeRole on resource: ${role.arn} because no identity-based policy allows the sts:AssumeRole action`,
    );
  });

  it("AssumeRole is allowed without an identity policy when the trust policy names the user", async () => {
    const role = sandbox.admin.createRole("NamesAlice", trust(`arn:aws:iam::${A}:user/alice`));
    const out = await stsClient(sandbox, alice).send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "named" }),
    );
    assert.ok(out.Credentials?.AccessKeyId);
  });

  it("AssumeRole honours sts:ExternalId conditions", async () => {
    const role = sandbox.admin.createRole(
      "ThirdParty",
      trust(`arn:aws:iam::${A}:user/alice`, { StringEquals: { "sts:ExternalId": "ext-42" } }),
    );
    const sts = stsClient(sandbox, alice);
    const denied = `User: arn:aws:iam::${A}:user/alice is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`;
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess" })),
      "AccessDenied",
      403,
      denied,
    );
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess", ExternalId: "ext-41" })),
      "AccessDenied",
      403,
      denied,
    );
    const ok = await sts.send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess", ExternalId: "ext-42" }),
    );
    assert.ok(ok.Credentials?.SessionToken);
  });

  it("the account root cannot assume roles; unknown roles are AccessDenied", async () => {
    const role = sandbox.admin.createRole("RootTry", trust(A));
    await rejectsAws(
      stsClient(sandbox).send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess" })),
      "AccessDenied",
      403,
      "Roles may not be assumed by root accounts.",
    );
    await rejectsAws(
      stsClient(sandbox, alice).send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${A}:role/Missing`, RoleSessionName: "sess" }),
      ),
      "AccessDenied",
      403,
    );
  });

  it("DurationSeconds is bounded by 900 and the role's MaxSessionDuration", async () => {
    const role = sandbox.admin.createRole("Short", trust(`arn:aws:iam::${A}:user/alice`));
    const sts = stsClient(sandbox, alice);
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess", DurationSeconds: 899 })),
      "ValidationError",
      400,
      /Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900/,
    );
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "sess", DurationSeconds: 7200 })),
      "ValidationError",
      400,
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "a b" })),
      "ValidationError",
      400,
      /at 'roleSessionName'/,
    );
  });

  it("an expired session answers ExpiredToken (403)", async () => {
    sandbox.knobs.set({ minSessionDurationSeconds: 1 });
    try {
      const role = sandbox.admin.createRole("Brief", trust(`arn:aws:iam::${A}:user/alice`));
      const out = await stsClient(sandbox, alice).send(
        new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "brief", DurationSeconds: 1 }),
      );
      const sts = stsClient(sandbox, asCreds(out.Credentials));
      const deadline = Date.now() + 5000;
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          await sts.send(new GetCallerIdentityCommand({}));
        } catch (err) {
          last = err;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal((last as Error)?.name, "ExpiredToken");
      assert.equal((last as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 403);
      assert.equal((last as Error).message, "The security token included in the request is expired");
    } finally {
      sandbox.knobs.set({ minSessionDurationSeconds: 900 });
    }
  });

  it("a session policy narrows the role's permissions", async () => {
    const role = sandbox.admin.createRole("Wide", trust(`arn:aws:iam::${A}:user/alice`));
    sandbox.admin.attachRolePolicy("Wide", "arn:aws:iam::aws:policy/IAMReadOnlyAccess");
    const out = await stsClient(sandbox, alice).send(
      new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: "narrow",
        Policy: JSON.stringify(allow("iam:ListUsers")),
      }),
    );
    assert.ok((out.PackedPolicySize ?? 0) > 0);
    const iam = iamClient(sandbox, asCreds(out.Credentials));
    await iam.send(new ListUsersCommand({}));
    await rejectsAws(
      iam.send(new GetUserCommand({ UserName: "alice" })),
      "AccessDenied",
      403,
      /because no session policy allows the iam:GetUser action$/,
    );
  });

  it("role chaining: a session may assume a role that trusts its role, for at most one hour", async () => {
    const first = sandbox.admin.createRole("Hop1", trust(`arn:aws:iam::${A}:user/alice`));
    const second = sandbox.admin.createRole("Hop2", trust(first.arn), { maxSessionDuration: 43200 });
    const hop1 = await stsClient(sandbox, alice).send(
      new AssumeRoleCommand({ RoleArn: first.arn, RoleSessionName: "h1" }),
    );
    const sts = stsClient(sandbox, asCreds(hop1.Credentials));
    const hop2 = await sts.send(new AssumeRoleCommand({ RoleArn: second.arn, RoleSessionName: "h2" }));
    assert.equal(hop2.AssumedRoleUser?.Arn, `arn:aws:sts::${A}:assumed-role/Hop2/h2`);
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: second.arn, RoleSessionName: "h2", DurationSeconds: 7200 })),
      "ValidationError",
      400,
      /role chaining/,
    );
  });

  it("cross-account: the target trusts the account and the caller's identity policy allows it", async () => {
    const other = sandbox.admin.createAccount(B);
    const role = sandbox.admin.createRole(
      "CrossAccount",
      trust(A, { StringEquals: { "sts:ExternalId": "x-1" } }),
      {
        accountId: B,
      },
    );
    sandbox.admin.putRolePolicy("CrossAccount", "read", allow("iam:ListUsers"), { accountId: B });
    sandbox.admin.createUser("bob", { accountId: B });
    sandbox.admin.createUser("crosser");
    const crosser = sandbox.admin.createAccessKey("crosser");
    const sts = stsClient(sandbox, crosser);
    await rejectsAws(
      sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "xa", ExternalId: "x-1" })),
      "AccessDenied",
      403,
    );
    sandbox.admin.putUserPolicy(
      "crosser",
      "assume",
      allow("sts:AssumeRole", "arn:aws:iam::*:role/CrossAccount"),
    );
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: "xa", ExternalId: "x-1" }),
    );
    const session = asCreds(out.Credentials);
    assert.equal((await stsClient(sandbox, session).send(new GetCallerIdentityCommand({}))).Account, B);
    const users = await iamClient(sandbox, session).send(new ListUsersCommand({}));
    assert.deepEqual(
      users.Users?.map((u) => u.Arn),
      [`arn:aws:iam::${B}:user/bob`],
    );
    // The other account's root works on its own account only.
    const rootB = await iamClient(sandbox, other.root).send(new GetUserCommand({}));
    assert.equal(rootB.User?.Arn, `arn:aws:iam::${B}:root`);
  });
});
