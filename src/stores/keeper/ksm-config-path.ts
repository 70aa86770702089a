/**
 * Where the KSM config is (no SDK import here: the CLI resolves REKEY_VAULT with this before it knows whether
 * it needs Keeper at all).
 *
 * Lookup order (the first that is set or exists wins; keeper-protocol.md §7 for the Gateway's own places):
 * 1. `--ksm-config PATH` (or `REKEY_VAULT=keeper:PATH`): that file, which must exist.
 * 2. `KSM_CONFIG_FILE`: that file, which must exist.
 * 3. `GATEWAY_CONFIG`: the config itself, base64 of its JSON, as Keeper's Docker and Kubernetes Gateway
 *    get it. It stays in memory: never written to disk, never rewritten.
 * 4. The Keeper Gateway's files: the Linux service's /etc/keeper-gateway/gateway-config.json, then a
 *    user install's ~/.keeper/gateway-config.json (Windows: the service's
 *    C:\ProgramData\KeeperGateway\config\gateway-config.json, then the user's).
 * When none is found, the error lists every place looked at.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { RekeyError } from "../../errors.js";

export const DEFAULT_KSM_CONFIG = "/etc/keeper-gateway/gateway-config.json";

/** The Docker Gateway's variable: base64 of the KSM config JSON. */
export const GATEWAY_CONFIG_VARIABLE = "GATEWAY_CONFIG";

export type KsmConfigSource =
  /** A config file; `via` says how it was chosen (for messages). */
  | { kind: "file"; path: string; via: string }
  /** The config's text from an environment variable (GATEWAY_CONFIG): in memory only. */
  | { kind: "env"; variable: string; text: string };

/** A human name of the source, for messages: the file's path or the variable's name. Never the content. */
export function describeKsmConfigSource(source: KsmConfigSource): string {
  return source.kind === "file" ? source.path : `from the environment variable ${source.variable}`;
}

const expandHome = (p: string, home: string) =>
  resolve(p === "~" || p.startsWith("~/") ? home + p.slice(1) : p);

const homeOf = (env: NodeJS.ProcessEnv) => env.HOME || env.USERPROFILE || homedir();

/** The Keeper Gateway's own config files, in the order they are looked for. */
export function gatewayConfigFiles(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string[] {
  const user = join(homeOf(env), ".keeper", "gateway-config.json");
  if (platform === "win32") {
    const programData = env.ProgramData || env.PROGRAMDATA || "C:\\ProgramData";
    return [join(programData, "KeeperGateway", "config", "gateway-config.json"), user];
  }
  return [DEFAULT_KSM_CONFIG, user];
}

export interface LocateKsmConfigOptions {
  /** `--ksm-config PATH` or the path of `REKEY_VAULT=keeper:PATH`. */
  flag?: string | undefined;
  /** What `flag` came from, for messages (default "--ksm-config"). */
  flagName?: string;
  env?: NodeJS.ProcessEnv;
  /** Tests: the file system check. */
  exists?: (path: string) => boolean;
  platform?: NodeJS.Platform;
}

/**
 * Which KSM config to use (see the lookup order above). An explicitly named file is returned whether or not
 * it exists (reading it says what is wrong); the Gateway's files only when they exist.
 *
 * @example
 * const source = locateKsmConfig({ flag: opts.ksmConfig, env: process.env });
 * // { kind: "env", variable: "GATEWAY_CONFIG", text: "eyJ..." } in Keeper's Docker Gateway
 */
export function locateKsmConfig(opts: LocateKsmConfigOptions = {}): KsmConfigSource {
  const env = opts.env ?? process.env;
  const home = homeOf(env);
  if (opts.flag)
    return { kind: "file", path: expandHome(opts.flag, home), via: opts.flagName ?? "--ksm-config" };
  if (env.KSM_CONFIG_FILE)
    return { kind: "file", path: expandHome(env.KSM_CONFIG_FILE, home), via: "KSM_CONFIG_FILE" };
  const inline = env[GATEWAY_CONFIG_VARIABLE];
  if (inline?.trim()) return { kind: "env", variable: GATEWAY_CONFIG_VARIABLE, text: inline };
  const exists = opts.exists ?? existsSync;
  const files = gatewayConfigFiles(env, opts.platform);
  const found = files.find((f) => exists(f));
  if (found) return { kind: "file", path: found, via: "the Keeper Gateway's config" };
  throw new RekeyError(
    "not-found",
    `no KSM config found: looked at ${opts.flagName ?? "--ksm-config"} (not given), KSM_CONFIG_FILE (not set), ${GATEWAY_CONFIG_VARIABLE} (not set), ${files.join(", ")} (no such file)`,
    {
      hint: `run on the Keeper Gateway's host (or in its container, where ${GATEWAY_CONFIG_VARIABLE} is set), or pass --ksm-config PATH or set KSM_CONFIG_FILE`,
    },
  );
}

/**
 * `REKEY_VAULT=keeper:PATH` → `{ configPath: PATH }`; `keeper:` alone → `{ configPath: KSM_CONFIG_FILE }`, or
 * no path at all (the lookup above runs when the vault is opened); undefined for any other scheme. The spec
 * is never echoed in errors.
 */
export function keeperVaultSpec(
  spec: string,
  env: NodeJS.ProcessEnv = process.env,
): { configPath?: string } | undefined {
  const m = /^keeper:(.*)$/i.exec(spec.trim());
  if (!m) return undefined;
  const path = (m[1] ?? "").replace(/^\/\/(?=\/)/, "") || env.KSM_CONFIG_FILE;
  return path ? { configPath: expandHome(path, homeOf(env)) } : {};
}

/**
 * The config file `--ksm-config` / KSM_CONFIG_FILE name, else the Linux service's file, without looking at
 * GATEWAY_CONFIG or the other places: prefer locateKsmConfig().
 */
export function resolveKsmConfigPath(
  opts: { flag?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): string {
  const env = opts.env ?? process.env;
  return expandHome(opts.flag || env.KSM_CONFIG_FILE || DEFAULT_KSM_CONFIG, homeOf(env));
}
