import { printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const folders = await (await ctx.asyncVault()).listFolders();
  if (opts.json) return printJson(ctx.stdout, folders);
  ctx.stdout.write(
    renderTable(
      ["UID", "NAME", "KIND", "PARENT"],
      folders.map((f) => [f.uid, f.name, f.shared ? "shared" : "folder", f.parentUid ?? ""]),
    ),
  );
};
