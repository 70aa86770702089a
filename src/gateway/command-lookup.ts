/**
 * Does a script's command exist? A post-rotation script whose interpreter is missing fails at every
 * rotation (a failed delivery); `rekey record script add` checks at once and warns, so the mistake is seen
 * when it is made, not at 4 a.m.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** The executable `command` (its first word) resolves to on `pathEnv`, or undefined when none does. */
export function findCommand(command: string, pathEnv: string | undefined): string | undefined {
  const word = command.trim().split(/\s+/)[0] ?? "";
  if (!word) return undefined;
  if (word.includes("/")) return isExecutable(word) ? word : undefined;
  for (const dir of (pathEnv ?? "").split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, word);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    const st = statSync(path);
    // Root passes access(X_OK) on some systems for any file: require an execute bit too.
    if (!st.isFile() || (st.mode & 0o111) === 0) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
