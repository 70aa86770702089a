import { JsonArrayWriter } from "../json-stream.js";
import { cliListing } from "../listing.js";
import type { CommandRun } from "../registry.js";
import { TableWriter } from "../table-writer.js";

// Streamed: a page of summaries (from the listing cache, or decrypted) is shown and dropped before the next is
// read (100,000 records stay out of memory). The table keeps only its cells, to size its columns.
export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  const type = typeof opts.type === "string" ? opts.type : undefined;
  const folders = new Map((await store.listFolders()).map((f) => [f.uid, f.name]));
  const json = opts.json ? new JsonArrayWriter(ctx.stdout) : undefined;
  const table = json ? undefined : new TableWriter(["UID", "TYPE", "TITLE", "FOLDER", "REV"]);
  for await (const page of cliListing(ctx, store, type)) {
    const rows = page.map((r) => ({
      uid: r.uid,
      type: r.record.type,
      title: r.record.title,
      folder: r.folderUid ? (folders.get(r.folderUid) ?? r.folderUid) : null,
      revision: r.revision,
      updatedAt: r.updatedAt,
    }));
    if (json) await json.pushAll(rows);
    else
      for (const row of rows)
        table?.add([row.uid, row.type, row.title, row.folder ?? "", String(row.revision)]);
  }
  if (json) await json.end();
  else await table?.write(ctx.stdout);
};
