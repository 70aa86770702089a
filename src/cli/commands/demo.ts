import { parseStrategy } from "../../rotation/index.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const { runDemo } = await import("../../demo/run-demo.js");
  const result = await runDemo({
    home: typeof opts.home === "string" ? opts.home : undefined,
    strategy: parseStrategy(String(opts.strategy), "--strategy"),
    say: (text) => {
      if (!opts.json) line(ctx.stdout, text);
    },
  });
  if (opts.json) return printJson(ctx.stdout, result);
  line(ctx.stdout);
  // Commands a reader can paste as they are: `npx rekey` finds this checkout's bin from anywhere inside
  // it (the README's set-up is only `npm ci`); a plain `rekey` needs `npm link` first.
  line(ctx.stdout, "Look around (the sandbox is gone, the vault stays), from this checkout:");
  line(
    ctx.stdout,
    `  export REKEY_HOME=${shellWord(result.home)} REKEY_KEY_FILE=${shellWord(result.keyFile)}`,
  );
  line(ctx.stdout, "  npx rekey status");
  line(ctx.stdout, `  npx rekey record show ${result.recordUid}`);
  line(ctx.stdout, `  npx rekey record history ${result.recordUid}`);
  line(ctx.stdout, "  npx rekey audit list");
  line(ctx.stdout, "(after `npm link`, plain `rekey` works from any directory)");
};

/** A path as one shell word: bare when safe, else single-quoted. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
