/**
 * Crash safety with real processes: a child rotates a record and is SIGKILLed by the test-only hook
 * (REKEY_TEST_CRASH_AT) at each step boundary; after the next run (another child: rotate or repair),
 * the vault's key is the user's only Active key (or graceful's pair), no orphan key remains, and no
 * secret was lost (the vault's secret signs requests). The child's stdout/stderr never hold a secret.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "../sandbox/index.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import { crashEnv } from "../testing/checkpoint.js";
import {
  addRecord,
  assertConverged,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import type { TempVault } from "../testing/vault.js";
import { getFieldValue } from "../vault/record.js";
import { CRASH_ENV, type CrashStep } from "./checkpoint.js";
import type { Strategy } from "./settings.js";

const CHILD = fileURLToPath(new URL("../testing/crash-child.ts", import.meta.url));
const LOCK_TTL_MS = 500;

let sandbox: Sandbox;
let vault: TempVault;
let store: SqliteVaultStore;

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "root cred" });
  ({ sandbox, vault, store } = fx);
});
after(() => fx.close());

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function child(args: string[], crashAt?: CrashStep): Promise<ChildResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: "true" };
  delete env[CRASH_ENV];
  if (crashAt) Object.assign(env, crashEnv(crashAt));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", reject);
    p.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

interface Case {
  strategy: Strategy;
  step: CrashStep;
  next: "rotate" | "repair";
  verify?: boolean;
  /** An inactive second key (makes delete-before reachable; graceful: the recorded previous key). */
  extra?: boolean;
}

const cases: Case[] = [];
for (const next of ["rotate", "repair"] as const) {
  for (const step of ["intent", "create", "journal", "save", "delete-after"] as const) {
    cases.push({ strategy: "create-then-delete", step, next });
  }
  cases.push({ strategy: "create-then-delete", step: "verify", next, verify: true });
  cases.push({ strategy: "create-then-delete", step: "delete-before", next, extra: true });
  for (const step of ["delete-before", "create", "journal", "save"] as const) {
    cases.push({ strategy: "delete-then-create", step, next, extra: true });
  }
  for (const step of [
    "intent",
    "delete-before",
    "create",
    "journal",
    "verify",
    "save",
    "deactivate",
  ] as const) {
    cases.push({ strategy: "graceful", step, next, extra: true });
  }
}

async function runCase(c: Case): Promise<void> {
  const userName = uniqueName(`kill-${c.strategy}`);
  sandbox.admin.createUser(userName);
  const main = sandbox.admin.createAccessKey(userName);
  const fields: Record<string, string> = { rotation_credentials: "root cred", rotation_strategy: c.strategy };
  if (c.extra) {
    const extra = sandbox.admin.createAccessKey(userName, { status: "Inactive" });
    if (c.strategy === "graceful") fields.aws_previous_access_key_id = extra.accessKeyId;
  }
  const r = addRecord(store, pamUser(`${userName} (AWS)`, userName, fields));
  recordKey(store, r.uid, main.accessKeyId, main.secretAccessKey);
  const knownBefore = sandbox.admin.listKeys(userName).map((k) => k.accessKeyId);
  const base = [vault.path, vault.keyFile, r.uid, sandbox.endpoint, String(LOCK_TTL_MS)];
  const label = `${c.strategy} killed after "${c.step}", then ${c.next}`;

  const crashed = await child(["rotate", ...base, ...(c.verify ? ["verify"] : [])], c.step);
  assert.equal(
    crashed.signal,
    "SIGKILL",
    `${label}: the child was killed at the step (stderr: ${crashed.stderr})`,
  );
  assert.ok(store.listJournal({ recordUid: r.uid }).length > 0, `${label}: a journal entry was left behind`);

  // The dead child's lock expires; the next run then takes it.
  await new Promise((res) => setTimeout(res, LOCK_TTL_MS + 200));
  const rerun = await child([c.next, ...base]);
  assert.equal(rerun.code, 0, `${label}: the next run succeeded (stderr: ${rerun.stderr})`);
  if (c.next === "repair") {
    const out = JSON.parse(rerun.stdout) as { ok: boolean };
    assert.ok(out.ok, `${label}: ${rerun.stdout}`);
  }
  await assertConverged(sandbox, store, r.uid, userName, {
    graceful: c.strategy === "graceful",
    preExisting: knownBefore,
  });

  const secret = getFieldValue(store.getRecord(r.uid)!.record, "aws_secret_access_key") ?? "";
  for (const out of [crashed, rerun]) {
    for (const s of [secret, main.secretAccessKey, sandbox.root.secretAccessKey]) {
      assert.ok(
        !out.stdout.includes(s) && !out.stderr.includes(s),
        `${label}: no secret in the child's output`,
      );
    }
  }
}

test(`a SIGKILL at every step boundary, then rotate or repair, converges (${cases.length} cases)`, async () => {
  // Children run a few at a time: each starts Node + tsx, and waits out the dead child's lock.
  const queue = [...cases];
  const workers = Array.from({ length: 8 }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) await runCase(c);
  });
  await Promise.all(workers);
});
