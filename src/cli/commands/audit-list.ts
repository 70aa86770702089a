import { usageError } from "../../errors.js";
import { printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { resolveRecord } from "../resolve.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const store = await ctx.vault();
  const recordUid =
    typeof opts.record === "string"
      ? (store.getRecord(opts.record)?.uid ?? resolveRecord(store, opts.record).uid)
      : undefined;
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw usageError(`--limit ${opts.limit} is not a positive number`, "e.g. --limit 20");
  const entries = store.listAudit({ ...(recordUid ? { recordUid } : {}), ...(limit ? { limit } : {}) });
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
