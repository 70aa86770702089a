import { findFolder } from "../../vault/find-record.js";
import { requireCapability } from "../../vault/store-capabilities.js";
import { line } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [name], opts) => {
  const store = await ctx.asyncVault();
  const parentUid = typeof opts.parent === "string" ? (await findFolder(store, opts.parent)).uid : null;
  if (parentUid === null)
    requireCapability(store, "createSharedFolders", "rekey folder add without --parent");
  const f = await store.createFolder(name!, { parentUid, shared: parentUid === null, actor: ctx.actor });
  line(ctx.stdout, `created ${f.shared ? "shared folder" : "folder"} "${f.name}" ${f.uid}`);
};
