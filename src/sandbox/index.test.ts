import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ListUsersCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { RekeyError } from "../errors.js";
import { cleanEnv, iamClient, stsClient } from "../testing/sandbox-clients.js";
import { startSandbox } from "./index.js";

describe("startSandbox", () => {
  it("starts on a free loopback port well under a second, with generated root credentials", async () => {
    const t = performance.now();
    const sandbox = await startSandbox({ env: cleanEnv() });
    const elapsed = performance.now() - t;
    try {
      assert.ok(elapsed < 1000, `started in ${elapsed} ms`);
      assert.match(sandbox.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(sandbox.accountId, "123456789012");
      assert.equal(sandbox.region, "us-east-1");
      assert.equal(sandbox.rootSource, "generated");
      assert.match(sandbox.root.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
      assert.equal(sandbox.root.secretAccessKey.length, 40);
      assert.ok(sandbox.adminTokenGenerated);
      await iamClient(sandbox).send(new ListUsersCommand({}));
    } finally {
      await sandbox.close();
      await sandbox.close();
    }
  });

  it("takes the root credentials from REKEY_SANDBOX_ROOT_KEY_ID / _SECRET, or from options", async () => {
    const env = {
      ...cleanEnv(),
      REKEY_SANDBOX_ROOT_KEY_ID: "AKIAENVROOT000000001",
      REKEY_SANDBOX_ROOT_SECRET: "env-secret",
    };
    const fromEnv = await startSandbox({ env, accountId: "111122223333" });
    try {
      assert.equal(fromEnv.rootSource, "env");
      const who = await stsClient(fromEnv, {
        accessKeyId: "AKIAENVROOT000000001",
        secretAccessKey: "env-secret",
      }).send(new GetCallerIdentityCommand({}));
      assert.equal(who.Arn, "arn:aws:iam::111122223333:root");
    } finally {
      await fromEnv.close();
    }
    const fromOptions = await startSandbox({
      env,
      root: { accessKeyId: "AKIAOPTROOT000000001", secretAccessKey: "opt" },
    });
    try {
      assert.equal(fromOptions.rootSource, "options");
      await stsClient(fromOptions).send(new GetCallerIdentityCommand({}));
    } finally {
      await fromOptions.close();
    }
  });

  it("refuses half-set root variables, bad knobs and a taken port", async () => {
    await assert.rejects(
      startSandbox({ env: { ...cleanEnv(), REKEY_SANDBOX_ROOT_KEY_ID: "AKIAONLYID0000000001" } }),
      (e: unknown) => e instanceof RekeyError && e.kind === "usage",
    );
    await assert.rejects(
      startSandbox({ env: cleanEnv(), errorRate: 2 }),
      (e: unknown) => e instanceof RekeyError,
    );
    const first = await startSandbox({ env: cleanEnv() });
    try {
      await assert.rejects(startSandbox({ env: cleanEnv(), port: first.port }), /cannot listen/);
    } finally {
      await first.close();
    }
  });
});
