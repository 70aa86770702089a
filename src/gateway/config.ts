/**
 * The gateway's configuration, parsed once at start-up with one zod schema. Sources, later ones winning:
 * defaults < the JSON file (`--config FILE`, else REKEY_GATEWAY_CONFIG) < environment variables < flags.
 *
 * Durations are seconds (fractions allowed) everywhere except inside a webhook entry, which keeps
 * notify.ts's own millisecond fields. Webhook URLs and headers can be secrets (Slack's URL is one): they
 * come from the file or the environment, never from argv.
 */

import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { usageError } from "../errors.js";
import { parseJsonSafely } from "../json.js";
import { envLayer, flagLayer, type GatewayFlags, merge } from "./config-layers.js";
import { DEFAULT_ROTATION_RETRY } from "./history-model.js";
import { webhookConfigSchema } from "./notify.js";

const secs = (def: number) => z.number().positive().default(def);

export const gatewayConfigSchema = z
  .object({
    /** How often due records are looked for. */
    tickSeconds: z.number().min(0.05).max(3600).default(30),
    /**
     * How often the gateway decrypts and re-plans every record to check its schedule index (SQLite and
     * PostgreSQL vaults): the bound on how late a wrong index row can make a run (schedule-index.ts).
     */
    indexVerifySeconds: z
      .number()
      .min(1)
      .max(7 * 86_400)
      .default(3600),
    /** Rotations running at once, overall. */
    maxConcurrent: z.number().int().min(1).max(1000).default(32),
    /**
     * Rotations running at once per AWS account. The account's request quota is kept by pacing (pacer.ts),
     * not by this: enough rotations in flight to keep the pace busy while each waits on IAM and the vault.
     */
    maxPerAccount: z.number().int().min(1).max(1000).default(16),
    /**
     * A scheduled run starts up to this much after its slot (stable per record and slot), to spread a
     * fleet whose slots coincide. For `every <n>` schedules it is capped at a tenth of the interval.
     */
    jitterSeconds: z.number().min(0).max(86_400).default(60),
    /** A failed attempt is retried with backoff, at most `maxAttempts` tries per slot. */
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(20).default(DEFAULT_ROTATION_RETRY.maxAttempts),
        baseDelaySeconds: z
          .number()
          .min(0)
          .default(DEFAULT_ROTATION_RETRY.baseDelayMs / 1000),
        maxDelaySeconds: z
          .number()
          .min(0)
          .default(DEFAULT_ROTATION_RETRY.maxDelayMs / 1000),
      })
      .strict()
      .prefault({}),
    /** Per post-rotation script; then SIGTERM, then SIGKILL. */
    scriptTimeoutSeconds: secs(300),
    /** On SIGTERM/SIGINT, how long in-flight rotations may take to finish before the gateway exits. */
    shutdownTimeoutSeconds: secs(120),
    /** The per-record gateway lease (renewed while the attempt runs; a dead holder's lease expires). */
    leaseTtlSeconds: z.number().min(5).default(600),
    /**
     * How an account's AWS requests are paced (pacer.ts): per account and service (IAM, STS), at a rate
     * learned from throttling.
     */
    throttle: z
      .object({
        /**
         * A ceiling per account and service, requests/s (and the pace from the start): leave room for
         * other tools of the account. Default: none, the pace is learned from AWS's throttling.
         */
        maxRequestsPerSecond: z.number().positive().max(100_000).optional(),
        /** Ignored (the pause on throttling this tuned is gone: requests are paced instead). */
        pauseSeconds: secs(0.5),
        /** Ignored (as pauseSeconds). */
        recoverySeconds: secs(10),
      })
      .strict()
      .prefault({}),
    webhooks: z.array(webhookConfigSchema).default([]),
    /** Passed to the rotation engine for every rotation. */
    engine: z
      .object({
        /** IAM and STS endpoint (e.g. the sandbox); AWS_ENDPOINT_URL_IAM/_STS also work. */
        endpointUrl: z.url().optional(),
        region: z.string().min(1).optional(),
        /** Verify each new key before old keys go (default: the strategy's). */
        verify: z.boolean().optional(),
        verifyTimeoutSeconds: z.number().positive().optional(),
        requestTimeoutSeconds: z.number().positive().optional(),
        /** A whole rotation's deadline (default 600 s): past it, the step in flight is finished or undone. */
        deadlineSeconds: z.number().positive().optional(),
        /** IAM's consistency window (default 5 s): the wait before the listing that settles a lost create. */
        consistencyWindowSeconds: z.number().min(0).optional(),
        /** Retries of single AWS calls (Throttling, 5xx, network), inside one attempt. */
        awsRetry: z
          .object({
            maxAttempts: z.number().int().min(1).max(50).optional(),
            baseDelayMs: z.number().min(0).optional(),
            maxDelayMs: z.number().min(0).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** pino level; REKEY_LOG_LEVEL and --verbose win. */
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /**
     * Serve the HTTP API, dashboard and metrics here ("HOST:PORT"; `--listen` wins). Tokens never live in
     * this file: REKEY_API_TOKEN or `http.tokenFile`.
     */
    listen: z.string().min(3).optional(),
    http: z
      .object({
        /** NAME:TOKEN lines (the name is the audit actor); `--api-token-file` wins. */
        tokenFile: z.string().min(1).optional(),
        tls: z
          .object({ cert: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
        /** /metrics without a token, on loopback only. */
        publicMetrics: z.boolean().optional(),
        /** Plain HTTP off loopback (behind a TLS proxy on the same host). */
        allowInsecure: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

export interface LoadedConfig {
  config: GatewayConfig;
  /** The file read, if any. */
  file: string | undefined;
  /** Things worth a warning (never secrets). */
  warnings: string[];
}

/** Where each setting can come from, for error messages: [path, env var, flag]. */
const SOURCES: Array<[string, string | undefined, string | undefined]> = [
  ["tickSeconds", "REKEY_GATEWAY_TICK_SECONDS", "--tick"],
  ["maxConcurrent", "REKEY_GATEWAY_MAX_CONCURRENT", "--max-concurrent"],
  ["maxPerAccount", "REKEY_GATEWAY_MAX_PER_ACCOUNT", "--max-per-account"],
  ["jitterSeconds", "REKEY_GATEWAY_JITTER_SECONDS", "--jitter"],
  ["scriptTimeoutSeconds", undefined, "--script-timeout"],
  ["shutdownTimeoutSeconds", undefined, "--shutdown-timeout"],
  ["engine.endpointUrl", undefined, "--endpoint-url"],
  ["engine.region", undefined, "--region"],
  ["engine.verifyTimeoutSeconds", undefined, "--verify-timeout"],
  ["webhooks", "REKEY_GATEWAY_WEBHOOK_URL", undefined],
];

/**
 * Read and validate the configuration from a file, the environment and flags.
 * @throws RekeyError (usage) naming the file, variable or flag at fault.
 */
export function loadGatewayConfig(
  flags: GatewayFlags = {},
  env: Record<string, string | undefined> = process.env,
): LoadedConfig {
  const warnings: string[] = [];
  const file = flags.config ?? (env.REKEY_GATEWAY_CONFIG || undefined);
  let fromFile: Record<string, unknown> = {};
  if (file) {
    fromFile = readConfigFile(file, warnings);
    const checked = gatewayConfigSchema.safeParse(fromFile);
    if (!checked.success) throw invalid(checked.error, `gateway config file ${file}`);
  }
  const layered = merge(merge(fromFile, envLayer(env)), flagLayer(flags));
  const parsed = gatewayConfigSchema.safeParse(layered);
  if (!parsed.success) throw invalid(parsed.error, "gateway settings");
  return { config: parsed.data, file, warnings };
}

function readConfigFile(file: string, warnings: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw usageError(
      `cannot read gateway config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "give an existing JSON file with --config (or REKEY_GATEWAY_CONFIG)",
    );
  }
  // Not the parser's message: it may quote the file, and the file may hold a webhook token.
  const value = parseJsonSafely(text, `gateway config file ${file}`, {
    hint: "fix the JSON syntax at that position",
  });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw usageError(`gateway config file ${file} is not a JSON object`, 'e.g. {"tickSeconds": 30}');
  }
  const o = value as Record<string, unknown>;
  if (Array.isArray(o.webhooks) && o.webhooks.length > 0 && process.platform !== "win32") {
    try {
      if ((statSync(file).mode & 0o077) !== 0) {
        warnings.push(
          `gateway config file ${file} holds webhooks (their URLs and headers can be secrets) and is readable by others: chmod 600 ${file}`,
        );
      }
    } catch {
      // read a moment ago; a stat failure only loses the warning
    }
  }
  return o;
}

function invalid(error: z.ZodError, where: string) {
  const problems = error.issues.map((i) => {
    const path = i.path.join(".");
    const src = SOURCES.find(([p]) => path === p || path.startsWith(`${p}.`));
    const also = src ? ` (${[src[2], src[1]].filter(Boolean).join(" / ")})` : "";
    // Never the received value: a webhook URL may be a token.
    return `${path || "(top level)"}${also}: ${i.message}`;
  });
  return usageError(
    `invalid ${where}: ${problems.join("; ")}`,
    "see README, section The gateway: `rekey gateway`, for every setting",
  );
}

export { type GatewayFlags, ms } from "./config-layers.js";
