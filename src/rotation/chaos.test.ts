/**
 * Randomized reliability test (slow lane): per strategy, 100 rotations (20 users × 5 rounds, all users
 * at once) against a sandbox that loses answers after acting (30 % of mutating calls: the action done,
 * then a 500 or a dropped connection; or the connection reset and the action done 0-300 ms later), lists
 * keys 2 s stale, while random rotations crash: in-process at a random step boundary, and some as real
 * child processes SIGKILLed there. Then the faults stop, `repair` runs, and every user must have
 * converged: no pending journal, no orphan key, no lost key, and the vault's key works.
 *
 * Figures go to the test's diagnostics (the README's reliability section quotes them).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "../sandbox/index.js";
import { seededRng } from "../sandbox/random.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import { crashEnv } from "../testing/checkpoint.js";
import {
  addRecord,
  assertConverged,
  fastOptions,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import type { TempVault } from "../testing/vault.js";
import { CRASH_STEPS, type CrashStep } from "./checkpoint.js";
import { rotateRecord } from "./engine.js";
import { repairRecords } from "./repair-records.js";
import type { Strategy } from "./settings.js";

const CHILD = fileURLToPath(new URL("../testing/crash-child.ts", import.meta.url));
const STRATEGIES: Strategy[] = ["create-then-delete", "delete-then-create", "graceful"];
const USERS = 20;
const ROUNDS = 5;
const STALE_MS = 2_000;
const WINDOW_MS = STALE_MS + 500;
const IN_PROCESS_CRASH = 0.1;
const SIGKILL = 0.04;

let sandbox: Sandbox;
let vault: TempVault;
let store: SqliteVaultStore;
let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "admin key" });
  ({ sandbox, vault, store } = fx);
});
after(() => fx.close());

class SimulatedCrash extends Error {}

function killedChild(uid: string, step: CrashStep): Promise<number | null> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_EC2_METADATA_DISABLED: "true",
    ...crashEnv(step),
    REKEY_TEST_CONSISTENCY_MS: String(WINDOW_MS),
  };
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ["--import", "tsx", CHILD, "rotate", vault.path, vault.keyFile, uid, sandbox.endpoint, "500"],
      { env, stdio: "ignore" },
    );
    p.on("error", reject);
    p.on("close", (code) => resolve(code));
  });
}

test("randomized: 100 rotations per strategy under post-action faults, stale lists, crashes and SIGKILLs converge after repair", async (t) => {
  const seed = Number(process.env.REKEY_CHAOS_SEED ?? 20261130);
  const random = seededRng(seed); // replayable: REKEY_CHAOS_SEED
  const users = STRATEGIES.flatMap((strategy) =>
    Array.from({ length: USERS }, () => {
      const name = uniqueName(`chaos-${strategy.slice(0, 3)}`);
      sandbox.admin.createUser(name);
      const k = sandbox.admin.createAccessKey(name);
      const rec = addRecord(
        store,
        pamUser(`${name} (AWS)`, name, { rotation_credentials: "admin key", rotation_strategy: strategy }),
      );
      recordKey(store, rec.uid, k.accessKeyId, k.secretAccessKey);
      return { name, uid: rec.uid, strategy };
    }),
  );
  const tally: Record<string, number> = {};
  const count = (k: string) => {
    tally[k] = (tally[k] ?? 0) + 1;
  };
  sandbox.knobs.set({
    randomSeed: seed,
    actThenFailRate: 0.15,
    actThenFailMode: "mixed",
    lateActionRate: 0.15,
    lateActionDelayMs: 300,
    staleListMs: STALE_MS,
  });
  const started = Date.now();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        users.map(async (u) => {
          const roll = random();
          const step = CRASH_STEPS[Math.floor(random() * CRASH_STEPS.length)]!;
          if (roll < SIGKILL) {
            count(`${u.strategy}: SIGKILLed child`);
            await killedChild(u.uid, step);
            return;
          }
          const crashAt = roll < SIGKILL + IN_PROCESS_CRASH ? step : undefined;
          try {
            await rotateRecord(
              toAsyncStore(store),
              u.uid,
              fastOptions(sandbox, {
                consistencyWindowMs: WINDOW_MS,
                lockTtlMs: 500,
                onCheckpoint: (s) => {
                  if (s === crashAt) throw new SimulatedCrash(s);
                },
              }),
            );
            count(`${u.strategy}: succeeded`);
          } catch (err) {
            count(
              `${u.strategy}: ${err instanceof SimulatedCrash ? "crashed in-process" : "failed or refused"}`,
            );
          }
        }),
      );
      // Let the stale listing catch up before the next round (fewer refusals; the faults stay on).
      await new Promise((r) => setTimeout(r, STALE_MS));
    }
  } finally {
    sandbox.knobs.set({ actThenFailRate: 0, lateActionRate: 0, staleListMs: 0 });
  }
  await new Promise((r) => setTimeout(r, 600)); // late actions still in flight land
  const repaired = await repairRecords(toAsyncStore(store), fastOptions(sandbox, { lockTtlMs: 500 }));
  t.diagnostic(`seed ${seed}; ${Date.now() - started} ms; ${JSON.stringify(tally)}`);
  t.diagnostic(
    `repair: ${repaired.records.length} record(s): ${JSON.stringify(
      repaired.records.reduce<Record<string, number>>((a, r) => {
        a[r.outcome] = (a[r.outcome] ?? 0) + 1;
        return a;
      }, {}),
    )}`,
  );
  assert.ok(repaired.ok, JSON.stringify(repaired.records.filter((r) => r.outcome === "failed")));
  for (const u of users) {
    await assertConverged(sandbox, store, u.uid, u.name, { graceful: u.strategy === "graceful" });
  }
  for (const s of STRATEGIES) {
    const attempts = Object.entries(tally)
      .filter(([k]) => k.startsWith(`${s}:`))
      .reduce((a, [, n]) => a + n, 0);
    assert.equal(attempts, USERS * ROUNDS, `${s}: every rotation was attempted`);
  }
});
