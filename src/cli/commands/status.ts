import { computeStatus } from "../../gateway/status.js";
import { printJson } from "../context.js";
import { renderStatus } from "../gateway-view.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  const now = new Date();
  const rows = await computeStatus(store, now);
  if (opts.json) return printJson(ctx.stdout, rows);
  ctx.stdout.write(renderStatus(rows, now));
};
