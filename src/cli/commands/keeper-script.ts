import { RekeyError } from "../../errors.js";
import { readFirstLine } from "../../keeper/gateway-params.js";
import { renderKeeperScript, runKeeperScript, STDIN_TIMEOUT_MS } from "../../keeper/script.js";
import { createLogger } from "../../log.js";
import { printJson } from "../context.js";
import { printable } from "../printable.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  // The Gateway's line is the first line of stdin: read only that (the pipe may stay open).
  const line = await readFirstLine(process.stdin, { timeoutMs: STDIN_TIMEOUT_MS });
  const level = opts.verbose ? "debug" : ctx.env.REKEY_LOG_LEVEL;
  try {
    const { rotation } = await runKeeperScript(line, {
      ksmConfig: typeof opts.ksmConfig === "string" ? opts.ksmConfig : undefined,
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
