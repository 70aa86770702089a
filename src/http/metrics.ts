/**
 * Prometheus metrics (prom-client) on a registry of their own (several gateways in one test process never
 * share counters). The gateway pushes events through the hook methods; the record gauges are computed at
 * scrape time from the store (`observeRecords`), so they are right even after a restart and never hold a
 * secret: labels are record UIDs, IAM user names, outcomes and account keys.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RotationAttempt } from "../gateway/history-model.js";
import { dueNow, type UserStatus } from "../gateway/status.js";

export type ScriptOutcome = "success" | "failure" | "timeout";

/** The events a gateway reports. */
export interface GatewayMetricsHooks {
  /** One recorded attempt (any outcome): counts it and observes its duration. */
  attempt(entry: RotationAttempt): void;
  /** The engine retried an AWS call made for `account` (IAM throttled it, or not). */
  awsCall(account: string): void;
  awsRetry(account: string, throttled: boolean): void;
  /** AWS throttled `service` (iam, sts) for `account`: its requests are now paced at this rate. */
  awsPace(account: string, service: string, requestsPerSecond: number): void;
  /** One post-rotation script finished. */
  script(outcome: ScriptOutcome): void;
  /** One webhook delivery finished (after its own retries). */
  webhook(ok: boolean): void;
  /** A listing of the vault succeeded (the last successful tick). */
  tick(at: Date): void;
}

/**
 * @example
 * const metrics = new GatewayMetrics();
 * metrics.attempt(entry); // from the gateway
 * res.end(await metrics.registry.metrics());
 */
export class GatewayMetrics implements GatewayMetricsHooks {
  readonly registry = new Registry();
  #lastTick: Date | null = null;
  readonly #rotations = new Counter({
    name: "rekey_rotations_total",
    help: "Rotation attempts recorded by this gateway, by outcome and trigger.",
    labelNames: ["outcome", "trigger"] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: "rekey_rotation_duration_seconds",
    help: "Time from an attempt's start to its end, by outcome.",
    labelNames: ["outcome"] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly #awsRetries = new Counter({
    name: "rekey_aws_retries_total",
    help: "AWS calls the engine retried, by account and whether IAM throttled them.",
    labelNames: ["account", "throttled"] as const,
    registers: [this.registry],
  });
  readonly #awsCalls = new Counter({
    name: "rekey_aws_calls_total",
    help: "AWS calls rotations made (IAM and STS), by account.",
    labelNames: ["account"] as const,
    registers: [this.registry],
  });
  readonly #throttles = new Counter({
    name: "rekey_aws_throttles_total",
    help: "Throttling answers IAM gave, by account.",
    labelNames: ["account"] as const,
    registers: [this.registry],
  });
  readonly #scripts = new Counter({
    name: "rekey_scripts_total",
    help: "Post-rotation scripts run, by outcome.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly #webhooks = new Counter({
    name: "rekey_webhook_deliveries_total",
    help: "Webhook deliveries, by result (delivered or failed after retries).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly #keyAge = new Gauge({
    name: "rekey_access_key_age_seconds",
    help: "Age of each managed record's current access key (from its CreateDate), at scrape time.",
    labelNames: ["record_uid", "user"] as const,
    registers: [this.registry],
  });
  readonly #records = new Gauge({
    name: "rekey_records",
    help: "Managed records (pamUser), due now (next rotation passed), overdue (key older than the age limit).",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly #tick = new Gauge({
    name: "rekey_last_successful_tick_timestamp_seconds",
    help: "When the gateway last listed the vault successfully (Unix time).",
    registers: [this.registry],
  });
  readonly #pace = new Gauge({
    name: "rekey_aws_pace_requests_per_second",
    help: "The pace learned from AWS's throttling (set at each throttle; absent until the first), by account and service.",
    labelNames: ["account", "service"] as const,
    registers: [this.registry],
  });
  readonly #running = new Gauge({
    name: "rekey_gateway_rotations",
    help: "Rotations running and queued in this gateway.",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly #reachable = new Gauge({
    name: "rekey_vault_reachable",
    help: "1 when the last store check answered, else 0.",
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "rekey_" });
  }

  attempt(entry: RotationAttempt): void {
    this.#rotations.inc({ outcome: entry.outcome, trigger: entry.trigger });
    if (entry.endedAt) {
      const seconds = (Date.parse(entry.endedAt) - Date.parse(entry.startedAt)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0)
        this.#duration.observe({ outcome: entry.outcome }, seconds);
    }
  }

  awsCall(account: string): void {
    this.#awsCalls.inc({ account });
  }

  awsRetry(account: string, throttled: boolean): void {
    this.#awsRetries.inc({ account, throttled: String(throttled) });
    if (throttled) this.#throttles.inc({ account });
  }

  awsPace(account: string, service: string, requestsPerSecond: number): void {
    this.#pace.set({ account, service }, requestsPerSecond);
  }

  script(outcome: ScriptOutcome): void {
    this.#scripts.inc({ outcome });
  }

  webhook(ok: boolean): void {
    this.#webhooks.inc({ result: ok ? "delivered" : "failed" });
  }

  tick(at: Date): void {
    this.#lastTick = at;
    this.#tick.set(at.getTime() / 1000);
  }

  /** The last tick reported through `tick`, or null. */
  get lastTickAt(): Date | null {
    return this.#lastTick;
  }

  /** Scrape time: the record gauges from the store's records (rekey status's rows), replacing the last ones. */
  observeRecords(rows: readonly UserStatus[], now: Date, keyAgeLimitDays: number): void {
    this.#keyAge.reset();
    let due = 0;
    let overdue = 0;
    for (const r of rows) {
      if (r.keyCreatedAt) {
        this.#keyAge.set(
          { record_uid: r.uid, user: r.user },
          Math.max(0, (now.getTime() - Date.parse(r.keyCreatedAt)) / 1000),
        );
      }
      if (dueNow(r, now)) due++;
      if (r.keyAgeDays !== null && r.keyAgeDays >= keyAgeLimitDays) overdue++;
    }
    this.#records.set({ state: "managed" }, rows.length);
    this.#records.set({ state: "due" }, due);
    this.#records.set({ state: "overdue" }, overdue);
  }

  /** Scrape time: the gateway's own state. */
  observeGateway(s: { running: number; queued: number; vaultReachable: boolean }): void {
    this.#running.set({ state: "running" }, s.running);
    this.#running.set({ state: "queued" }, s.queued);
    this.#reachable.set(s.vaultReachable ? 1 : 0);
  }

  /** The text exposition format. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
