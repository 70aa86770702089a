/**
 * The gateway configuration's layers (config.ts), without its zod schema: the environment's and the flags'
 * layers, and what a run that sets none of them gets. `rekey rotate RECORD` reads its configuration here:
 * with no file, variable or flag set it is the defaults, and the schema (with zod) is not loaded at all.
 */
import type { GatewayConfig, LoadedConfig } from "./config.js";
import { DEFAULT_ROTATION_RETRY } from "./history-model.js";

/** The flags `rekey gateway` passes (strings as Commander gives them). */
export interface GatewayFlags {
  config?: string | undefined;
  tick?: string | undefined;
  maxConcurrent?: string | undefined;
  maxPerAccount?: string | undefined;
  jitter?: string | undefined;
  scriptTimeout?: string | undefined;
  shutdownTimeout?: string | undefined;
  endpointUrl?: string | undefined;
  region?: string | undefined;
  verify?: boolean | undefined;
  verifyTimeout?: string | undefined;
}

/** True when a file, an environment variable or a flag sets something: then the schema must check it. */
export function gatewayConfigGiven(flags: GatewayFlags, env: Record<string, string | undefined>): boolean {
  if (flags.config ?? (env.REKEY_GATEWAY_CONFIG || undefined)) return true;
  return Object.keys(envLayer(env)).length > 0 || Object.keys(flagLayer(flags)).length > 0;
}

/**
 * What gatewayConfigSchema gives for `{}` (config.test.ts checks that they agree): a new object each time, as
 * a parse would return.
 */
export function defaultGatewayConfig(): GatewayConfig {
  return {
    tickSeconds: 30,
    indexVerifySeconds: 3600,
    maxConcurrent: 32,
    maxPerAccount: 16,
    jitterSeconds: 60,
    retry: {
      maxAttempts: DEFAULT_ROTATION_RETRY.maxAttempts,
      baseDelaySeconds: DEFAULT_ROTATION_RETRY.baseDelayMs / 1000,
      maxDelaySeconds: DEFAULT_ROTATION_RETRY.maxDelayMs / 1000,
    },
    scriptTimeoutSeconds: 300,
    shutdownTimeoutSeconds: 120,
    leaseTtlSeconds: 600,
    throttle: { pauseSeconds: 0.5, recoverySeconds: 10 },
    webhooks: [],
    engine: {},
    logLevel: "info",
    http: {},
  };
}

/** loadGatewayConfig (config.ts), loaded only when something is configured; else the defaults. */
export async function loadGatewayConfigLazily(
  flags: GatewayFlags,
  env: Record<string, string | undefined>,
): Promise<LoadedConfig> {
  if (!gatewayConfigGiven(flags, env))
    return { config: defaultGatewayConfig(), file: undefined, warnings: [] };
  const { loadGatewayConfig } = await import("./config.js");
  return loadGatewayConfig(flags, env);
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  return Number(v); // NaN fails the schema with the source named
}

export function envLayer(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (key: string, v: number | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set("tickSeconds", num(env.REKEY_GATEWAY_TICK_SECONDS));
  set("maxConcurrent", num(env.REKEY_GATEWAY_MAX_CONCURRENT));
  set("maxPerAccount", num(env.REKEY_GATEWAY_MAX_PER_ACCOUNT));
  set("jitterSeconds", num(env.REKEY_GATEWAY_JITTER_SECONDS));
  if (env.REKEY_GATEWAY_WEBHOOK_URL) {
    out.webhooks = [
      { url: env.REKEY_GATEWAY_WEBHOOK_URL, format: env.REKEY_GATEWAY_WEBHOOK_FORMAT || "json" },
    ];
  }
  return out;
}

export function flagLayer(f: GatewayFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const engine: Record<string, unknown> = {};
  const set = (target: Record<string, unknown>, key: string, v: unknown) => {
    if (v !== undefined) target[key] = v;
  };
  set(out, "tickSeconds", num(f.tick));
  set(out, "maxConcurrent", num(f.maxConcurrent));
  set(out, "maxPerAccount", num(f.maxPerAccount));
  set(out, "jitterSeconds", num(f.jitter));
  set(out, "scriptTimeoutSeconds", num(f.scriptTimeout));
  set(out, "shutdownTimeoutSeconds", num(f.shutdownTimeout));
  set(engine, "endpointUrl", f.endpointUrl);
  set(engine, "region", f.region);
  set(engine, "verify", f.verify);
  set(engine, "verifyTimeoutSeconds", num(f.verifyTimeout));
  if (Object.keys(engine).length > 0) out.engine = engine;
  return out;
}

/** `b` over `a`, objects merged key by key (arrays replaced). */
export function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      isPlainObject(prev) && isPlainObject(v)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function isPlainObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Milliseconds helpers for the rest of the gateway. */
export const ms = (seconds: number) => Math.round(seconds * 1000);
