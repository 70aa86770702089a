import { RekeyError, usageError } from "../../errors.js";
import { renderKeeperScript, runKeeperScript, STDIN_TIMEOUT_MS } from "../../keeper-script/script.js";
import { createLogger } from "../../log.js";
import { readFirstLine } from "../../pam-protocol/gateway-params.js";
import { printJson } from "../context.js";
import { printable } from "../printable.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const ksmConfig = typeof opts.ksmConfig === "string" ? opts.ksmConfig : undefined;
  const record = typeof opts.record === "string" ? opts.record : undefined;
  if (record && !opts.check)
    throw usageError("--record goes with --check", "rekey keeper-script --check --record UID");
  if (opts.check) {
    // --check: proves what a rotation needs and changes nothing (script-check.ts). Exit 1 when a check failed.
    const line = record ? undefined : await readFirstLine(process.stdin, { timeoutMs: STDIN_TIMEOUT_MS });
    const { checkKeeperScript, renderChecks, checkExitCode } = await import(
      "../../keeper-script/script-check.js"
    );
    const lines = await checkKeeperScript(line !== undefined ? { line } : { recordUid: record! }, {
      ksmConfig,
      env: ctx.env,
    });
    if (opts.json) printJson(ctx.stdout, lines);
    else ctx.stdout.write(printable(renderChecks(lines), { multiline: true }));
    if (checkExitCode(lines) !== 0) {
      const failed = lines.filter((l) => l.status === "FAIL").length;
      // exit 1 (kind internal), as the bundle's --check
      throw new RekeyError("internal", `${failed} check(s) failed (see above)`, {
        hint: "apply each FAIL line's fix, then run --check again",
      });
    }
    return;
  }
  // The Gateway's line is the first line of stdin: read only that (the pipe may stay open).
  const line = await readFirstLine(process.stdin, { timeoutMs: STDIN_TIMEOUT_MS });
  const level = opts.verbose ? "debug" : ctx.env.REKEY_LOG_LEVEL;
  try {
    const { rotation } = await runKeeperScript(line, {
      ksmConfig,
      transactionalSave: opts.transactionalSave === true,
      env: ctx.env,
      ...(level && level !== "silent" ? { logger: createLogger({ level }) } : {}),
    });
    if (opts.json) printJson(ctx.stdout, rotation);
    else ctx.stdout.write(printable(renderKeeperScript(rotation), { multiline: true }));
  } catch (err) {
    // One line for bad input, as the bundle prints it (the CLI would add a "fix:" line).
    if (err instanceof RekeyError && err.kind === "usage" && err.hint && !err.message.includes("\n")) {
      throw new RekeyError("usage", `${err.message}; fix: ${err.hint}`, { cause: err });
    }
    throw err;
  }
};
