/**
 * `rekey credential-process RECORD`: the record's current key as the JSON an AWS `credential_process`
 * helper prints (AWS CLI, boto3, the SDKs). Nothing else goes to stdout: the SDK parses all of it.
 *
 * Expiration is what makes a rotation reach a running application: SDKs cache the key until shortly
 * before it (the JS SDK v3: 5 minutes; botocore: 15 minutes, then it asks on every call), then run this
 * command again and get the key the vault holds then.
 */
import { usageError } from "../../errors.js";
import { parseDuration } from "../../rotation/settings.js";
import { readCurrentKey } from "../current-key.js";
import type { CommandRun } from "../registry.js";

export const DEFAULT_TTL = "15m";
const MIN_TTL_MS = 60_000;

/** The credential_process answer (pure). Expiration without milliseconds: every SDK's parser takes it. */
export function credentialProcessJson(
  key: { accessKeyId: string; secret: { reveal(): string } },
  expiresAt: Date,
): string {
  return JSON.stringify({
    Version: 1,
    AccessKeyId: key.accessKeyId,
    SecretAccessKey: key.secret.reveal(),
    Expiration: expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
  });
}

/** `--ttl` in milliseconds: at least a minute (an SDK rejects an Expiration already past). */
export function ttlOption(value: unknown): number {
  const text = value === undefined ? DEFAULT_TTL : String(value);
  const ms = parseDuration(text, "--ttl");
  if (ms < MIN_TTL_MS) {
    throw usageError(
      `--ttl ${text} is too short: an SDK must be able to use the key before it expires`,
      "give at least 1m, e.g. --ttl 15m or --ttl 1h",
    );
  }
  return ms;
}

export const run: CommandRun = async (ctx, [ref], opts) => {
  const ttlMs = ttlOption(opts.ttl);
  const key = await readCurrentKey(ctx, ref!, "credential-process");
  ctx.stdout.write(`${credentialProcessJson(key, new Date(Date.now() + ttlMs))}\n`);
};
