/**
 * Step boundaries of a rotation, and the test-only crash hook. With `REKEY_TEST_CRASH_AT=<step>` in
 * the environment, the process kills itself with SIGKILL right after that step (no cleanup, no
 * finally blocks: a real crash), so a test can check that the next run converges.
 *
 * The hook must never kill a production rotation halfway (a stray variable in a unit file, or one an
 * attacker managed to set): it is honoured only when `REKEY_TEST_HOOKS` also names the test switch,
 * a regular file owned by this user, accessible by nobody else, holding exactly TEST_HOOKS_MAGIC (the
 * test runs make one, src/testing/checkpoint.ts). Otherwise REKEY_TEST_CRASH_AT is ignored.
 *
 * Steps, in the order a rotation reaches them:
 * - `intent`        the intent is journaled; no AWS change yet
 * - `delete-before` a key was deleted before creating (delete-then-create, or making room)
 * - `create`        CreateAccessKey returned, the secret NOT yet journaled (the key is an orphan)
 * - `journal`       the new secret is in the journal
 * - `verify`        the new key answered sts:GetCallerIdentity
 * - `transaction`   (Keeper only) the record holds the new key in a rotation transaction not yet finalized
 * - `save`          the record holds the new key (Keeper: the transaction is finalized)
 * - `delete-after`  an old key was deleted after the save
 * - `deactivate`    an old key was deactivated after the save (graceful)
 * A step that occurs several times (several deletions) crashes at its first occurrence.
 */
import { lstatSync, readFileSync } from "node:fs";

export const CRASH_STEPS = [
  "intent",
  "delete-before",
  "create",
  "journal",
  "verify",
  "transaction",
  "save",
  "delete-after",
  "deactivate",
] as const;

export type CrashStep = (typeof CRASH_STEPS)[number];

export const CRASH_ENV = "REKEY_TEST_CRASH_AT";
export const TEST_HOOKS_ENV = "REKEY_TEST_HOOKS";
export const TEST_HOOKS_MAGIC = "rekey test hooks: this process may kill itself on purpose\n";

/** True only when REKEY_TEST_HOOKS names a valid test switch (see the file comment). */
export function testHooksEnabled(env: Record<string, string | undefined>): boolean {
  const path = env[TEST_HOOKS_ENV];
  if (!path) return false;
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.size !== Buffer.byteLength(TEST_HOOKS_MAGIC)) return false;
    if (process.platform !== "win32" && (st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0))
      return false;
    return readFileSync(path, "utf8") === TEST_HOOKS_MAGIC;
  } catch {
    return false;
  }
}

export type Checkpoint = (step: CrashStep) => void;

export function makeCheckpoint(
  env: Record<string, string | undefined>,
  hook?: ((step: CrashStep) => void) | undefined,
): Checkpoint {
  // Checked once per rotation, and only when the crash variable is there: production pays nothing.
  const crashAt = env[CRASH_ENV] && testHooksEnabled(env) ? env[CRASH_ENV] : undefined;
  return (step) => {
    hook?.(step);
    if (crashAt === step) process.kill(process.pid, "SIGKILL");
  };
}
