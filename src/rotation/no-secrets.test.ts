/**
 * No secret ever reaches the logs (pino at debug level), error messages, hints, details or results
 * during rotations, successful or not (architecture.md invariant 4).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { RekeyError } from "../errors.js";
import type { Sandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  adminWithPolicy,
  assumableRole,
  credentialRecord,
  fastOptions,
  iamUserWithKeys,
  pamUser,
  type RotationFixture,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { isSecretField } from "../vault/record.js";
import { rotateRecord } from "./engine.js";
import { repairRecords } from "./repair-records.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;
const lines: string[] = [];
const logger = pino({ level: "debug" }, { write: (chunk: string) => void lines.push(chunk) });
const outputs: string[] = [];
const secrets = new Set<string>();

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture();
  ({ sandbox, store } = fx);
});
after(() => fx.close());

/** Every secret the sandbox and the vault hold now (keys, session credentials, every version of every secret field). */
function collectSecrets(): void {
  secrets.add(sandbox.root.secretAccessKey);
  const walk = (v: unknown, key = ""): void => {
    if (typeof v === "string" && /secretAccessKey|sessionToken/i.test(key) && v.length >= 8) secrets.add(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(sandbox.admin.snapshot({ secrets: true }));
  for (const r of store.listRecords()) {
    for (const version of store.history(r.uid)) {
      for (const f of [...version.record.fields, ...version.record.custom]) {
        const secretLike = isSecretField(f) || /secret/i.test(f.label ?? "");
        if (!secretLike || f.type === "password") continue;
        for (const v of f.value) if (typeof v === "string" && v.length >= 8) secrets.add(v);
      }
    }
  }
}

async function run(fn: () => Promise<unknown>): Promise<void> {
  try {
    outputs.push(JSON.stringify(await fn()));
  } catch (err) {
    assert.ok(err instanceof RekeyError, String(err));
    outputs.push(
      err.message,
      err.hint ?? "",
      JSON.stringify(err.details ?? {}),
      String(err),
      err.stack ?? "",
    );
  }
  collectSecrets();
}

test("rotations of every kind, including failures, log at debug level without a single secret", async () => {
  const rootCred = addRecord(
    store,
    credentialRecord("root cred", {
      aws_access_key_id: sandbox.root.accessKeyId,
      aws_secret_access_key: sandbox.root.secretAccessKey,
    }),
  );
  const opts = fastOptions(sandbox, { logger });

  // Each strategy, verification under a propagation delay, and throttling retries (debug-logged).
  sandbox.knobs.set({ propagationDelayMs: 200, throttleRate: 20, throttleBurst: 2 });
  for (const strategy of ["create-then-delete", "delete-then-create", "graceful"] as const) {
    const name = uniqueName("s");
    iamUserWithKeys(sandbox, name, 1);
    const r = addRecord(
      store,
      pamUser(`${name} (AWS)`, name, { rotation_credentials: rootCred.uid, rotation_strategy: strategy }),
    );
    await run(() => rotateRecord(toAsyncStore(store), r.uid, { ...opts, verify: true }));
    await run(() => rotateRecord(toAsyncStore(store), r.uid, { ...opts, verify: true }));
    await run(() => rotateRecord(toAsyncStore(store), r.uid, { ...opts, dryRun: true }));
  }
  sandbox.knobs.set({ propagationDelayMs: 0, throttleRate: 0, throttleBurst: 0 });

  // AssumeRole (session credentials must not leak either).
  const { assumer, role } = assumableRole(sandbox);
  const roleCred = addRecord(
    store,
    credentialRecord(uniqueName("role cred"), {
      role_arn: role.arn,
      aws_access_key_id: assumer.accessKeyId,
      aws_secret_access_key: assumer.secretAccessKey,
    }),
  );
  const viaRole = uniqueName("r");
  iamUserWithKeys(sandbox, viaRole, 1);
  const rr = addRecord(store, pamUser(`${viaRole} (AWS)`, viaRole, { rotation_credentials: roleCred.uid }));
  await run(() => rotateRecord(toAsyncStore(store), rr.uid, opts));

  // Failures: access denied, no usable source, 2-key refusal, verification timeout, a crash and its repair.
  const weak = adminWithPolicy(sandbox, uniqueName("weak"), {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["iam:ListAccessKeys"], Resource: "*" }],
  });
  const weakCred = addRecord(
    store,
    credentialRecord(uniqueName("weak cred"), {
      aws_access_key_id: weak.accessKeyId,
      aws_secret_access_key: weak.secretAccessKey,
    }),
  );
  const f = uniqueName("f");
  iamUserWithKeys(sandbox, f, 1);
  const fr = addRecord(store, pamUser(`${f} (AWS)`, f, { rotation_credentials: weakCred.uid }));
  await run(() => rotateRecord(toAsyncStore(store), fr.uid, opts));
  await run(() =>
    rotateRecord(toAsyncStore(store), fr.uid, {
      ...opts,
      credentials: "nothing",
      env: {
        AWS_ACCESS_KEY_ID: "AKIAFAKEFAKEFAKEFAKE",
        AWS_SECRET_ACCESS_KEY: "fake-secret-value-never-valid-000000000",
      },
    }),
  );
  const two = uniqueName("two");
  iamUserWithKeys(sandbox, two, 2);
  const tr = addRecord(store, pamUser(`${two} (AWS)`, two, { rotation_credentials: rootCred.uid }));
  await run(() => rotateRecord(toAsyncStore(store), tr.uid, opts));
  sandbox.knobs.set({ propagationDelayMs: 60_000 });
  const slow = uniqueName("slow");
  iamUserWithKeys(sandbox, slow, 1);
  const sr = addRecord(
    store,
    pamUser(`${slow} (AWS)`, slow, { rotation_credentials: rootCred.uid, rotation_strategy: "graceful" }),
  );
  await run(() => rotateRecord(toAsyncStore(store), sr.uid, { ...opts, verifyTimeoutMs: 200 }));
  sandbox.knobs.set({ propagationDelayMs: 0 });
  await run(() =>
    rotateRecord(toAsyncStore(store), sr.uid, {
      ...opts,
      onCheckpoint: (s) => {
        if (s === "journal") throw new RekeyError("internal", "simulated crash");
      },
    }),
  );
  await run(() => repairRecords(toAsyncStore(store), opts));

  collectSecrets();
  secrets.add("fake-secret-value-never-valid-000000000");
  assert.ok(secrets.size > 10, `collected ${secrets.size} secrets to look for`);
  assert.ok(lines.length > 20, "the logger was used");
  assert.ok(
    lines.some((l) => l.includes('"level":20')),
    "debug lines were written",
  );
  const haystack = [...lines, ...outputs].join("\n");
  for (const s of secrets) {
    assert.ok(!haystack.includes(s), `a secret (${s.slice(0, 4)}…) appeared in logs, errors or results`);
  }
});
