import { RekeyError, usageError } from "../../errors.js";
import { type GatewayConfig, type GatewayFlags, loadGatewayConfig, ms } from "../../gateway/config.js";
import {
  createGateway,
  type Gateway,
  type GatewayObserver,
  type GatewayStats,
} from "../../gateway/gateway.js";
import type { RotationAttempt } from "../../gateway/history-model.js";
import type { GatewayMetrics as GatewayMetricsType } from "../../http/index.js";
import { createLogger } from "../../log.js";
import type { Logger } from "../../logger.js";
import type { AsyncVaultStore } from "../../vault/async-store.js";
import { findRecord } from "../../vault/find-record.js";
import { printJson } from "../context.js";
import { renderHistory } from "../gateway-view.js";
import { cliListing } from "../listing.js";
import { commandProgress, type ProgressState } from "../progress.js";
import type { CommandRun } from "../registry.js";

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

export const run: CommandRun = async (ctx, _args, opts) => {
  const flags: GatewayFlags = {
    config: str(opts.config),
    tick: str(opts.tick),
    maxConcurrent: str(opts.maxConcurrent),
    maxPerAccount: str(opts.maxPerAccount),
    jitter: str(opts.jitter),
    scriptTimeout: str(opts.scriptTimeout),
    shutdownTimeout: str(opts.shutdownTimeout),
    endpointUrl: str(opts.endpointUrl),
    region: str(opts.region),
    verify: typeof opts.verify === "boolean" ? opts.verify : undefined,
    verifyTimeout: str(opts.verifyTimeout),
  };
  // Parsed once, before the vault opens: a bad setting fails fast.
  const { config, file, warnings } = loadGatewayConfig(flags, ctx.env);
  const level = opts.verbose ? "debug" : (ctx.env.REKEY_LOG_LEVEL ?? config.logLevel);
  // `--once` over many users: a progress line on a terminal's stderr, the log lines written around it.
  const progress = opts.once ? commandProgress(ctx) : undefined;
  const baseLogger = createLogger({ level, name: "rekey-gateway" });
  const logger = progress ? progress.around(baseLogger) : baseLogger;
  for (const w of warnings) logger.warn({}, w);

  // The local vault or a Keeper vault (REKEY_VAULT=keeper:...): the gateway needs only the async port.
  const store = await ctx.asyncVault();
  const manual: string[] = [];
  for (const r of (opts.rotate as string[] | undefined) ?? []) manual.push((await findRecord(store, r)).uid);
  // With --listen, the metrics are made before the gateway so that it reports to them from its first tick.
  const listen = str(opts.listen) ?? config.listen;
  const metrics = listen ? new (await import("../../http/index.js")).GatewayMetrics() : undefined;
  let gateway: Gateway | undefined;
  const showProgress = () => {
    if (gateway && progress) progress.update(onceProgress(gateway.stats()));
  };
  const observer = progress?.enabled ? progressObserver(metrics, showProgress) : metrics;
  gateway = createGateway({ store, config, logger, env: ctx.env, actor: ctx.actor, observer });

  if (opts.once) {
    // Redrawn on every AWS call (the observer) and, between them, ten times a second (the elapsed time).
    const timer = progress?.enabled ? setInterval(showProgress, 100) : undefined;
    try {
      await gateway.rotateNow(manual);
      await gateway.start({ loop: false });
      await gateway.idle();
      await gateway.stop(0);
    } finally {
      clearInterval(timer);
      progress?.end();
    }
    report(ctx, gateway.attempts, opts.json === true);
    const failed = gateway.attempts.filter((a) => a.outcome === "failed").length;
    const undelivered = gateway.attempts.filter((a) => a.outcome === "script-failed").length;
    exitSoon();
    if (failed > 0) {
      throw new RekeyError(
        "aws",
        `${failed} of ${gateway.attempts.length} rotation attempt(s) failed${undelivered ? ` and ${undelivered} rotated without delivering the key (a post-rotation script failed)` : ""} (see above)`,
        {
          hint: "fix the cause named for each record; failed attempts are retried by a running gateway",
        },
      );
    }
    if (undelivered > 0) {
      throw new RekeyError(
        "delivery",
        `${undelivered} of ${gateway.attempts.length} rotation(s) rotated the key, but a post-rotation script failed, so the new key may not have reached its applications (see above)`,
        {
          hint: "see the scripts' output (rekey history --scripts), fix the script, then deliver the key (rekey rotate RECORD, or run the script by hand)",
        },
      );
    }
    return;
  }

  // Daemon: run until SIGTERM/SIGINT, then take no new work and let running attempts finish.
  const http =
    listen && metrics
      ? await serveHttp(ctx.env, opts, config, listen, store, gateway, metrics, logger)
      : undefined;
  let signalled!: (signal: NodeJS.Signals) => void;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      // A second signal: the operator does not want to wait. The journal covers what is in flight.
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    signalled(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await gateway.rotateNow(manual);
    await gateway.start();
    logger.info(
      {
        pid: process.pid,
        vault: store.description,
        config: file,
        tickSeconds: config.tickSeconds,
        maxConcurrent: config.maxConcurrent,
        maxPerAccount: config.maxPerAccount,
        webhooks: config.webhooks.length,
      },
      "gateway started",
    );
    const signal = await stopSignal;
    logger.info({ signal, ...gateway.stats() }, "stopping: no new work; waiting for running rotations");
    await http?.close();
    const { drained } = await gateway.stop(ms(config.shutdownTimeoutSeconds));
    if (!drained) {
      // Still running after the bounded wait: exit anyway. The engine's journal and the next start's
      // repair finish or undo what was cut short, as after a crash.
      logger.warn({ ...gateway.stats() }, "shutdown timeout: exiting with rotations still running");
      process.exit(0);
    }
    logger.info({ ...gateway.stats() }, "gateway stopped");
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
  exitSoon();
};

/**
 * `--listen`: the HTTP API, dashboard and metrics (src/http, loaded only here: the CLI's cold start does not
 * pay for it). Bound before the gateway starts, so a bad address or token fails the start.
 */
async function serveHttp(
  env: NodeJS.ProcessEnv,
  opts: Record<string, unknown>,
  config: GatewayConfig,
  listen: string,
  store: AsyncVaultStore,
  gateway: Gateway,
  metrics: GatewayMetricsType,
  logger: Logger,
) {
  const { startHttpServer, gatewayHandle } = await import("../../http/index.js");
  const cert = str(opts.tlsCert) ?? config.http.tls?.cert;
  const key = str(opts.tlsKey) ?? config.http.tls?.key;
  if (!!cert !== !!key)
    throw usageError("--tls-cert and --tls-key go together", "give both PEM files, or neither");
  const http = await startHttpServer({
    store,
    gateway: gatewayHandle(gateway, { metrics }),
    listen,
    token: env.REKEY_API_TOKEN || undefined,
    tokenFile: str(opts.apiTokenFile) ?? config.http.tokenFile,
    tls: cert && key ? { cert, key } : undefined,
    publicMetrics: opts.publicMetrics === true || config.http.publicMetrics === true,
    allowInsecure: config.http.allowInsecure === true,
    logger,
    // Status views through the listing cache, as `rekey status`: a scrape of /metrics over 100,000
    // records reads the cache and the few records changed since, not every record.
    listing: () => cliListing({ env }, store),
  });
  logger.info({ url: http.url }, "HTTP API listening");
  return http;
}

/** Idle keep-alive sockets (webhooks, AWS) must not hold the process once the work is done. */
function exitSoon(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}

function report(ctx: Parameters<CommandRun>[0], attempts: readonly RotationAttempt[], json: boolean): void {
  if (json) printJson(ctx.stdout, attempts);
  else ctx.stdout.write(attempts.length ? renderHistory(attempts, false) : "nothing was due\n");
}

/** The metrics' observer (if any), also redrawing the progress line on each AWS call or retry. */
function progressObserver(metrics: GatewayObserver | undefined, redraw: () => void): GatewayObserver {
  return {
    awsCall(account) {
      metrics?.awsCall?.(account);
      redraw();
    },
    awsRetry(account, throttled) {
      metrics?.awsRetry?.(account, throttled);
      redraw();
    },
    webhook: (ok) => metrics?.webhook?.(ok),
    tick: (at) => metrics?.tick?.(at),
  };
}

/** What `gateway --once`'s progress line says: attempts finished of those started or queued. */
export function onceProgress(s: GatewayStats): ProgressState {
  const done = s.succeeded + s["script-failed"] + s.held + s.failed + s.skipped + s.busy;
  const detail = [`${s.active} running`];
  if (s.failed > 0) detail.push(`${s.failed} failed`);
  if (s.throttles > 0) detail.push(`${s.throttles} throttled`);
  return {
    label: "gateway --once",
    done,
    total: done + s.active + s.queued,
    unit: "records",
    detail: detail.join(", "),
  };
}
