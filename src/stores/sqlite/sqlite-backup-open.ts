/**
 * Backup and restore open two vault files with one unlock (the live vault and the copy): the passphrase or
 * key file is resolved once, as every command resolves it (REKEY_KEY_FILE, REKEY_PASSPHRASE, else the
 * prompt), so the user is asked at most once.
 */
import { existsSync } from "node:fs";
import { notFound, usageError } from "../../errors.js";
import { type ResolveUnlockOptions, resolveUnlockSource, type UnlockSource } from "../../vault/keys.js";
import { resolveVaultLocation } from "../open.js";

export interface LocalVaultAccess {
  /** The live vault file. */
  path: string;
  unlock: UnlockSource;
  /** REKEY_EXPECT_HEAD_FILE, when set. */
  expectHeadFile: string | undefined;
}

/**
 * The local vault the environment names, and how to unlock it; a Keeper vault is refused, and with
 * `mustExist` a missing vault (before anyone is asked for a passphrase).
 */
export async function localVaultAccess(
  env: NodeJS.ProcessEnv,
  command: string,
  opts: Pick<ResolveUnlockOptions, "interactive"> & { mustExist: boolean },
): Promise<LocalVaultAccess> {
  const location = resolveVaultLocation(env);
  if (location.backend !== "sqlite") {
    throw usageError(
      `${command} works only on rekey's local vault, and REKEY_VAULT names a Keeper vault`,
      "a Keeper vault is backed up by Keeper; unset REKEY_VAULT for the local vault",
    );
  }
  if (opts.mustExist && !existsSync(location.path)) {
    throw notFound(
      `no vault at ${location.path}`,
      "create one with `rekey init`, or set REKEY_HOME to the directory that holds your vault.db",
    );
  }
  const unlock = await resolveUnlockSource(env, { interactive: opts.interactive, vaultPath: location.path });
  return { path: location.path, unlock, expectHeadFile: env.REKEY_EXPECT_HEAD_FILE || undefined };
}
