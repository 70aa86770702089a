/**
 * rekey's CLI entry: builds the command tree from the registry and runs one command.
 * Errors are printed once, as "rekey: <message>" + "fix: <hint>", with the exit code of their kind.
 */
import { Command, CommanderError, Option } from "commander";
import { readEnv } from "../env.js";
import { formatError, RekeyError } from "../errors.js";
import { createContext } from "./create-context.js";
import { printable } from "./printable.js";
import { COMMANDS, type CommandSpec } from "./registry.js";
import { VERSION } from "./version.js";

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function buildProgram(
  onRun: (spec: CommandSpec, args: string[], opts: Record<string, unknown>) => Promise<void>,
) {
  const program = new Command("rekey")
    .description("Rotate AWS IAM user access keys and keep the current key in an encrypted vault.")
    .version(VERSION)
    .option(
      "--vault <vault>",
      "the vault for this command (as REKEY_VAULT: a SQLite path, keeper:CONFIG, postgres://...); before the command",
    )
    .enablePositionalOptions()
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const groups = new Map<string, Command>();
  for (const spec of COMMANDS) {
    let parent = program;
    for (const word of spec.path.slice(0, -1)) {
      const key = `${parent.name()} ${word}`;
      let group = groups.get(key);
      if (!group) {
        group = parent.command(word).description(`${word} commands`).exitOverride();
        groups.set(key, group);
      }
      parent = group;
    }
    const cmd = parent.command(spec.path.at(-1)!).description(spec.summary).exitOverride();
    for (const a of spec.args ?? []) cmd.argument(a);
    for (const o of spec.options ?? []) {
      const opt = new Option(o.flags, o.description);
      if (o.repeatable) opt.argParser(collect);
      if (o.default !== undefined) opt.default(o.default);
      cmd.addOption(opt);
    }
    cmd.action(async (...all: unknown[]) => {
      // Commander passes positional args, then the options object, then the Command.
      const args = all.slice(0, (spec.args ?? []).length) as string[];
      const opts = all[(spec.args ?? []).length] as Record<string, unknown>;
      await onRun(spec, args, opts);
    });
  }
  return program;
}

/**
 * The environment the commands read: the process's own as it started, except that REKEY_PASSPHRASE is
 * taken out of `process.env` itself. Every child process inherits `process.env` (the AWS SDK runs a
 * profile's `credential_process` helper with it, and any library may spawn something): none of them
 * may see the vault passphrase. The commands still find it in the copy they are given.
 */
export function takeCommandEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete env.REKEY_PASSPHRASE;
  return copy;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = takeCommandEnv()): Promise<number> {
  let code = 0;
  const program = buildProgram(async (spec, args, opts) => {
    // `rekey --vault V COMMAND` is REKEY_VAULT=V for this command (a PostgreSQL URL's password then sits
    // in argv: prefer REKEY_VAULT, or a URL without it and PGPASSWORD / ~/.pgpass).
    const vault = program.opts<{ vault?: string }>().vault;
    const commandEnv = vault ? { ...env, REKEY_VAULT: vault } : env;
    readEnv(commandEnv); // every rekey variable checked once, before the command does anything (env.ts)
    const ctx = createContext(`rekey ${spec.path.join(" ")}`, commandEnv);
    try {
      const mod = await spec.load();
      await mod.run(ctx, args, opts);
      code = ctx.exitCode;
    } finally {
      await ctx.close();
    }
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help/version or the usage problem.
      code = err.exitCode === 0 ? 0 : 2;
    } else {
      // The message may quote a record title or a file name: no control character reaches the terminal.
      process.stderr.write(`${printable(formatError(err), { multiline: true })}\n`);
      if (!(err instanceof RekeyError) && process.env.REKEY_DEBUG && err instanceof Error) {
        process.stderr.write(`${err.stack}\n`);
      }
      code = err instanceof RekeyError ? err.exitCode : 1;
    }
  }
  return code;
}

// rekey bundles its AWS SDK and supports Node >= 20.19 itself: the SDK's own Node 20 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// No top-level await: the CLI is a CommonJS bundle, compiled through the code cache (code-cache/run.ts).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
