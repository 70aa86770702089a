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
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { cleanEnv, iamClient, rejectsAws, stsClient } from "../testing/sandbox-clients.js";
import { drawAfterAction } from "./faults.js";
import { iamActions, MUTATING_IAM_ACTIONS } from "./iam-actions.js";
import { type Sandbox, startSandbox } from "./index.js";
import { DEFAULT_KNOBS } from "./knobs.js";
import { seededRng } from "./random.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Awaits `promise`, expecting the connection to end without any HTTP answer. */
async function rejectsWithoutAnswer(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    assert.equal(
      e.$metadata?.httpStatusCode,
      undefined,
      `expected no HTTP answer, got ${e.name}: ${e.message}`,
    );
    return e;
  }
  assert.fail("expected the connection to end without an answer, but the call succeeded");
}

/** Polls `fn` every 50 ms until it is true; false after `ms`. */
async function eventually(fn: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

describe("post-action fault draws", () => {
  it("only the actions that change state are hit; every other one is a Get or a List", () => {
    for (const name of MUTATING_IAM_ACTIONS) assert.ok(Object.hasOwn(iamActions, name), name);
    for (const name of Object.keys(iamActions)) {
      if (!MUTATING_IAM_ACTIONS.has(name)) assert.match(name, /^(Get|List)/, `${name} is not read-only`);
    }
  });

  it("draw nothing when the rates are 0, and the same faults for the same seed", () => {
    let draws = 0;
    const counting = () => {
      draws++;
      return 0;
    };
    assert.equal(drawAfterAction(DEFAULT_KNOBS, counting), undefined);
    assert.equal(draws, 0, "a knob left off does not consume draws");

    const k = { ...DEFAULT_KNOBS, actThenFailRate: 0.5, lateActionRate: 0.2, lateActionDelayMs: 100 };
    const run = (seed: number) => {
      const rng = seededRng(seed);
      return Array.from({ length: 200 }, () => drawAfterAction(k, rng));
    };
    assert.deepEqual(run(42), run(42));
    const faults = run(42);
    const kinds = new Set(faults.map((f) => (f?.kind === "answer-lost" ? `lost-${f.how}` : f?.kind)));
    assert.deepEqual([...kinds].sort(), ["late", "lost-500", "lost-drop", undefined].sort());
    for (const f of faults) if (f?.kind === "late") assert.ok(f.delayMs >= 0 && f.delayMs <= 100);
  });

  it("actThenFailMode 500 / drop always loses the answer that way", () => {
    const rng = seededRng(1);
    for (const how of ["500", "drop"] as const) {
      const k = { ...DEFAULT_KNOBS, actThenFailRate: 1, actThenFailMode: how };
      for (let i = 0; i < 20; i++) assert.deepEqual(drawAfterAction(k, rng), { kind: "answer-lost", how });
    }
  });
});

describe("sandbox faults against the AWS SDK", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ env: cleanEnv() });
  });
  after(async () => {
    await sandbox.close();
  });

  it("act-then-fail (500): CreateAccessKey fails with ServiceFailure, yet the key exists", async () => {
    sandbox.admin.createUser("atf-500");
    const iam = iamClient(sandbox);
    sandbox.knobs.set({ actThenFailRate: 1, actThenFailMode: "500" });
    try {
      await rejectsAws(
        iam.send(new CreateAccessKeyCommand({ UserName: "atf-500" })),
        "ServiceFailureException",
        500,
      );
      // Reads are not hit.
      const listed = await iam.send(new ListAccessKeysCommand({ UserName: "atf-500" }));
      assert.equal(listed.AccessKeyMetadata?.length, 1, "the lost CreateAccessKey made a key");
      const keyId = listed.AccessKeyMetadata?.[0]?.AccessKeyId;
      await rejectsAws(
        iam.send(new UpdateAccessKeyCommand({ UserName: "atf-500", AccessKeyId: keyId, Status: "Inactive" })),
        "ServiceFailureException",
        500,
      );
      assert.equal(sandbox.admin.listKeys("atf-500")[0]?.status, "Inactive");
      await rejectsAws(
        iam.send(new DeleteAccessKeyCommand({ UserName: "atf-500", AccessKeyId: keyId })),
        "ServiceFailureException",
        500,
      );
      assert.deepEqual(sandbox.admin.listKeys("atf-500"), []);
      // A refused action loses its answer just the same.
      await rejectsAws(
        iam.send(new DeleteAccessKeyCommand({ UserName: "atf-500", AccessKeyId: keyId })),
        "ServiceFailureException",
        500,
      );
    } finally {
      sandbox.knobs.set({ actThenFailRate: 0, actThenFailMode: "mixed" });
      iam.destroy();
    }
  });

  it("act-then-fail (drop): the connection ends without an answer, yet the key exists", async () => {
    sandbox.admin.createUser("atf-drop");
    const iam = iamClient(sandbox);
    sandbox.knobs.set({ actThenFailRate: 1, actThenFailMode: "drop" });
    try {
      await rejectsWithoutAnswer(iam.send(new CreateAccessKeyCommand({ UserName: "atf-drop" })));
      await iam.send(new GetUserCommand({ UserName: "atf-drop" }));
      sandbox.knobs.set({ actThenFailRate: 0 });
      const listed = await iam.send(new ListAccessKeysCommand({ UserName: "atf-drop" }));
      assert.equal(listed.AccessKeyMetadata?.length, 1);
    } finally {
      sandbox.knobs.set({ actThenFailRate: 0, actThenFailMode: "mixed" });
      iam.destroy();
    }
  });

  it("staleListMs: ListAccessKeys shows the keys from before a change, then the change", async () => {
    sandbox.admin.createUser("stale");
    const iam = iamClient(sandbox);
    sandbox.knobs.set({ staleListMs: 1500 });
    const list = async () =>
      (await iam.send(new ListAccessKeysCommand({ UserName: "stale" }))).AccessKeyMetadata?.map(
        (k) => `${k.AccessKeyId}:${k.Status}`,
      ) ?? [];
    try {
      const created = await iam.send(new CreateAccessKeyCommand({ UserName: "stale" }));
      const id = created.AccessKey?.AccessKeyId;
      assert.deepEqual(await list(), [], "the new key is not listed yet");
      // Other reads and the key itself are not stale.
      await stsClient(sandbox, {
        accessKeyId: id ?? "",
        secretAccessKey: created.AccessKey?.SecretAccessKey ?? "",
      }).send(new GetCallerIdentityCommand({}));
      const shown = [`${id}:Active`];
      let seen: string[] = [];
      assert.ok(
        await eventually(async () => {
          seen = await list();
          return seen.length > 0;
        }, 10_000),
        "listed once the window has passed",
      );
      assert.deepEqual(seen, shown);

      await iam.send(new DeleteAccessKeyCommand({ UserName: "stale", AccessKeyId: id }));
      assert.deepEqual(await list(), shown, "the deleted key is still listed");
      assert.deepEqual(sandbox.admin.listKeys("stale"), [], "though it is gone");
      sandbox.knobs.set({ staleListMs: 0 });
      assert.deepEqual(await list(), [], "turning the knob off shows the truth at once");
    } finally {
      sandbox.knobs.set({ staleListMs: 0 });
      iam.destroy();
    }
  });

  it("black hole: the request is read and never answered; the client's timeout ends it", async () => {
    const iam = iamClient(sandbox, sandbox.root, {});
    sandbox.knobs.set({ blackHoleRate: 1 });
    const started = Date.now();
    try {
      await assert.rejects(
        iam.send(new GetUserCommand({}), { abortSignal: AbortSignal.timeout(500) }),
        (e: Error) => e.name === "AbortError" || e.name === "TimeoutError",
      );
      assert.ok(Date.now() - started < 10_000);
      // The admin endpoint is not hit: the knob can be turned off.
      const res = await fetch(`${sandbox.endpoint}/__admin/knobs`, {
        method: "POST",
        headers: { "x-rekey-admin-token": sandbox.adminToken },
        body: JSON.stringify({ blackHoleRate: 0 }),
      });
      assert.equal(((await res.json()) as { blackHoleRate: number }).blackHoleRate, 0);
      await iam.send(new GetUserCommand({}));
    } finally {
      sandbox.knobs.set({ blackHoleRate: 0 });
      iam.destroy();
    }
  });

  it("the admin endpoint sets and reports the fault knobs", async () => {
    const post = async (body: unknown) => {
      const res = await fetch(`${sandbox.endpoint}/__admin/knobs`, {
        method: "POST",
        headers: { "x-rekey-admin-token": sandbox.adminToken },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const set = {
      actThenFailRate: 0.25,
      actThenFailMode: "drop",
      lateActionRate: 0.5,
      lateActionDelayMs: 50,
      staleListMs: 100,
      blackHoleRate: 0.1,
    };
    try {
      const ok = await post(set);
      assert.equal(ok.status, 200);
      for (const [k, v] of Object.entries(set)) assert.equal(ok.json[k], v, k);
      const bad = await post({ actThenFailMode: "sometimes" });
      assert.equal(bad.status, 400);
      assert.match(String(bad.json.error), /actThenFailMode must be one of "500", "drop", "mixed"/);
    } finally {
      sandbox.knobs.set({ ...DEFAULT_KNOBS, randomSeed: null });
    }
  });
});

describe("reproducible faults", () => {
  it("the same randomSeed gives the same faults to the same requests", async () => {
    const outcomes = async () => {
      const sandbox = await startSandbox({
        env: cleanEnv(),
        randomSeed: 1234,
        actThenFailRate: 0.5,
        lateActionRate: 0.2,
        lateActionDelayMs: 0,
      });
      const iam = iamClient(sandbox);
      const seen: string[] = [];
      try {
        for (let i = 0; i < 12; i++) {
          try {
            await iam.send(new CreateUserCommand({ UserName: `seeded-${i}` }));
            seen.push("ok");
          } catch (err) {
            const e = err as Error & { $metadata?: { httpStatusCode?: number } };
            seen.push(e.$metadata?.httpStatusCode === 500 ? "500" : "no answer");
          }
        }
        // Every one of them was carried out, answered or not.
        const users = () =>
          (sandbox.admin.snapshot().accounts ?? [])
            .flatMap((a) => a.users ?? [])
            .filter((u) => u.name.startsWith("seeded-")).length;
        assert.ok(await eventually(() => users() === 12), `${users()} of 12 users made`);
      } finally {
        iam.destroy();
        await sandbox.close();
      }
      return seen;
    };
    const first = await outcomes();
    assert.deepEqual(await outcomes(), first);
    assert.ok(first.includes("ok") && first.includes("500") && first.includes("no answer"), first.join(" "));
  });
});

describe("late actions", () => {
  it("the connection is reset at once and the action happens a moment later", async () => {
    // Seed 9: the first request's draw is a delay of 932 ms (of 0..1000), long enough to look.
    const sandbox = await startSandbox({
      env: cleanEnv(),
      randomSeed: 9,
      lateActionRate: 1,
      lateActionDelayMs: 1000,
    });
    const iam = iamClient(sandbox);
    try {
      sandbox.admin.createUser("late");
      await rejectsWithoutAnswer(iam.send(new CreateAccessKeyCommand({ UserName: "late" })));
      assert.deepEqual(sandbox.admin.listKeys("late"), [], "not yet applied when the client gave up");
      assert.ok(await eventually(() => sandbox.admin.listKeys("late").length === 1), "applied later");
      // Reads are not hit.
      const listed = await iam.send(new ListAccessKeysCommand({ UserName: "late" }));
      assert.equal(listed.AccessKeyMetadata?.length, 1);
    } finally {
      iam.destroy();
      await sandbox.close();
    }
  });

  it("a late action still pending when the sandbox closes is dropped", async () => {
    const sandbox = await startSandbox({
      env: cleanEnv(),
      randomSeed: 9,
      lateActionRate: 1,
      lateActionDelayMs: 1000,
    });
    const iam = iamClient(sandbox);
    sandbox.admin.createUser("late-closed");
    await rejectsWithoutAnswer(iam.send(new CreateAccessKeyCommand({ UserName: "late-closed" })));
    iam.destroy();
    await sandbox.close();
    await sleep(1100);
    assert.deepEqual(sandbox.admin.listKeys("late-closed"), []);
  });
});
