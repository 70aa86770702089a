import { RekeyError } from "../../errors.js";
import type { GatewayConfig } from "../../gateway/config.js";
import type { RotationAttempt } from "../../gateway/history-model.js";
import { parseStrategy, type RotateOptions } from "../../rotation/index.js";
import { type CommandContext, line, printJson } from "../context.js";
import { printable } from "../printable.js";
import { commandProgress } from "../progress.js";
import type { CommandRun } from "../registry.js";
import { sharedRotateOptions } from "../rotate-options.js";
import { describeSelectors, type FleetSelectors, parseConcurrency, parseTarget } from "../rotate-target.js";
import { renderRotation } from "../rotation-view.js";

export const run: CommandRun = async (ctx, args, opts) => {
  const target = parseTarget(args[0], opts);
  const concurrency = target.kind === "many" ? parseConcurrency(opts.concurrency) : 1;
  const shared = sharedRotateOptions(ctx, opts);
  const options: Partial<RotateOptions> = {
    ...shared,
    strategy: typeof opts.strategy === "string" ? parseStrategy(opts.strategy, "--strategy") : undefined,
    verify: typeof opts.verify === "boolean" ? opts.verify : undefined,
  };
  if (target.kind === "many") return rotateMany(ctx, opts, target.selectors, concurrency, options);
  const store = await ctx.asyncVault();
  const ref = target.ref;
  if (opts.dryRun === true) {
    const { rotateRecord } = await import("../../rotation/index.js");
    const result = await rotateRecord(store, ref, { ...options, dryRun: true });
    if (opts.json) printJson(ctx.stdout, result);
    else ctx.stdout.write(renderRotation(result));
    return;
  }

  // Webhooks, script timeout and engine defaults: the gateway's configuration (--config, REKEY_GATEWAY_CONFIG).
  const { loadGatewayConfigLazily } = await import("../../gateway/config-layers.js");
  const { config } = await loadGatewayConfigLazily(
    { config: typeof opts.config === "string" ? opts.config : undefined },
    ctx.env,
  );
  const { rotateManually } = await import("../../gateway/manual.js");
  const interrupt = onInterrupt(ctx);
  try {
    const out = await rotateManually({
      store,
      config,
      ref,
      rotate: { ...withoutUndefined(options), signal: interrupt.signal },
      scripts: opts.scripts !== false,
      actor: ctx.actor,
      logger: shared.logger!,
      env: ctx.env,
    });
    // A failed (or lost-race) attempt is recorded; the person who asked gets the error and its exit code.
    if (out.failure !== undefined) throw out.failure;
    if (opts.json) printJson(ctx.stdout, { ...out.result, attempt: attemptSummary(out.entry) });
    else if (out.result) ctx.stdout.write(renderRotation(out.result) + renderDelivery(out.entry));
    if (interrupt.signal.aborted) {
      throw new RekeyError(
        "interrupted",
        `interrupted: the new key ${out.result?.created?.accessKeyId ?? ""} had already been saved in the vault, so the rotation was finished (see above)` +
          (out.entry.outcome === "script-failed" ? "; its post-rotation scripts did not run" : ""),
      );
    }
    if (out.entry.outcome === "script-failed") {
      throw new RekeyError("delivery", out.entry.error?.message ?? "a post-rotation script failed", {
        hint: out.entry.error?.hint,
      });
    }
  } finally {
    interrupt.dispose();
  }
};

/**
 * Many records (--all, --folder, --older-than, --due): select them from one listing (fleet-select.ts),
 * rotate each through the single rotation's path, `concurrency` at once (fleet-rotate.ts), then print
 * one summary. The exit code is fleetVerdict's (fleet-rotate.ts).
 */
