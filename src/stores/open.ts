/**
 * The CLI's way into the vault: which vault the environment names, how it is unlocked, and `rekey init`.
 *
 * Environment:
 * - REKEY_HOME: directory of the local vault (`vault.db`), default `~/.rekey`.
 * - REKEY_VAULT: picks the backend. `sqlite:PATH` or a plain PATH: the local vault at PATH.
 *   `keeper:PATH_TO_KSM_CONFIG` (or `keeper:` for KSM_CONFIG_FILE, GATEWAY_CONFIG or the Keeper Gateway's
 *   config files, ksm-config-path.ts): a Keeper vault
 *   through Keeper Secrets Manager, reached through the async port (`openDefaultAsyncVault`), as every
 *   command is; what a backend cannot do is refused by its capability flags (vault/async-store.ts).
 *   `postgres://USER:PASSWORD@HOST:PORT/DB` (or `postgresql://`): a vault in PostgreSQL (stores/postgres/),
 *   unlocked like the local vault, also through the async port. The URL is never echoed: messages name it
 *   without its password. Other schemes are refused.
 * - REKEY_KEY_FILE / REKEY_PASSPHRASE: how to unlock (see keys.ts).
 * - REKEY_EXPECT_HEAD_FILE: optional anchor of the local vault's signed head (sqlite-open.ts, OpenVaultOptions).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { conflict, RekeyError, usageError } from "../errors.js";
import { rekeyHome } from "../home.js";
import type { Secret } from "../secret.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { resolveUnlockSource, type ScryptParams } from "../vault/keys.js";
import { keeperVaultSpec } from "./keeper/ksm-config-path.js";
import { isPostgresUrl, postgresDisplayName } from "./postgres/pg-url.js";
import { asyncVaultStore } from "./sqlite/async-adapter.js";
import type { VaultStore } from "./sqlite/vault-store.js";

export type VaultLocation =
  | { backend: "sqlite"; path: string }
  /**
   * A Keeper vault, through the KSM config at `configPath` (keeper:PATH, else KSM_CONFIG_FILE); without one,
   * the config is looked for when the vault is opened (GATEWAY_CONFIG, the Keeper Gateway's files).
   */
  | { backend: "keeper"; configPath?: string }
  /**
   * A PostgreSQL vault: `url` goes to the client only. `path` is the URL without its password: what messages
   * name, and usable as REKEY_VAULT where the password comes from PGPASSWORD or ~/.pgpass.
   */
  | { backend: "postgres"; url: string; path: string };

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]+):/; // 2+ chars, so a Windows drive letter ("C:") is a path

/** Where the environment says the vault is. Never echoes REKEY_VAULT (a future URL may hold credentials). */
export function resolveVaultLocation(env: NodeJS.ProcessEnv = process.env): VaultLocation {
  const spec = env.REKEY_VAULT;
  if (!spec) return { backend: "sqlite", path: defaultPath(env) };
  let path = spec;
  const scheme = SCHEME_RE.exec(spec)?.[1];
  if (scheme !== undefined) {
    if (scheme.toLowerCase() === "keeper") {
      return { backend: "keeper", ...keeperVaultSpec(spec, env) };
    }
    if (isPostgresUrl(spec)) return { backend: "postgres", url: spec, path: postgresDisplayName(spec) };
    if (scheme.toLowerCase() !== "sqlite") {
      throw usageError(
        `the vault backend "${scheme}" named by REKEY_VAULT is not available yet`,
        "unset REKEY_VAULT to use the local vault in $REKEY_HOME, or set REKEY_VAULT=sqlite:PATH, keeper:KSM_CONFIG or postgres://USER:PASSWORD@HOST:PORT/DB",
      );
    }
    path = spec.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, ""); // sqlite:PATH or sqlite:///abs/path
    if (!path)
      throw usageError("REKEY_VAULT=sqlite: names no file", "set REKEY_VAULT=sqlite:/path/to/vault.db");
  }
  if (path === "~" || path.startsWith("~/")) path = homedir() + path.slice(1);
  return { backend: "sqlite", path: resolve(path) };
}

function defaultPath(env: NodeJS.ProcessEnv): string {
  return join(rekeyHome(env), "vault.db");
}

