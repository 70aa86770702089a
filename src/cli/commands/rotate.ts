import { parseStrategy, rotateRecord } from "../../rotation/index.js";
import { printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { sharedRotateOptions } from "../rotate-options.js";
import { renderRotation } from "../rotation-view.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const shared = sharedRotateOptions(ctx, opts);
  const store = await ctx.asyncVault();
  const result = await rotateRecord(store, ref!, {
    ...shared,
    strategy: typeof opts.strategy === "string" ? parseStrategy(opts.strategy, "--strategy") : undefined,
    verify: typeof opts.verify === "boolean" ? opts.verify : undefined,
    dryRun: opts.dryRun === true,
  });
  if (opts.json) printJson(ctx.stdout, result);
  else ctx.stdout.write(renderRotation(result));
};