async function rotateMany(
  ctx: CommandContext,
  opts: Record<string, unknown>,
  selectors: FleetSelectors,
  concurrency: number,
  options: Partial<RotateOptions>,
): Promise<void> {
  const fleet = await import("../fleet-rotate.js");
  // Only a fleet selection needs the scheduler and the status model (fleet-select.ts).
  const { selectRecords } = await import("../fleet-select.js");
  const store = await ctx.asyncVault();
  const now = new Date();
  const [records, folders, status] = await Promise.all([
    store.listRecords(),
    selectors.folder === undefined ? [] : store.listFolders(),
    // --due: exactly what `rekey status` says (the gateway's scheduler, unjittered).
    selectors.due ? import("../../gateway/status.js").then((m) => m.computeStatus(store, now)) : undefined,
  ]);
  const selected = selectRecords({ records, folders, status }, selectors, now);
  if (selected.length === 0) {
    if (opts.json) printJson(ctx.stdout, []);
    else line(ctx.stdout, `no record matches: ${describeSelectors(selectors)}; nothing was rotated`);
    return;
  }
  const dryRun = opts.dryRun === true;
  let config: GatewayConfig | undefined;
  if (!dryRun) {
    const { loadGatewayConfig } = await import("../../gateway/config.js");
    config = loadGatewayConfig(
      { config: typeof opts.config === "string" ? opts.config : undefined },
      ctx.env,
    ).config;
  }
  // A status line only where a person watches it: a terminal, and no JSON or debug log sharing stderr.
  const progress = commandProgress(ctx, { off: opts.json === true || opts.verbose === true });
  // Log lines (warnings) are written around the progress line, not into it.
  const logger = progress.around(options.logger!);
  const interrupt = onInterrupt(
    ctx,
    "no new rotation starts; the running ones finish or undo their step in flight",
  );
  let results: Awaited<ReturnType<typeof fleet.rotateFleet>>;
  try {
    results = await fleet.rotateFleet({
      store,
      records: selected,
      concurrency,
      signal: interrupt.signal,
      rotate: { ...(dryRun ? options : withoutUndefined(options)), logger },
      dryRun,
      config,
      scripts: opts.scripts !== false,
      actor: ctx.actor,
      logger,
      env: ctx.env,
      onProgress: progress.enabled ? (p) => progress.update(fleet.fleetProgressState(p, dryRun)) : undefined,
    });
  } finally {
    progress.end();
    interrupt.dispose();
  }
  if (opts.json) printJson(ctx.stdout, results);
  else {
    if (dryRun) for (const r of results) if (r.plan) ctx.stdout.write(renderRotation(r.plan));
    ctx.stdout.write(fleet.renderFleetSummary(results));
  }
  const verdict = fleet.fleetVerdict(results, interrupt.signal.aborted);
  if (!verdict) return;
  const bad = results.filter((r) => r.exitCode !== 0);
  const notStarted = results.filter((r) => r.outcome === "not started").length;
  throw new RekeyError(
    verdict.kind,
    verdict.kind === "interrupted"
      ? `interrupted: ${notStarted} of ${results.length} record(s) not started; the others are in the summary above`
      : `${bad.length} of ${results.length} record(s) did not succeed; the exit code is that of "${verdict.record?.recordTitle}" (${verdict.record?.outcome}: ${verdict.record?.error?.message ?? ""})`,
    {
      hint:
        verdict.kind === "interrupted"
          ? "rotate the rest: run the same command again (with --due or --older-than, the records just rotated are not selected again)"
          : bad.length === 1 && verdict.record?.error?.hint
            ? verdict.record.error.hint
            : "see the summary above (--json for every error in full) and `rekey history RECORD`; fix the cause, then rotate those records again",
    },
  );
}

/** A flag left unset must not hide the gateway configuration's value. */
function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function attemptSummary(e: RotationAttempt) {
  return {
    id: e.id,
    outcome: e.outcome,
    scripts: e.scripts.map((s) => ({
      name: s.name,
      command: s.command,
      exitCode: s.exitCode,
      success: s.success,
      timedOut: s.timedOut,
    })),
    error: e.error,
  };
}

function renderDelivery(e: RotationAttempt): string {
  const lines: string[] = [];
  for (const s of e.scripts) {
    const how = s.timedOut ? "timed out" : s.exitCode === null ? "did not run" : `exit ${s.exitCode}`;
    lines.push(`  ${s.success ? "✓" : "✗"} script ${s.name} (${s.command}): ${how}`);
  }
  if (e.error) lines.push(`  error: ${e.error.message}`);
  lines.push(`  recorded as ${e.outcome} in the rotation history (rekey history)`);
  return `${lines.map((l) => printable(l)).join("\n")}\n`;
}

/**
 * Ctrl-C / SIGTERM: the first signal asks the rotation to finish or undo the step in flight and stop
 * (the engine says which, in the error it throws); a second one exits at once, leaving the journal for
 * `rekey repair`.
 */
function onInterrupt(
  ctx: CommandContext,
  stopping = "stopping after the step in flight (finishing or undoing it)",
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      ctx.stderr.write(`rekey: ${signal}: ${stopping}; press Ctrl-C again to exit at once\n`);
      controller.abort();
      return;
    }
    ctx.stderr.write(
      "rekey: interrupted again: exiting now. The rotation journal in the vault keeps what was in flight: run `rekey repair` to finish or undo it (`rekey status` shows the record as interrupted).\n",
    );
    process.exit(130);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
