/**
 * What the HTTP API needs from a running gateway, and the adapter from today's gateway object
 * (src/gateway/gateway.ts createGateway) to it. The API reads records, history and audit from the store
 * itself; from the gateway it needs only its live state, "rotate this record now", and the metrics hooks.
 */
import type { Gateway } from "../gateway/gateway.js";
import type { RotationAttempt } from "../gateway/history-model.js";
import type { GatewayMetrics } from "./metrics.js";

export interface GatewayState {
  /** ISO 8601. */
  startedAt: string;
  /** The last successful listing of the vault (ISO 8601), or null when none yet or unknown. */
  lastTickAt: string | null;
  /** The gateway's own view (its last listing); null when it does not say. /healthz also asks the store. */
  vaultReachable: boolean | null;
  /** Attempts running now, and waiting for a slot. */
  running: number;
  queued: number;
  /** UIDs of the records being worked on, when the gateway tells them (else null). */
  runningRecords: string[] | null;
}

/** What "rotate now" answered: queued (with the attempt's id when known), or refused and why. */
export type RotateRequest =
  | { queued: true; attemptId: string | null }
  | { queued: false; reason: "in-flight" | "stopping" | "vault-unreachable" | string };

export interface GatewayHandle {
  state(): GatewayState;
  /**
   * Queue an on-demand rotation (trigger "manual") of record `uid` for `actor` (the API token's name).
   * Absent: this gateway cannot rotate on demand (the API answers 503).
   */
  rotateNow?: ((uid: string, actor: string) => Promise<RotateRequest>) | undefined;
  /** The hooks the gateway reports to, and the registry /metrics serves. */
  readonly metrics: GatewayMetrics;
}

/**
 * The richer surface the gateway is meant to gain (see the HTTP module's notes). Each member is optional
 * here so that the adapter compiles against today's gateway and uses a member as soon as it exists.
 */
export interface GatewayLiveState {
  startedAt: Date;
  lastTickAt: Date | null;
  vaultReachable: boolean;
  running: string[];
}
export interface GatewayExtras {
  /** The gateway's live state. */
  state(): GatewayLiveState;
  /** Queue one manual rotation; the attempt id is allocated at queue time and used by the runner. */
  queueManual(uid: string, opts: { actor: string }): Promise<RotateRequest>;
}

export type AdaptableGateway = Pick<Gateway, "rotateNow" | "stats" | "attempts"> & Partial<GatewayExtras>;

export interface GatewayHandleOptions {
  metrics: GatewayMetrics;
  /**
   * Count the gateway's recorded attempts (`gateway.attempts`) into the metrics, at each state read and
   * scrape (default true). Turn off once the gateway calls `metrics.attempt()` / `metrics.script()` itself.
   */
  observeAttempts?: boolean;
  /** When the gateway started, when it cannot say (default: when this adapter was made). */
  startedAt?: Date;
}

/**
 * @example
 * const metrics = new GatewayMetrics();
 * const gateway = createGateway({ store, config, logger });
 * await startHttpServer({ store, gateway: gatewayHandle(gateway, { metrics }), listen: "127.0.0.1:8080", token });
 */
export function gatewayHandle(gateway: AdaptableGateway, opts: GatewayHandleOptions): GatewayHandle {
  const { metrics } = opts;
  const startedAt = opts.startedAt ?? new Date();
  let seen = 0;
  const observe = () => {
    if (opts.observeAttempts === false) return;
    const all: readonly RotationAttempt[] = gateway.attempts;
    for (; seen < all.length; seen++) {
      const e = all[seen]!;
      metrics.attempt(e);
      for (const s of e.scripts) metrics.script(s.timedOut ? "timeout" : s.success ? "success" : "failure");
    }
  };
  return {
    metrics,
    state() {
      observe();
      const { active, queued } = gateway.stats();
      const live = gateway.state?.();
      const lastTick = live?.lastTickAt ?? metrics.lastTickAt;
      return {
        startedAt: (live?.startedAt ?? startedAt).toISOString(),
        lastTickAt: lastTick ? lastTick.toISOString() : null,
        vaultReachable: live ? live.vaultReachable : null,
        running: active,
        queued,
        runningRecords: live ? [...live.running] : null,
      };
    },
    async rotateNow(uid, actor) {
      if (gateway.queueManual) return gateway.queueManual(uid, { actor });
      // Today's gateway queues by reference and says nothing back: no attempt id, and a record already
      // in flight is silently not queued again (its running attempt serves the request).
      await gateway.rotateNow([uid]);
      return { queued: true, attemptId: null };
    },
  };
}
