import { readFile } from "node:fs/promises";
import { parseCommanderCsv } from "../../csv/commander-csv.js";
import { importCsvRecords } from "../../csv/import-records.js";
import { notFound, usageError } from "../../errors.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [file], opts) => {
  let text: string;
  try {
    text = file === "-" ? await ctx.readStdin() : await readFile(file!, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw notFound(`CSV file ${file} does not exist`, "check the path");
    throw usageError(
      `cannot read CSV file ${file}: ${(err as Error).message}`,
      "check the path and its permissions",
    );
  }
  const rows = parseCommanderCsv(text);
  if (rows.length === 0)
    throw usageError(
      `${file} holds no records`,
      "give a Keeper Commander CSV: folder,title,login,password,url,notes,shared folder,...",
    );
  const store = await ctx.vault();
  const saved = importCsvRecords(store, rows, ctx.actor);
  if (opts.json)
    return printJson(
      ctx.stdout,
      saved.map((s) => ({ uid: s.uid, type: s.record.type, title: s.record.title })),
    );
  for (const s of saved) line(ctx.stdout, `imported ${s.record.type} record "${s.record.title}" ${s.uid}`);
  line(ctx.stdout, `${saved.length} record(s) imported`);
};
