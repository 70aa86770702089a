import { open } from "node:fs/promises";
import { recordToCells, toCommanderCsv } from "../../csv/commander-csv.js";
import { neutralizeRows } from "../../csv/formula-cells.js";
import { folderPlace } from "../../csv/import-records.js";
import { conflict } from "../../errors.js";
import { line } from "../context.js";
import type { CommandRun } from "../registry.js";

/** The CSV holds secrets: to a file it is written mode 0600 and never over an existing file. */
export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  const folders = await store.listFolders();
  const type = typeof opts.type === "string" ? opts.type : undefined;
  const records = await store.listRecords(type ? { type } : undefined);
  const rows = records.map((r) => recordToCells(r.record, folderPlace(folders, r.folderUid), r.uid));
  // A cell a spreadsheet would run as a formula is quoted, unless --raw (formula-cells.ts).
  const safe = opts.raw === true ? { rows, count: 0 } : neutralizeRows(rows);
  if (safe.count > 0) {
    line(
      ctx.stderr,
      `rekey: ${safe.count} cell(s) starting with =, +, -, @, tab or CR were prefixed with ' so a spreadsheet does not run them as formulas (rekey import csv removes the quote; --raw exports them as they are)`,
    );
  }
  const csv = toCommanderCsv(safe.rows);
  await store.appendAudit({
    action: "vault.export",
    actor: ctx.actor,
    details: { records: records.length, format: "csv" },
  });
  if (typeof opts.out !== "string") return ctx.stdout.write(csv);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(opts.out, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw conflict(
        `${opts.out} already exists; not overwriting it`,
        "choose another --out file or remove it first",
      );
    }
    throw err;
  }
  try {
    await fh.writeFile(csv);
    await fh.sync();
  } finally {
    await fh.close();
  }
  line(ctx.stdout, `exported ${records.length} record(s) to ${opts.out} (mode 0600; it holds secrets)`);
};
