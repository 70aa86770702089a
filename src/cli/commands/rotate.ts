import { RekeyError } from "../../errors.js";
import type { RotationAttempt } from "../../gateway/history-model.js";
import { parseStrategy, type RotateOptions } from "../../rotation/index.js";
import { type CommandContext, printJson } from "../context.js";
import { printable } from "../printable.js";
import type { CommandRun } from "../registry.js";
import { sharedRotateOptions } from "../rotate-options.js";
import { renderRotation } from "../rotation-view.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const shared = sharedRotateOptions(ctx, opts);
  const options: Partial<RotateOptions> = {
    ...shared,
    strategy: typeof opts.strategy === "string" ? parseStrategy(opts.strategy, "--strategy") : undefined,
    verify: typeof opts.verify === "boolean" ? opts.verify : undefined,
  };
  const store = await ctx.asyncVault();
  if (opts.dryRun === true) {
    const { rotateRecord } = await import("../../rotation/index.js");
    const result = await rotateRecord(store, ref!, { ...options, dryRun: true });
    if (opts.json) printJson(ctx.stdout, result);
    else ctx.stdout.write(renderRotation(result));
    return;
  }

  // Webhooks, script timeout and engine defaults: the gateway's configuration (--config, REKEY_GATEWAY_CONFIG).
  const { loadGatewayConfig } = await import("../../gateway/config.js");
  const { config } = loadGatewayConfig(
    { config: typeof opts.config === "string" ? opts.config : undefined },
    ctx.env,
  );
  const { rotateManually } = await import("../../gateway/manual.js");
  const interrupt = onInterrupt(ctx);
  try {
    const out = await rotateManually({
      store,
      config,
      ref: ref!,
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
function onInterrupt(ctx: CommandContext): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      ctx.stderr.write(
        `rekey: ${signal}: stopping after the step in flight (finishing or undoing it); press Ctrl-C again to exit at once\n`,
      );
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
