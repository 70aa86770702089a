import { requireCapability } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

/**
 * Print the vault's signed head (one line, no secret). Kept elsewhere (a ticket, a commit, another host), it
 * lets `rekey audit verify --expect-head` detect a vault file replaced by an older copy of itself.
 */
export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  requireCapability(store, "integrityHead", "rekey audit head");
  const head = await store.head();
  if (opts.json) printJson(ctx.stdout, { head });
  else line(ctx.stdout, head);
};
