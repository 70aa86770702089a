import { printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  const type = typeof opts.type === "string" ? opts.type : undefined;
  const folders = new Map((await store.listFolders()).map((f) => [f.uid, f.name]));
  const rows = (await store.listRecords(type ? { type } : undefined)).map((r) => ({
    uid: r.uid,
    type: r.record.type,
    title: r.record.title,
    folder: r.folderUid ? (folders.get(r.folderUid) ?? r.folderUid) : null,
    revision: r.revision,
    updatedAt: r.updatedAt,
  }));
  if (opts.json) return printJson(ctx.stdout, rows);
  ctx.stdout.write(
    renderTable(
      ["UID", "TYPE", "TITLE", "FOLDER", "REV"],
      rows.map((r) => [r.uid, r.type, r.title, r.folder ?? "", String(r.revision)]),
    ),
  );
};
