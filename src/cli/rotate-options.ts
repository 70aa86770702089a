/** The options `rekey rotate` and `rekey repair` share, parsed once. */
import { usageError } from "../errors.js";
import { createLogger } from "../log.js";
import type { RepairOptions } from "../rotation/index.js";
import type { CommandContext } from "./context.js";
import type { OptionSpec } from "./registry.js";

export const ROTATE_SHARED_OPTIONS: OptionSpec[] = [
  {
    flags: "--credentials <record>",
    description: "admin credential record (UID or title); only it is tried",
  },
  {
    flags: "--region <region>",
    description: "AWS region (default: the record's aws_region, the configuration's, us-east-1)",
  },
  {
    flags: "--endpoint-url <url>",
    description: "IAM and STS endpoint (e.g. the sandbox); AWS_ENDPOINT_URL_IAM/_STS also work",
  },
  {
    flags: "--verify-timeout <seconds>",
    description: "give up verifying the new key after this long (default 60)",
  },
  {
    flags: "--deadline <seconds>",
    description: "give up a rotation after this long, finishing or undoing the step in flight (default 600)",
  },
  {
    flags: "--force",
    description: "rotate although the IAM UserId changed; let graceful delete keys rekey does not know",
  },
  { flags: "-v, --verbose", description: "log each step to stderr (never secrets)" },
];

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
