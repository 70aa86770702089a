import { usageError } from "../../errors.js";
import { findRecord } from "../../vault/find-record.js";
import { printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.asyncVault();
  const recordUid =
    typeof opts.record === "string"
      ? ((await store.getRecord(opts.record))?.uid ?? (await findRecord(store, opts.record)).uid)
      : undefined;
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw usageError(`--limit ${opts.limit} is not a positive number`, "e.g. --limit 20");
  const entries = await store.listAudit({ ...(recordUid ? { recordUid } : {}), ...(limit ? { limit } : {}) });
  if (opts.json) return printJson(ctx.stdout, entries);
  ctx.stdout.write(
    renderTable(
      ["SEQ", "AT", "ACTION", "RECORD", "BY", "DETAILS"],
      entries.map((e) => [
        String(e.seq),
        e.at,
        e.action,
        e.recordUid ?? "",
        e.actor,
        Object.keys(e.details).length ? JSON.stringify(e.details) : "",
      ]),
    ),
  );
};
