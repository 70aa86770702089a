import { line } from "../context.js";
import type { CommandRun } from "../registry.js";
import { resolveFolder } from "../resolve.js";

export const run: CommandRun = async (ctx, [name], opts) => {
  const store = await ctx.vault();
  const parentUid = typeof opts.parent === "string" ? resolveFolder(store, opts.parent).uid : null;
  const f = store.createFolder(name!, { parentUid, shared: parentUid === null, actor: ctx.actor });
  line(ctx.stdout, `created ${f.shared ? "shared folder" : "folder"} "${f.name}" ${f.uid}`);
};
