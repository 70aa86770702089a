/**
 * rekey's home directory, computed once for every part that needs it (the local vault, the Keeper state,
 * the AWS profile writer): `REKEY_HOME`, else `~/.rekey` (HOME from the given environment, else the OS's).
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export function rekeyHome(env: Record<string, string | undefined>): string {
  return resolve(env.REKEY_HOME || join(env.HOME || homedir(), ".rekey"));
}