export interface OpenDefaultVaultOptions {
  env?: NodeJS.ProcessEnv;
  /** True when we may prompt on the terminal for the passphrase. */
  interactive: boolean;
  promptPassphrase?: () => Promise<Secret>;
  /** The local vault's open check (sqlite-open.ts, OpenVaultOptions.check); other backends have none. */
  check?: "full" | "scoped";
}

/**
 * Open and unlock the vault the environment names. The passphrase is asked for (if needed) only after the
 * file is known to be a vault.
 *
 * @example
 * const store = await openDefaultVault({ env: process.env, interactive: process.stdin.isTTY === true });
 */
export async function openDefaultVault(opts: OpenDefaultVaultOptions): Promise<VaultStore> {
  const env = opts.env ?? process.env;
  const path = localVaultPath(env, "this command");
  const { openVault } = await import("./sqlite/sqlite-open.js");
  return openVault(
    path,
    () =>
      resolveUnlockSource(env, {
        interactive: opts.interactive,
        vaultPath: path,
        ...(opts.promptPassphrase ? { promptPassphrase: opts.promptPassphrase } : {}),
      }),
    {
      ...(env.REKEY_EXPECT_HEAD_FILE ? { expectHeadFile: env.REKEY_EXPECT_HEAD_FILE } : {}),
      ...(opts.check ? { check: opts.check } : {}),
    },
  );
}

/** The local vault's path, or a clear refusal when REKEY_VAULT names a Keeper or PostgreSQL vault. */
function localVaultPath(env: NodeJS.ProcessEnv, what: string): string {
  const location = resolveVaultLocation(env);
  if (location.backend === "postgres") {
    throw usageError(
      `REKEY_VAULT names a PostgreSQL vault (${location.path}), and ${what} works only on rekey's local vault`,
      "this command opens the local vault directly; commands on the async store (rotate, repair, gateway, history, status) work on PostgreSQL; unset REKEY_VAULT for the local vault",
    );
  }
  if (location.backend === "keeper") {
    throw usageError(
      `REKEY_VAULT names a Keeper vault, and ${what} works only on rekey's local vault`,
      "only rekey init, vault backup and vault restore need the local SQLite file (a Keeper vault is made and backed up in Keeper); unset REKEY_VAULT for the local vault",
    );
  }
  return location.path;
}

/**
 * Open the vault the environment names as the async port: the local vault (adapted) or a Keeper vault
 * (REKEY_VAULT=keeper:PATH, read and saved through KSM; journal, locks and audit under $REKEY_HOME/keeper).
 *
 * @example
 * const store = await openDefaultAsyncVault({ env: process.env, interactive: false });
 * await rotateRecord(store, "alice (AWS)");
 */
export async function openDefaultAsyncVault(opts: OpenDefaultVaultOptions): Promise<AsyncVaultStore> {
  const env = opts.env ?? process.env;
  const location = resolveVaultLocation(env);
  if (location.backend === "keeper") {
    const [{ openKeeperVault }, { locateKsmConfig }] = await Promise.all([
      import("./keeper/ksm-store.js"),
      import("./keeper/ksm-config-path.js"),
    ]);
    const config = locateKsmConfig({ flag: location.configPath, flagName: "REKEY_VAULT=keeper:PATH", env });
    return openKeeperVault({ configPath: config, env });
  }
  if (location.backend === "postgres") {
    const { openPostgresVault } = await import("./postgres/pg-open.js");
    return openPostgresVault(location.url, () =>
      resolveUnlockSource(env, {
        interactive: opts.interactive,
        vaultPath: location.path,
        ...(opts.promptPassphrase ? { promptPassphrase: opts.promptPassphrase } : {}),
      }),
    );
  }
  // The CLI's store groups its commits (a gateway's concurrent rotations share their disk waits).
  return asyncVaultStore(await openDefaultVault(opts), { groupCommits: true });
}

