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
  line(ctx.stdout, "Look around (the sandbox is gone, the vault stays):");
  line(ctx.stdout, `  export REKEY_HOME=${result.home} REKEY_KEY_FILE=${result.keyFile}`);
  line(ctx.stdout, `  rekey record show ${result.recordUid}`);
  line(ctx.stdout, `  rekey record history ${result.recordUid}`);
  line(ctx.stdout, "  rekey audit list");
};
