import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  ListAccessKeysCommand,
  ListUsersCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { RekeyError } from "../errors.js";
import { cleanEnv, iamClient, stsClient } from "../testing/sandbox-clients.js";
import { type SandboxDocument, startSandbox } from "./index.js";
import { writeFileAtomic } from "./state-file.js";

describe("state file and seed file", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rekey-sandbox-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes atomically with mode 0600", async () => {
    const path = join(dir, "atomic.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    assert.equal(await readFile(path, "utf8"), "two");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("persists users, keys, last use and the root across restarts", async () => {
    const stateFile = join(dir, "state.json");
    const first = await startSandbox({ env: cleanEnv(), stateFile });
    assert.equal(first.rootSource, "generated");
    const iam = iamClient(first);
    await iam.send(new CreateUserCommand({ UserName: "persisted" }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "persisted" }));
    const creds = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    await stsClient(first, creds).send(new GetCallerIdentityCommand({}));
    await first.close();
    assert.equal((await stat(stateFile)).mode & 0o777, 0o600);

    const second = await startSandbox({ env: cleanEnv(), stateFile });
    try {
      assert.equal(second.rootSource, "state");
      assert.deepEqual(second.root, first.root);
      const who = await stsClient(second, creds).send(new GetCallerIdentityCommand({}));
      assert.equal(who.Arn, "arn:aws:iam::123456789012:user/persisted");
      const keys = await iamClient(second).send(new ListAccessKeysCommand({ UserName: "persisted" }));
      assert.deepEqual(
        keys.AccessKeyMetadata?.map((k) => k.AccessKeyId),
        [creds.accessKeyId],
      );
      assert.equal(second.admin.listKeys("persisted")[0]?.lastUsed?.service, "sts");
    } finally {
      await second.close();
    }
  });

  it("starts from a seed file: accounts, users with known keys, policies, roles", async () => {
    const seed: SandboxDocument = {
      accounts: [
        {
          accountId: "123456789012",
          rootKeys: [{ accessKeyId: "AKIASEEDROOT00000001", secretAccessKey: "seed-root-secret" }],
          policies: [
            {
              name: "Rotate",
              document: {
                Version: "2012-10-17",
                Statement: [
                  { Effect: "Allow", Action: ["iam:*AccessKey*", "sts:AssumeRole"], Resource: "*" },
                ],
              },
            },
          ],
          users: [
            {
              name: "svc",
              keys: [
                {
                  accessKeyId: "AKIASEEDSVC000000001",
                  secretAccessKey: "svc-secret",
                  createDate: "2024-01-01T00:00:00Z",
                },
              ],
              attachedPolicies: ["Rotate"],
            },
          ],
        },
        {
          accountId: "999999999999",
          roles: [
            {
              name: "Target",
              trustPolicy: {
                Version: "2012-10-17",
                Statement: [
                  { Effect: "Allow", Principal: { AWS: "123456789012" }, Action: "sts:AssumeRole" },
                ],
              },
              inlinePolicies: {
                read: {
                  Version: "2012-10-17",
                  Statement: [{ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }],
                },
              },
            },
          ],
        },
      ],
    };
    const seedFile = join(dir, "seed.json");
    await writeFile(seedFile, JSON.stringify(seed));
    const sandbox = await startSandbox({ env: cleanEnv(), seedFile });
    try {
      assert.equal(sandbox.rootSource, "state");
      assert.equal(sandbox.root.accessKeyId, "AKIASEEDROOT00000001");
      const svc = { accessKeyId: "AKIASEEDSVC000000001", secretAccessKey: "svc-secret" };
      const keys = await iamClient(sandbox, svc).send(new ListAccessKeysCommand({}));
      assert.equal(keys.AccessKeyMetadata?.[0]?.CreateDate?.toISOString(), "2024-01-01T00:00:00.000Z");
      const out = await stsClient(sandbox, svc).send(
        new AssumeRoleCommand({
          RoleArn: "arn:aws:iam::999999999999:role/Target",
          RoleSessionName: "seeded",
        }),
      );
      const session = {
        accessKeyId: out.Credentials!.AccessKeyId!,
        secretAccessKey: out.Credentials!.SecretAccessKey!,
        sessionToken: out.Credentials!.SessionToken!,
      };
      assert.deepEqual((await iamClient(sandbox, session).send(new ListUsersCommand({}))).Users, []);
    } finally {
      await sandbox.close();
    }
  });

  it("an existing state file wins over the seed", async () => {
    const stateFile = join(dir, "wins.json");
    const seedFile = join(dir, "seed-ignored.json");
    await writeFile(seedFile, JSON.stringify({ users: [{ name: "from-seed" }] }));
    const first = await startSandbox({ env: cleanEnv(), stateFile, seedFile });
    first.admin.createUser("later");
    await first.close();
    const second = await startSandbox({ env: cleanEnv(), stateFile, seedFile });
    try {
      assert.deepEqual(
        second.admin.snapshot().accounts?.[0]?.users?.map((u) => u.name),
        ["from-seed", "later"],
      );
    } finally {
      await second.close();
    }
  });

  it("refuses an invalid seed file with a usage error naming the problem", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ users: [{ name: "bad name" }] }));
    await assert.rejects(
      startSandbox({ env: cleanEnv(), seedFile: bad }),
      (e: unknown) => e instanceof RekeyError && e.kind === "usage" && /users\.0\.name/.test(e.message),
    );
    await writeFile(bad, "{");
    await assert.rejects(startSandbox({ env: cleanEnv(), seedFile: bad }), /not valid JSON/);
    await assert.rejects(
      startSandbox({ env: cleanEnv(), seedFile: join(dir, "missing.json") }),
      /cannot read sandbox file/,
    );
  });
});
