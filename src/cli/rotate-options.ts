/** The options `rekey rotate` and `rekey repair` share (rotate-option-specs.ts), parsed once. */
import { usageError } from "../errors.js";
import { createLogger } from "../log.js";
import type { RepairOptions } from "../rotation/index.js";
import type { CommandContext } from "./context.js";

export function sharedRotateOptions(ctx: CommandContext, opts: Record<string, unknown>): RepairOptions {
  let verifyTimeoutMs: number | undefined;
  if (opts.verifyTimeout !== undefined) {
    const s = Number(opts.verifyTimeout);
    if (!Number.isFinite(s) || s <= 0) {
      throw usageError(
        `--verify-timeout ${String(opts.verifyTimeout)} is not a positive number of seconds`,
        "e.g. --verify-timeout 90",
      );
    }
    verifyTimeoutMs = s * 1000;
  }
  let deadlineMs: number | undefined;
  if (opts.deadline !== undefined) {
    const s = Number(opts.deadline);
    if (!Number.isFinite(s) || s <= 0) {
      throw usageError(
        `--deadline ${String(opts.deadline)} is not a positive number of seconds`,
        "e.g. --deadline 300",
      );
    }
    deadlineMs = s * 1000;
  }
  const level = opts.verbose ? "debug" : (ctx.env.REKEY_LOG_LEVEL ?? "warn");
  return {
    credentials: opts.credentials as string | undefined,
    region: opts.region as string | undefined,
    endpointUrl: opts.endpointUrl as string | undefined,
    verifyTimeoutMs,
    deadlineMs,
    force: opts.force === true,
    actor: ctx.actor,
    env: ctx.env,
    logger: createLogger({ level }),
  };
}
