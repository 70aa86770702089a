/**
 * Webhooks on rotation success and failure. A notice carries ids, names and key ids, never a secret:
 * the body is built from an explicit list of fields, and known secret values are redacted from it
 * once more before it is sent (a failure message could quote something it should not).
 *
 * Delivery: POST, retried with exponential backoff and jitter on network errors, timeouts, 5xx and
 * 429 (honouring Retry-After up to maxDelayMs), a bounded number of times. Other 4xx are final.
 * Redirects are never followed: a 3xx is a final failure naming its status. Following one would send
 * the body and the configured headers (an Authorization token, say) to whatever origin the receiver,
 * or anyone who took over its DNS name, points at.
 * A webhook URL can itself be a secret (Slack's are), so results and errors name only its origin.
 */
import { z } from "zod";
import { redactText, type Secret } from "../secret.js";
import { backoffDelay } from "./backoff.js";

/** "rotation.script-failed": the key was rotated, but a post-rotation script (the delivery) failed. */
/** "rotation.held": an old key is kept because an application still uses it (see the record's status). */
export const ROTATION_EVENTS = [
  "rotation.succeeded",
  "rotation.script-failed",
  "rotation.held",
  "rotation.failed",
] as const;
export type RotationEventName = (typeof ROTATION_EVENTS)[number];

/** What a webhook is told. Never holds a secret. */
export interface RotationNotice {
  event: RotationEventName;
  record: { uid: string; title: string };
  /** The IAM user name. */
  user: string;
  keyIds: { created: string | null; deleted: string[]; deactivated: string[] };
  /** For rotation.failed: what went wrong (a RekeyError message, which never holds secrets). */
  error?: string | undefined;
  /** ISO 8601. */
  at: string;
}

/** One webhook, as configured (parse once at start-up with `webhookConfigSchema.parse`). */
export const webhookConfigSchema = z.object({
  /** http(s) URL. Treated as a secret: never logged whole. */
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), "must be an http(s) URL"),
  /** "json": the notice as is. "slack": `{text, blocks}` for Slack-compatible incoming webhooks. */
  format: z.enum(["json", "slack"]).default("json"),
  /** Which events to send (default all). */
  events: z
    .array(z.enum(ROTATION_EVENTS))
    .min(1)
    .default([...ROTATION_EVENTS]),
  /** Extra headers, e.g. Authorization. Never logged. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Per attempt. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Attempts in all, the first included. */
  maxAttempts: z.number().int().min(1).max(20).default(5),
  baseDelayMs: z.number().int().nonnegative().default(500),
  maxDelayMs: z.number().int().nonnegative().default(30_000),
});
export type WebhookConfig = z.output<typeof webhookConfigSchema>;
export type WebhookConfigInput = z.input<typeof webhookConfigSchema>;

export interface NotifyDeps {
  fetch?: typeof fetch;
  /** Waits between attempts (tests pass a recorder that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Values that must never leave in a body (defence in depth). */
  secrets?: Iterable<string | Secret | undefined>;
}

export interface WebhookResult {
  /** The URL's origin only (the path may be a token). */
  target: string;
  ok: boolean;
  attempts: number;
  /** The last HTTP status, if any answer came. */
  status?: number;
  /** Why it failed, when it did. */
  error?: string;
}

