/**
 * `rekey exec RECORD -- COMMAND ARGS...`: run one command with the record's current key in its environment
 * only (never in rekey's own, never in argv). rekey waits for it, passes on Ctrl-C and SIGTERM, and exits
 * with its exit code (128 + the signal's number when a signal killed it), as a shell would.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { formatError, RekeyError, usageError } from "../../errors.js";
import { type CommandContext, line } from "../context.js";
import { CONFLICTING_AWS_VARIABLES, keyEnvironment, readCurrentKey, regionOption } from "../current-key.js";
import type { CommandRun } from "../registry.js";

/** Signals rekey passes on to the child instead of dying of them (which would orphan it). */
const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * The child's environment (pure): rekey's own, without the vault passphrase and the variables that would
 * mix another identity in (a session token, a profile), plus the key's variables.
 */
export function childEnvironment(
  parent: NodeJS.ProcessEnv,
  keyVars: Record<string, string>,
): NodeJS.ProcessEnv {
  const env = { ...parent };
  delete env.REKEY_PASSPHRASE;
  for (const name of CONFLICTING_AWS_VARIABLES) delete env[name];
  return { ...env, ...keyVars };
}

/** A shell's exit status for a finished child (pure). */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}

export const run: CommandRun = async (ctx, args, opts) => {
  // Commander hands the variadic <command...> over as one array after the record.
  const [ref, ...rest] = args as unknown as Array<string | string[]>;
  const command = rest.flat();
  if (command.length === 0 || !command[0]) {
    throw usageError("rekey exec needs a command to run", "rekey exec RECORD -- COMMAND ARGS...");
  }
  const region = regionOption(opts.region);
  const key = await readCurrentKey(ctx, String(ref), "exec");
  const env = childEnvironment(ctx.env, keyEnvironment(key, region ?? key.region));
  ctx.exitCode = await runChild(ctx, command[0], command.slice(1), env);
};

function runChild(
  ctx: CommandContext,
  file: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, argv, { env, stdio: "inherit" });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const done = (status: number) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(status);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      // Only a child that could not start: its exit is reported by "exit".
      const notFound = err.code === "ENOENT";
      const problem = notFound ? "command not found" : `cannot run the command (${err.code ?? err.message})`;
      line(
        ctx.stderr,
        formatError(
          new RekeyError(notFound ? "not-found" : "usage", `${problem}: ${file}`, {
            hint: notFound
              ? "check its name, or give its full path (it is looked for in the PATH rekey was given)"
              : "check that the file is an executable program and that you may run it",
          }),
        ),
      );
      done(notFound ? 127 : 126);
    });
    child.on("exit", (code, signal) => done(exitStatus(code, signal)));
  });
}
