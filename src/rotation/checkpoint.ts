/**
 * Step boundaries of a rotation, and the test-only crash hook. With `REKEY_TEST_CRASH_AT=<step>` in
 * the environment, the process kills itself with SIGKILL right after that step (no cleanup, no
 * finally blocks: a real crash), so a test can check that the next run converges.
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

export type Checkpoint = (step: CrashStep) => void;

export function makeCheckpoint(
  env: Record<string, string | undefined>,
  hook?: ((step: CrashStep) => void) | undefined,
): Checkpoint {
  const crashAt = env[CRASH_ENV];
  return (step) => {
    hook?.(step);
    if (crashAt === step) process.kill(process.pid, "SIGKILL");
  };
}
