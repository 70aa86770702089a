/** Test helper: the environment that lets a child process honour the crash hook (checkpoint.ts). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CRASH_ENV, type CrashStep, TEST_HOOKS_ENV, TEST_HOOKS_MAGIC } from "../rotation/checkpoint.js";

let switchFile: string | undefined;

/** The test switch: a 0600 file of ours with the magic line, made once per test process. */
export function testHooksFile(): string {
  if (!switchFile) {
    const file = join(mkdtempSync(join(tmpdir(), "rekey-test-hooks-")), "switch");
    writeFileSync(file, TEST_HOOKS_MAGIC, { mode: 0o600 });
    switchFile = file;
  }
  return switchFile;
}

/** `{REKEY_TEST_CRASH_AT: step, REKEY_TEST_HOOKS: <switch file>}`: the child SIGKILLs itself after `step`. */
export function crashEnv(step: CrashStep | string): Record<string, string> {
  return { [CRASH_ENV]: step, [TEST_HOOKS_ENV]: testHooksFile() };
}
