/**
 * Where the KSM config is (no SDK import here: the CLI resolves REKEY_VAULT with this before it knows whether
 * it needs Keeper at all).
 */
import { homedir } from "node:os";
import { resolve } from "node:path";

export const DEFAULT_KSM_CONFIG = "/etc/keeper-gateway/gateway-config.json";

/**
 * Which config file to use: `--ksm-config PATH`, else KSM_CONFIG_FILE, else the Gateway's default.
 *
 * @example
 * resolveKsmConfigPath({ flag: opts.ksmConfig, env: process.env }) // "/etc/keeper-gateway/gateway-config.json"
 */
export function resolveKsmConfigPath(
  opts: { flag?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): string {
  const env = opts.env ?? process.env;
  const chosen = opts.flag || env.KSM_CONFIG_FILE || DEFAULT_KSM_CONFIG;
  return resolve(chosen === "~" || chosen.startsWith("~/") ? homedir() + chosen.slice(1) : chosen);
}

/**
 * `REKEY_VAULT=keeper:PATH` (or `keeper:` alone for the default config) → the config path; undefined for any
 * other scheme. The spec is never echoed in errors.
 */
export function keeperVaultConfigPath(
  spec: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const m = /^keeper:(.*)$/i.exec(spec.trim());
  if (!m) return undefined;
  const path = (m[1] ?? "").replace(/^\/\/(?=\/)/, "");
  return resolveKsmConfigPath({ flag: path || undefined, env });
}
