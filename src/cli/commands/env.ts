/**
 * `rekey env RECORD`: `export AWS_ACCESS_KEY_ID=...` lines for `eval "$(rekey env RECORD)"`. The secret goes
 * to stdout because that is the command's job, so a terminal is refused unless --force: a key printed
 * there stays on the screen, in the scrollback and in screen recordings.
 */
import { usageError } from "../../errors.js";
import { CONFLICTING_AWS_VARIABLES, keyEnvironment, readCurrentKey, regionOption } from "../current-key.js";
import type { CommandRun } from "../registry.js";

/** A value quoted for a POSIX shell: inside single quotes nothing is special but the quote itself. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The lines to eval (pure): the key's variables, then unset the ones that would mix another identity in. */
export function exportLines(vars: Record<string, string>): string {
  const exports = Object.entries(vars).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`);
  return `${exports.join("")}unset ${CONFLICTING_AWS_VARIABLES.join(" ")}\n`;
}

/** Why `rekey env` must not print now (undefined: it may). */
export function terminalRefusal(stdoutIsTerminal: boolean, force: boolean, ref: string): Error | undefined {
  if (!stdoutIsTerminal || force) return undefined;
  const quoted = shellQuote(ref);
  return usageError(
    "rekey env prints the secret access key, and its output is a terminal: the key would stay on the screen and in the scrollback",
    `load it into your shell with: eval "$(rekey env ${quoted})", or run one command with it: rekey exec ${quoted} -- COMMAND (--force prints it here anyway)`,
  );
}

export const run: CommandRun = async (ctx, [ref], opts) => {
  const refusal = terminalRefusal(ctx.stdoutIsTerminal, opts.force === true, ref!);
  if (refusal) throw refusal;
  const region = regionOption(opts.region);
  const key = await readCurrentKey(ctx, ref!, "env");
  ctx.stdout.write(exportLines(keyEnvironment(key, region ?? key.region)));
};
