import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  ListUsersCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { cleanEnv, iamClient, rejectsAws, stsClient } from "../testing/sandbox-clients.js";
import { type Sandbox, startSandbox } from "./index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("knobs", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
  });
  after(() => sandbox.close());

  it("propagation delay: a new key is InvalidClientTokenId at first, then works", async () => {
    sandbox.knobs.set({ propagationDelayMs: 1200 });
    try {
      const iam = iamClient(sandbox);
      await iam.send(new CreateUserCommand({ UserName: "fresh" }));
      const created = Date.now();
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "fresh" }));
      const sts = stsClient(sandbox, {
        accessKeyId: AccessKey!.AccessKeyId!,
        secretAccessKey: AccessKey!.SecretAccessKey!,
      });
      await rejectsAws(sts.send(new GetCallerIdentityCommand({})), "InvalidClientTokenId", 403);
      let worked = 0;
      while (!worked && Date.now() - created < 6000) {
        await sleep(150);
        worked = await sts.send(new GetCallerIdentityCommand({})).then(
          () => Date.now(),
          () => 0,
        );
      }
      assert.ok(worked, "the key never became usable");
      assert.ok(worked - created >= 1000, `usable after ${worked - created} ms, expected about 1200`);
      // Keys made by the in-process admin helpers are usable at once (test setup).
      sandbox.admin.createUser("setup");
      await stsClient(sandbox, sandbox.admin.createAccessKey("setup")).send(new GetCallerIdentityCommand({}));
    } finally {
      sandbox.knobs.set({ propagationDelayMs: 0 });
    }
  });

  it("throttling: a token bucket per account answers Throttling (400, 'Rate exceeded')", async () => {
    const other = sandbox.admin.createAccount();
    const before = sandbox.traffic()[sandbox.root.accessKeyId];
    sandbox.knobs.set({ throttleRate: 0.1, throttleBurst: 2 });
    try {
      const iam = iamClient(sandbox);
      await iam.send(new ListUsersCommand({}));
      await iam.send(new ListUsersCommand({}));
      await rejectsAws(iam.send(new ListUsersCommand({})), "Throttling", 400, "Rate exceeded");
      // Another account has its own bucket, and so has STS (AWS's quotas are per service).
      await iamClient(sandbox, other.root).send(new ListUsersCommand({}));
      await stsClient(sandbox).send(new GetCallerIdentityCommand({}));
      // The server's own count, by caller key and service.
      const mine = sandbox.traffic()[sandbox.root.accessKeyId];
      assert.equal((mine?.iam?.accepted ?? 0) - (before?.iam?.accepted ?? 0), 2);
      assert.equal((mine?.iam?.throttled ?? 0) - (before?.iam?.throttled ?? 0), 1);
      assert.equal((mine?.sts?.accepted ?? 0) - (before?.sts?.accepted ?? 0), 1);
      assert.deepEqual(sandbox.traffic()[other.root.accessKeyId]?.iam, { accepted: 1, throttled: 0 });
    } finally {
      sandbox.knobs.set({ throttleRate: 0, throttleBurst: 0 });
    }
    await iamClient(sandbox).send(new ListUsersCommand({}));
  });

  it("error rate 1.0: every request is a 500 (ServiceFailure for IAM, InternalFailure for STS)", async () => {
    sandbox.knobs.set({ errorRate: 1 });
    try {
      await rejectsAws(iamClient(sandbox).send(new ListUsersCommand({})), "ServiceFailureException", 500);
      await rejectsAws(stsClient(sandbox).send(new GetCallerIdentityCommand({})), "InternalFailure", 500);
    } finally {
      sandbox.knobs.set({ errorRate: 0 });
    }
  });

  it("drop rate 1.0: the connection is closed without an answer (a network error)", async () => {
    sandbox.knobs.set({ dropRate: 1 });
    try {
      await assert.rejects(
        iamClient(sandbox).send(new ListUsersCommand({})),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.$metadata?.httpStatusCode, undefined);
          assert.match(
            `${err.name} ${err.message} ${(err as { code?: string }).code}`,
            /socket hang up|ECONNRESET|EPIPE/i,
          );
          return true;
        },
      );
    } finally {
      sandbox.knobs.set({ dropRate: 0 });
    }
    await iamClient(sandbox).send(new ListUsersCommand({}));
  });

  it("added latency delays answers (measured loosely)", async () => {
    const iam = iamClient(sandbox);
    await iam.send(new ListUsersCommand({}));
    sandbox.knobs.set({ latencyMs: 300 });
    try {
      const t = performance.now();
      await iam.send(new ListUsersCommand({}));
      assert.ok(performance.now() - t >= 250);
    } finally {
      sandbox.knobs.set({ latencyMs: 0 });
    }
  });

  it("randomSeed makes ids and fault draws reproducible", async () => {
    const run = async () => {
      const sb = await startSandbox({ env: cleanEnv(), randomSeed: 1234, errorRate: 0.5 });
      try {
        const iam = iamClient(sb);
        const outcomes: string[] = [];
        for (let i = 0; i < 12; i++) {
          outcomes.push(
            await iam.send(new CreateUserCommand({ UserName: `u${i}` })).then(
              (r) => r.User?.UserId ?? "?",
              (e: Error) => e.name,
            ),
          );
        }
        return { outcomes, root: sb.root.accessKeyId };
      } finally {
        await sb.close();
      }
    };
    const a = await run();
    const b = await run();
    assert.deepEqual(a, b);
    assert.ok(a.outcomes.includes("ServiceFailureException") && a.outcomes.some((o) => o.startsWith("AIDA")));
  });

  it("answers unknown users of GetUser with the service namespace and request id header", async () => {
    const res = await iamClient(sandbox)
      .send(new GetUserCommand({ UserName: "nobody-here" }))
      .catch((e: { $metadata: { requestId?: string } }) => e);
    assert.match((res as { $metadata: { requestId?: string } }).$metadata.requestId ?? "", /^[0-9a-f-]{36}$/);
  });
});