export interface InitDefaultVaultOptions {
  env?: NodeJS.ProcessEnv;
  interactive: boolean;
  /** Create this key file; defaults to REKEY_KEY_FILE. */
  keyFile?: string;
  /** Use `keyFile` if it already exists (default false: an existing key file is refused). */
  useExistingKeyFile?: boolean;
  /** Protect with a passphrase too (default true); false needs a key file. */
  passphrase?: boolean;
  /** Ask for the new passphrase (called twice to confirm); default: a hidden prompt on the terminal. */
  promptPassphrase?: (prompt: string) => Promise<Secret>;
  /** scrypt cost (tests only). */
  kdf?: Partial<ScryptParams>;
  actor?: string;
}

export interface InitDefaultVaultResult {
  path: string;
  /** The key file that unlocks the vault, if any. */
  keyFile: string | undefined;
  /** True if the key file was created now (false: an existing key file was used). */
  keyFileCreated: boolean;
}

/** `rekey init`: create the vault the environment names, with a passphrase and/or a key file. */
export async function initDefaultVault(opts: InitDefaultVaultOptions): Promise<InitDefaultVaultResult> {
  const env = opts.env ?? process.env;
  const location = resolveVaultLocation(env);
  const path =
    location.backend === "postgres"
      ? location.path
      : localVaultPath(env, "rekey init (a Keeper vault is made in Keeper)");
  if (location.backend !== "postgres" && existsSync(path)) {
    // Checked before asking for a passphrase; initVault checks again, atomically.
    throw conflict(
      `a vault already exists at ${path}`,
      "use it, or choose another REKEY_HOME; to start over move the file away",
    );
  }
  const keyFileOpt = opts.keyFile || env.REKEY_KEY_FILE;
  const keyFile = keyFileOpt ? resolve(keyFileOpt) : undefined;
  const wantPassphrase = opts.passphrase !== false;
  if (!wantPassphrase && !keyFile) {
    throw usageError(
      "a vault without a passphrase needs a key file",
      "give --key-file PATH (or set REKEY_KEY_FILE)",
    );
  }
  // Reusing a key file nobody asked for could tie the new vault to a key someone else made or kept.
  if (keyFile && existsSync(keyFile) && !opts.useExistingKeyFile) {
    throw usageError(
      `key file ${keyFile} already exists; rekey init uses an existing key file only when asked`,
      "pass --use-existing-key-file to protect the new vault with it, or choose a new path for --key-file",
    );
  }
  const passphrase = wantPassphrase ? await newPassphrase(env, opts, path) : undefined;
  const keyFileCreated = keyFile !== undefined && !existsSync(keyFile);
  const initOpts = {
    ...(passphrase ? { passphrase } : {}),
    ...(keyFile ? { keyFile } : {}),
    ...(opts.kdf ? { kdf: opts.kdf } : {}),
    actor: opts.actor ?? "rekey init",
  };
  if (location.backend === "postgres") {
    const { initPostgresVault } = await import("./postgres/pg-open.js");
    await (await initPostgresVault(location.url, initOpts)).close();
  } else {
    const { initVault } = await import("./sqlite/sqlite-open.js");
    (await initVault(path, initOpts)).close();
  }
  return { path, keyFile, keyFileCreated };
}

async function newPassphrase(
  env: NodeJS.ProcessEnv,
  opts: InitDefaultVaultOptions,
  path: string,
): Promise<Secret> {
  const { assertStrongPassphrase } = await import("../vault/passphrase-strength.js");
  if (env.REKEY_PASSPHRASE) {
    const { Secret } = await import("../secret.js");
    const given = new Secret(env.REKEY_PASSPHRASE);
    assertStrongPassphrase(given, `the new vault ${path} (REKEY_PASSPHRASE)`);
    return given;
  }
  if (!opts.interactive) {
    throw new RekeyError("auth", `cannot ask for a passphrase for the new vault ${path}: no TTY`, {
      hint: "set REKEY_PASSPHRASE, or use --no-passphrase with --key-file PATH",
    });
  }
  const ask =
    opts.promptPassphrase ?? (async (p: string) => (await import("../vault/prompt.js")).promptHidden(p));
  const first = await ask(`New passphrase for ${path}: `);
  if (first.length === 0) throw usageError("the passphrase is empty", "choose a non-empty passphrase");
  assertStrongPassphrase(first, `the new vault ${path}`);
  const again = await ask("Repeat the passphrase: ");
  if (!first.equals(again))
    throw usageError("the two passphrases differ", "run rekey init again and type the same passphrase twice");
  return first;
}
