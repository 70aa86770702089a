import { readFile } from "node:fs/promises";
import { type CsvRecord, parseCommanderCsv } from "../../csv/commander-csv.js";
import { type ImportProgress, importCsvRecords } from "../../csv/import-records.js";
import { notFound, usageError } from "../../errors.js";
import { checkSettingFields } from "../../rotation/field-checks.js";
import { type CommandContext, line, printJson } from "../context.js";
import { refreshListing } from "../listing.js";
import { commandProgress, type ProgressState } from "../progress.js";
import type { CommandRun } from "../registry.js";
import { unreadScheduleWarning } from "../schedule-warning.js";

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
  reviewRows(ctx, rows);
  const store = await ctx.asyncVault();
  const progress = commandProgress(ctx);
  let saved: Awaited<ReturnType<typeof importCsvRecords>>;
  try {
    saved = await importCsvRecords(store, rows, ctx.actor, {
      update: opts.update === true,
      onProgress: (p) => progress.update(importProgress(p), { force: p.phase === "writing" }),
    });
    // The listing cache, brought up to date now: the first `status` after a large import reads it.
    if (saved.length > 0) {
      await refreshListing(ctx, store, (read) =>
        progress.update({ label: "import csv: updating the listing cache", done: read, unit: "records" }),
      );
    }
  } finally {
    progress.end();
  }
  for (const s of saved)
    for (const n of s.notices) line(ctx.stderr, `rekey: notice: "${s.stored.record.title}": ${n}`);
  if (opts.json)
    return printJson(
      ctx.stdout,
      saved.map((s) => ({
        uid: s.stored.uid,
        type: s.stored.record.type,
        title: s.stored.record.title,
        action: s.action,
      })),
    );
  for (const s of saved) {
    const verb = s.action === "created" ? "imported" : "updated";
    line(ctx.stdout, `${verb} ${s.stored.record.type} record "${s.stored.record.title}" ${s.stored.uid}`);
  }
  const created = saved.filter((s) => s.action === "created").length;
  line(ctx.stdout, `${created} record(s) imported, ${saved.length - created} updated`);
};

/**
 * Before anything is written: notices for what was read differently from how it was written (a `$type`
 * in the wrong case), the refusal of setting values rotation would refuse or misread (every bad line at
 * once), and warnings for schedules the gateway will not read. Notices and warnings go to stderr.
 */
function reviewRows(ctx: CommandContext, rows: CsvRecord[]): void {
  for (const r of rows) for (const n of r.notices) line(ctx.stderr, `rekey: notice: line ${r.line}: ${n}`);
  const problems = rows.flatMap((r) => checkSettingFields(r.record).map((p) => `line ${r.line}: ${p}`));
  if (problems.length > 0)
    throw usageError(
      `${problems.join("; ")}; nothing was imported`,
      "fix the values in the CSV and import again",
    );
  for (const r of rows) {
    const warning = unreadScheduleWarning(r.record);
    if (warning) line(ctx.stderr, `rekey: warning: line ${r.line}: ${warning}`);
  }
}

/** What the progress line says while an import runs. */
function importProgress(p: ImportProgress): ProgressState {
  if (p.phase === "reading") return { label: "import csv: reading the vault" };
  if (p.phase === "checking")
    return { label: "import csv: checking", done: p.done, total: p.total, unit: "rows" };
  return { label: "import csv: writing in one transaction", done: p.total, unit: "changes" };
}
