/**
 * `rekey doctor`: each post-rotation script a record would run (its own, then its PAM configuration's, as
 * the gateway runs them) has its command on PATH. A missing interpreter makes every rotation a failed
 * delivery: the key is rotated, but the applications never get it.
 */
import { findCommand } from "../gateway/command-lookup.js";
import { listScripts } from "../gateway/scripts.js";
import type { PreflightLine } from "../rotation/preflight.js";
import type { StoredRecord } from "../vault/store.js";

export function scriptChecks(
  user: StoredRecord,
  configuration: StoredRecord | undefined,
  pathEnv: string | undefined,
): PreflightLine[] {
  const out: PreflightLine[] = [];
  for (const owner of [user, ...(configuration ? [configuration] : [])]) {
    for (const [i, s] of listScripts(owner.record).entries()) {
      const name = `script ${owner.uid}#${i + 1} (file ${s.fileRef})`;
      const found = s.command.trim() ? findCommand(s.command, pathEnv) : undefined;
      if (found)
        out.push({
          status: "ok",
          area: "scripts",
          check: name,
          detail: `command "${s.command}" is ${found}`,
        });
      else {
        out.push({
          status: "FAIL",
          area: "scripts",
          check: name,
          detail: `command "${s.command}" is not on PATH; every rotation would fail to deliver the key`,
          fix: `install it (or give its absolute path): \`rekey record script rm\` then \`rekey record script add --command ...\` on ${owner.uid}`,
        });
      }
    }
  }
  return out;
}