/** The body for `format`: the notice itself, or Slack's `{text, blocks}`. */
export function webhookBody(n: RotationNotice, format: WebhookConfig["format"]): Record<string, unknown> {
  const notice: Record<string, unknown> = {
    event: n.event,
    record: { uid: n.record.uid, title: n.record.title },
    user: n.user,
    keyIds: {
      created: n.keyIds.created,
      deleted: [...n.keyIds.deleted],
      deactivated: [...n.keyIds.deactivated],
    },
    ...(n.error !== undefined ? { error: n.error } : {}),
    at: n.at,
  };
  if (format === "json") return notice;
  const ok = n.event === "rotation.succeeded";
  const e = slackEscape;
  const keys = [
    n.keyIds.created ? `new key \`${e(n.keyIds.created)}\`` : "",
    n.keyIds.deleted.length ? `deleted ${n.keyIds.deleted.map((k) => `\`${e(k)}\``).join(", ")}` : "",
    n.keyIds.deactivated.length
      ? `deactivated ${n.keyIds.deactivated.map((k) => `\`${e(k)}\``).join(", ")}`
      : "",
  ].filter(Boolean);
  const text = ok
    ? `:white_check_mark: rekey rotated the access key of IAM user *${e(n.user)}* (${e(n.record.title)})`
    : n.event === "rotation.script-failed"
      ? `:warning: rekey rotated the access key of IAM user *${e(n.user)}* (${e(n.record.title)}), but a post-rotation script failed`
      : n.event === "rotation.held"
        ? `:hourglass: rekey kept an old access key of IAM user *${e(n.user)}* (${e(n.record.title)}): an application still uses it`
        : `:x: rekey could not rotate the access key of IAM user *${e(n.user)}* (${e(n.record.title)})`;
  const detail = ok
    ? keys.join("; ")
    : `${e(n.error ?? "unknown error")}${keys.length ? `\n${keys.join("; ")}` : ""}`;
  return {
    text: `${text}${detail ? `: ${detail}` : ""}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: detail ? `${text}\n${detail}` : text } },
      { type: "context", elements: [{ type: "mrkdwn", text: `record \`${e(n.record.uid)}\` · ${e(n.at)}` }] },
    ],
  };
}

/** Send one notice to one webhook, with retries. Never throws. */
export async function sendWebhook(
  config: WebhookConfig,
  notice: RotationNotice,
  deps: NotifyDeps = {},
): Promise<WebhookResult> {
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const secrets = [...(deps.secrets ?? [])];
  const target = originOf(config.url);
  const body = redactText(JSON.stringify(webhookBody(notice, config.format)), secrets);
  let last: WebhookResult = { target, ok: false, attempts: 0 };

  for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
    let retryAfterMs: number | undefined;
    let retryable: boolean;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), config.timeoutMs);
    try {
      const res = await doFetch(config.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "rekey-gateway", ...config.headers },
        body,
        signal: controller.signal,
        redirect: "manual",
      });
      await res.arrayBuffer().catch(() => undefined); // free the connection
      if (res.ok) return { target, ok: true, attempts: attempt, status: res.status };
      if (res.status >= 300 && res.status < 400) {
        const error = `HTTP ${res.status}: the webhook answered with a redirect, which is not followed (configure the final URL)`;
        last = { target, ok: false, attempts: attempt, status: res.status, error };
        break;
      }
      retryable = res.status === 429 || res.status >= 500;
      retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
      last = { target, ok: false, attempts: attempt, status: res.status, error: `HTTP ${res.status}` };
    } catch (err) {
      retryable = true;
      const why = controller.signal.aborted
        ? `no answer within ${config.timeoutMs} ms`
        : `${(err as Error)?.message ?? String(err)}${causeOf(err)}`;
      // fetch's messages can quote the URL; keep only the origin.
      last = { target, ok: false, attempts: attempt, error: redactText(why, [config.url, ...secrets]) };
    } finally {
      clearTimeout(timer);
    }
    if (!retryable || attempt === config.maxAttempts) break;
    const backoff = backoffDelay(attempt, config, deps.random);
    await sleep(Math.min(config.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0)));
  }
  return last;
}

/** Send a notice to every webhook subscribed to its event, in parallel. Never throws. */
export async function notifyAll(
  configs: readonly WebhookConfig[],
  notice: RotationNotice,
  deps: NotifyDeps = {},
): Promise<WebhookResult[]> {
  return Promise.all(
    configs.filter((c) => c.events.includes(notice.event)).map((c) => sendWebhook(c, notice, deps)),
  );
}

/** Retry-After: seconds or an HTTP date → ms (undefined when absent or unreadable). */
export function parseRetryAfter(value: string | null, now: () => number = Date.now): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause ? ` (${cause.code ?? cause.message ?? "unknown cause"})` : "";
}

function slackEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
