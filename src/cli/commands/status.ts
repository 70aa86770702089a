import { type StatusProgress, statusPages } from "../../gateway/status.js";
import { STATUS_HEADERS, statusCells } from "../gateway-view.js";
import { JsonArrayWriter } from "../json-stream.js";
import { cliListing } from "../listing.js";
import { commandProgress } from "../progress.js";
import type { CommandRun } from "../registry.js";
import { TableWriter } from "../table-writer.js";

// Streamed: the records are read a page at a time and each page of rows is written (JSON, one text a page) or
// reduced to its cells (table) as statusPages yields it; no text of the whole answer is ever built. Over a
// huge vault a progress line shows on stderr when it is a terminal.
export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  const now = new Date();
  // JSON rows written to the terminal the line is drawn on would be cut by it: none then.
  const progress = commandProgress(ctx, { off: opts.json === true && ctx.stdoutIsTerminal });
  const onProgress = (p: StatusProgress) =>
    progress.update(
      p.phase === "reading"
        ? { label: "status: reading the vault", done: p.read, unit: "records" }
        : { label: "status", done: p.done, total: p.total, unit: "users" },
    );
  const json = opts.json ? new JsonArrayWriter(ctx.stdout) : undefined;
  const table = json ? undefined : new TableWriter(STATUS_HEADERS);
  let rows = 0;
  try {
    for await (const page of statusPages(store, now, { onProgress, records: cliListing(ctx, store) })) {
      rows += page.length;
      if (json) await json.pushAll(page);
      else for (const row of page) table?.add(statusCells(row, now));
    }
  } finally {
    progress.end();
  }
  if (json) return json.end();
  if (rows === 0) ctx.stdout.write("no pamUser records\n");
  else await table?.write(ctx.stdout);
};
