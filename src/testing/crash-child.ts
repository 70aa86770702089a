/**
 * A tiny `rekey rotate` / `rekey repair` stand-in for crash.test.ts: opens the vault with its key
 * file and rotates (or repairs) one record against an endpoint. With REKEY_TEST_CRASH_AT set, the
 * engine SIGKILLs this process at that step. Prints the result JSON (never secrets).
 *
 * usage: node --import tsx crash-child.ts rotate|repair VAULT KEYFILE RECORD_UID ENDPOINT LOCK_TTL_MS [verify]
 */

import { repairRecords, rotateRecord } from "../rotation/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { openVault } from "../stores/sqlite/sqlite-open.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const [mode, vaultPath, keyFile, recordUid, endpointUrl, lockTtl, verify] = process.argv.slice(2);
if (!mode || !vaultPath || !keyFile || !recordUid || !endpointUrl || !lockTtl) {
  process.stderr.write(
    "usage: crash-child.ts rotate|repair VAULT KEYFILE RECORD_UID ENDPOINT LOCK_TTL_MS [verify]\n",
  );
  process.exit(2);
}
const store = await openVault(vaultPath, { keyFile });
try {
  const common = {
    endpointUrl,
    env: process.env,
    lockTtlMs: Number(lockTtl),
    verifyIntervalMs: 50,
    verifyTimeoutMs: 5_000,
    retry: { maxAttempts: 10, baseDelayMs: 20, maxDelayMs: 300 },
    // The chaos test's sandbox lists keys up to 2 s stale: its window (default: the engine's).
    ...(process.env.REKEY_TEST_CONSISTENCY_MS
      ? { consistencyWindowMs: Number(process.env.REKEY_TEST_CONSISTENCY_MS) }
      : {}),
    actor: `crash-child ${mode}`,
  };
  const out =
    mode === "repair"
      ? await repairRecords(toAsyncStore(store), { ...common, records: [recordUid] })
      : await rotateRecord(toAsyncStore(store), recordUid, {
          ...common,
          ...(verify === "verify" ? { verify: true } : {}),
        });
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  store.close();
}
